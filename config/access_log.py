"""The web server's access log, written by the WSGI application itself: one line a request, in gunicorn's
default format, whichever server runs it.

    203.0.113.9 - client-id [06/Dec/2026:21:04:05 +0000] "POST /oauth/token HTTP/1.1" 200 812 "-" "curl/8"

That is the "combined" format: client address, `-`, the HTTP Basic user (the client id on a token,
introspection or revocation request), the time, the request line, the status, the bytes of the body, the
Referer and the User-Agent. Gatehouse wrote these lines through gunicorn until granian became its server
(bench/RESULTS.md, "Session 9"); granian's own access log has no size and no user, so the line is built
here, the same for both (config/tests/test_access_log.py compares it with gunicorn's).

Two differences from gunicorn's lines, on purpose:
- credentials in the request line's query and in the Referer (`code`, `access_token`, `client_secret`, …)
  are written as `name=[redacted]` (config/redaction.py);
- the request line's path is percent-encoded again from the decoded PATH_INFO (granian passes no raw URI),
  and control characters in a header or the Basic user (which is base64 and may hold anything) are written
  as `\\xNN`, so a request cannot start a line of its own.

Lines go to the logger `gatehouse.access` (settings.GATEHOUSE_ACCESS_LOG says where).
"""

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote

from config.redaction import redact_query, redact_url

logger = logging.getLogger("gatehouse.access")

# What quote() leaves alone in a path: RFC 3986's pchar, `/` and `%` (an already-escaped byte stays as sent).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return "\\" + char if char in '"\\' else f"\\x{ord(char):02x}"


def _safe(value: str) -> str:
    return _UNSAFE.sub(_escape, value) if _UNSAFE.search(value) else value


def _user(environ) -> str:
    """The HTTP Basic user name, as gunicorn takes it (glogging.Logger._get_user), or `-`."""
    authorization = environ.get("HTTP_AUTHORIZATION")
    if not authorization or authorization[:5].lower() != "basic":
        return "-"
    parts = authorization.split(" ", 1)
    if len(parts) != 2:
        return "-"
    try:
        return _safe(base64.b64decode(parts[1].strip().encode()).split(b":", 1)[0].decode()) or "-"
    except (binascii.Error, UnicodeError, ValueError):
        return "-"


def _request_line(environ) -> str:
    path = quote(environ.get("PATH_INFO", "").encode("latin-1", "replace"), safe=_PATH_SAFE)
    query = environ.get("QUERY_STRING")
    if query:
        path = f"{path}?{_safe(redact_query(query))}"
    return f"{environ.get('REQUEST_METHOD', '-')} {path} {_safe(environ.get('SERVER_PROTOCOL', '-'))}"


class _Clock:
    """gunicorn's `[%d/%b/%Y:%H:%M:%S %z]`, formatted once a second rather than once a request."""

    second = -1
    text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self.second:
            self.text, self.second = time.strftime("[%d/%b/%Y:%H:%M:%S %z]"), second
        return self.text


_clock = _Clock()


def line(environ, status: str, size: int | None) -> str:
    referer = environ.get("HTTP_REFERER")
    referer = "-" if referer is None else _safe(redact_url(referer))
    user_agent = environ.get("HTTP_USER_AGENT")
    user_agent = "-" if user_agent is None else _safe(user_agent)
    return (f'{environ.get("REMOTE_ADDR") or "-"} - {_user(environ)} {_clock.now()} "{_request_line(environ)}" '
            f'{status.split(" ", 1)[0]} {"-" if size is None else size} "{referer}" "{user_agent}"')


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length":
            return int(value) if value.isdigit() else None
    return None


class _CountedBody:
    """A response body without Content-Length (a streamed export, a file): its bytes are counted as the
    server sends them, and the line is written when the server closes it, as PEP 3333 says it must."""

    def __init__(self, body: Iterable[bytes], write: Callable[[int], None]) -> None:
        self._body, self._write, self._sent = body, write, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._write(self._sent)


def logged(app: Callable) -> Callable:
    """`app` with one access line a request."""

    def application(environ, start_response):
        response: list = []

        def start(status, headers, exc_info=None):
            response[:] = (status, headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            body = app(environ, start)
        except BaseException:
            logger.info(line(environ, "500", None))
            raise
        if response:
            status, headers = response
            if isinstance(body, list):
                logger.info(line(environ, status, sum(map(len, body))))
                return body
            size = _content_length(headers)
            if size is not None:
                logger.info(line(environ, status, size))
                return body
        # No Content-Length, or an application that starts its response from inside the body.
        return _CountedBody(body, lambda sent: logger.info(line(environ, response[0] if response else "500", sent)))

    return application
