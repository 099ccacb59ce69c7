"""Hiding one-time links (invitation, password reset, email confirmation) from console readers.

The console shows queued mail to org admins and auditors; a link in that mail may set someone's
password or accept an invitation, so it is never shown there (DESIGN.md).
"""

import re
from urllib.parse import unquote

ONE_TIME_LINK_PREFIXES = ("/invitation/", "/password/reset/", "/account/email/confirm/", "/account/email/verify/")
REDACTED = "[one-time link redacted]"

# A link as mail clients find one: a run of characters up to whitespace, a quote or an angle
# bracket. Matching whole runs rather than parsing URLs means a link written without a scheme
# (example.com/invitation/…), protocol-relative, percent-encoded or inside another URL's query
# string is redacted too; over-redacting a path mentioned in prose is the safe mistake.
_TOKEN = re.compile(r"""[^\s"'<>]*/[^\s"'<>]*""")


def _normalized(token: str) -> str:
    token = unquote(unquote(token)).lower()
    while "//" in token:
        token = token.replace("//", "/")
    return token


def _replace(match: re.Match) -> str:
    token = match.group(0)
    normalized = _normalized(token)
    return REDACTED if any(prefix in normalized for prefix in ONE_TIME_LINK_PREFIXES) else token


def redact_one_time_links(text: str) -> str:
    """Replace any URL whose path starts with one of ONE_TIME_LINK_PREFIXES by REDACTED.

    Errs on the side of hiding: anything link-like that contains one of the prefixes is replaced.
    """
    if not text:
        return text
    return _TOKEN.sub(_replace, text)
