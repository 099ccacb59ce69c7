"""One-time links never reach the console: redact_one_time_links."""

import pytest

from emailqueue.redaction import ONE_TIME_LINK_PREFIXES, REDACTED, redact_one_time_links


@pytest.mark.parametrize("prefix", ONE_TIME_LINK_PREFIXES)
@pytest.mark.parametrize(
    "template",
    [
        "Open https://idp.example.com{prefix}MQ/abc-123?x=1&y=2 to continue.",
        "Open http://127.0.0.1:8000{prefix}abc to continue.",
        'Open <a href="https://idp.example.com{prefix}abc">the link</a> to continue.',
        "Open <https://idp.example.com{prefix}abc> to continue.",
        "Open idp.example.com{prefix}abc to continue.",
        "Open //idp.example.com{prefix}abc to continue.",
        "Open {prefix}abc to continue.",
    ],
)
def test_one_time_links_are_redacted_in_every_spelling(prefix, template):
    text = template.format(prefix=prefix)
    redacted = redact_one_time_links(text)
    assert prefix not in redacted
    assert "abc" not in redacted
    assert REDACTED in redacted
    assert redacted.startswith("Open ")
    assert redacted.endswith(" to continue.")


@pytest.mark.parametrize(
    "link",
    [
        "https://idp.example.com/%69nvitation/abc",  # percent-encoded
        "https://idp.example.com//password/reset/abc",  # doubled slash
        "https://idp.example.com/Invitation/abc",  # case
        "https://idp.example.com/login?next=%2Fpassword%2Freset%2Fabc",  # in a query string
    ],
)
def test_disguised_one_time_links_are_redacted(link):
    assert redact_one_time_links(f"see {link} now") == f"see {REDACTED} now"


def test_other_links_and_text_are_kept():
    text = (
        "Sign in at https://idp.example.com/login or ask for a new link at "
        "https://idp.example.com/password/reset (no token). Apps: https://idp.example.com/account/apps/\n"
        "Paths a/b and 3/4 stay.\n"
    )
    assert redact_one_time_links(text) == text


def test_empty_text():
    assert redact_one_time_links("") == ""
