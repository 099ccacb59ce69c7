"""Credentials taken out of URLs and query strings before they reach a log line.

OAuth puts credentials in query strings (a code or tokens on redirects, `id_token_hint` and
`logout_hint` at logout, secrets from clients that should not send them there); a log that keeps
them hands them to whoever reads it. The access log (config/access_log.py) and Django's own
request loggers (settings.LOGGING) write each parameter named below as `name=[redacted]`.
"""

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "[redacted]"
# Matched on the name as the server decodes it (percent-decoded once, any letter case).
SECRET_PARAMETERS = frozenset({
    "access_token", "code", "id_token_hint", "refresh_token", "client_secret", "password", "token",
    "client_assertion", "logout_hint", "id_token", "code_verifier",
})
# One name=value pair; `#` separates too, so a fragment's `#access_token=…` is caught as well.
_PAIR = re.compile(r"(^|[&;#])([^&;#=]*)=([^&;#]*)")


def _pair(match: re.Match[str]) -> str:
    separator, name, value = match.groups()
    if value and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
        return f"{separator}{name}={REDACTED}"
    return match.group(0)


def redact_query(query: str) -> str:
    """A query string with the value of every secret parameter replaced."""
    return _PAIR.sub(_pair, query) if "=" in query else query


def redact_url(url: str) -> str:
    """A URL, path or request line with the credentials in its query (and fragment) replaced."""
    for mark in "?#":
        head, found, rest = url.partition(mark)
        if found:
            return head + found + redact_query(rest)
    return url


class RedactQueryFilter(logging.Filter):
    """Redacts the string arguments of a record (Django's request line, the request path) in place.

    django.server logs the request line with its query string (runserver); django.request logs the
    path, which holds a query only when it was sent percent-encoded, but costs nothing to check.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, str) and "=" in arg for arg in record.args):
            record.args = tuple(redact_url(arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str) and "=" in record.msg and not record.args:
            record.msg = redact_url(record.msg)
        return True
