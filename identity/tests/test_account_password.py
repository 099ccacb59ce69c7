"""Changing your password from the account page: the current one is required, other sessions end."""

import pytest
from django.test import Client

from applications.tests.token_factories import issue_tokens, web_app
from audit.models import AuditEvent
from directory.models import User
from directory.tests.factories import DEFAULT_PASSWORD
from identity.models import OneTimeToken, UserSession
from identity.tests.link_support import outbox
from identity.views import account as account_views

pytestmark = pytest.mark.django_db

URL = "/account/password"
NEW_PASSWORD = "a-brand-new-passphrase"


def _change(client, current=DEFAULT_PASSWORD, first=NEW_PASSWORD, second=NEW_PASSWORD):
    return client.post(URL, {"current_password": current, "new_password1": first, "new_password2": second})


def test_it_needs_a_signed_in_user(client):
    assert client.get(URL)["Location"] == f"/login?next={URL}"
    assert client.post(URL)["Location"] == f"/login?next={URL}"


def test_the_account_page_links_to_it(client, sign_in, org_member):
    sign_in(org_member)

    html = client.get("/account/").content.decode()

    assert f'href="{URL}"' in html
    assert 'href="/account/email"' in html


def test_the_form_asks_for_the_current_password(client, sign_in, org_member):
    sign_in(org_member)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="current_password"' in html
    assert 'autocomplete="current-password"' in html
    assert 'autocomplete="new-password"' in html


def test_changing_keeps_this_browser_and_signs_out_the_others(client, sign_in, org_member, org):
    sign_in(org_member)
    this_session = UserSession.objects.get(user=org_member)
    other_browser = sign_in(org_member, Client())
    tokens = issue_tokens(application=web_app(org, "HR portal"), user=org_member)

    response = _change(client)

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get(pk=org_member.pk)
    assert user.check_password(NEW_PASSWORD)
    page = client.get("/account/")
    assert page.status_code == 200
    assert "Your password has been changed. Your other sessions have been signed out." in page.content.decode()
    assert list(UserSession.objects.live().filter(user=org_member)) == [this_session]
    assert UserSession.objects.filter(user=org_member, end_reason="revoked").count() == 1
    assert other_browser.get("/account/").status_code == 302
    assert not tokens.is_live()
    [notice] = outbox(kind="password_changed")
    assert (notice.recipient, notice.subject) == ("member@acme.test", "Acme Corp: your password was changed")
    assert "was changed from its account page" in notice.body_text
    event = AuditEvent.objects.get(action="password.changed")
    assert (event.actor, event.target_id, event.org) == (org_member, str(org_member.pk), org)
    assert event.metadata["sessions_ended"] == 1


def test_changing_voids_outstanding_reset_links(client, sign_in, org_member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/password/reset", {"email": "member@acme.test"})
    assert OneTimeToken.objects.live().count() == 1
    sign_in(org_member)

    _change(client)

    assert OneTimeToken.objects.live().count() == 0


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"current": "wrong-password"}, "current_password", "Your current password is not correct."),
    ({"current": ""}, "current_password", "This field is required."),
    ({"second": "something-else-entirely"}, "new_password2", "The two passwords do not match."),
    ({"first": "short", "second": "short"}, "new_password1", "This password is too short."),
    ({"first": "password1234", "second": "password1234"}, "new_password1", "This password is too common."),
    ({"first": "", "second": ""}, "new_password1", "This field is required."),
])
def test_bad_input_re_renders_with_field_errors_and_changes_nothing(client, sign_in, org_member, data, field,
                                                                    message):
    sign_in(org_member)
    other_browser = sign_in(org_member, Client())

    response = _change(client, **data)

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert User.objects.get(pk=org_member.pk).check_password(DEFAULT_PASSWORD)
    assert other_browser.get("/account/").status_code == 200
    assert not outbox()
    assert not AuditEvent.objects.filter(action="password.changed").exists()


def test_an_empty_post_is_a_form_error(client, sign_in, org_member):
    sign_in(org_member)

    response = client.post(URL, {})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"current_password", "new_password1", "new_password2"}


def test_guessing_the_current_password_is_throttled(client, sign_in, org_member, monkeypatch):
    monkeypatch.setattr(account_views, "CURRENT_PASSWORD_LIMIT", (3, 3600))
    sign_in(org_member)

    statuses = [_change(client, current=f"guess-{n}").status_code for n in range(3)]
    refused = _change(client)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert User.objects.get(pk=org_member.pk).check_password(DEFAULT_PASSWORD)
