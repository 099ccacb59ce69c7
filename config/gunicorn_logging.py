"""gunicorn's logger with a cheaper access log: the same lines, built from only the atoms that the
access log format names.

For every request gunicorn's Logger.atoms() turns every request header, response header and WSGI
environ entry into a dict entry, and formats the date, to fill a format that names a handful of
them: ~20 µs a request, a tenth of a discovery request's whole cost. Here the format's atoms are
listed once and only those are built, with the values and escaping gunicorn gives them
(glogging.Logger.atoms and SafeAtoms, gunicorn 27); config/tests/test_gunicorn_logging.py compares
the two on every atom. gunicorn's own access() writes the line (and logs, rather than raises, a line
that fails). Enabled by gunicorn.conf.py (`logger_class`).

One difference from gunicorn's lines, on purpose: every atom that can carry a query string (the
request line, path, query, Referer, a Location or environ atom) has the values of credential
parameters (`code`, `access_token`, `client_secret`, …) written as `name=[redacted]`
(config/redaction.py).
"""

import os
import re
import time

from gunicorn import glogging

from config.redaction import RedactQueryFilter, redact_query, redact_url

_ATOM = re.compile(r"%\(([^)]*)\)")


def _status(resp, req, environ, request_time):
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _sent(resp, req, environ, request_time):
    return getattr(resp, "sent", None) is not None and str(resp.sent) or "-"


# gunicorn's atoms, one function each (glogging.Logger.atoms); `u` and `t` are the logger's methods.
_PLAIN = {
    "h": lambda resp, req, environ, rt: environ.get("REMOTE_ADDR", "-"),
    "l": lambda resp, req, environ, rt: "-",
    "r": lambda resp, req, environ, rt: "%s %s %s" % (environ["REQUEST_METHOD"],  # noqa: UP031
                                                      redact_url(environ["RAW_URI"]), environ["SERVER_PROTOCOL"]),
    "s": _status,
    "m": lambda resp, req, environ, rt: environ.get("REQUEST_METHOD"),
    "U": lambda resp, req, environ, rt: _redacted_url(environ.get("PATH_INFO")),  # "?" if sent as %3F
    "q": lambda resp, req, environ, rt: _redacted_query(environ.get("QUERY_STRING")),
    "H": lambda resp, req, environ, rt: environ.get("SERVER_PROTOCOL"),
    "b": _sent,
    "B": lambda resp, req, environ, rt: getattr(resp, "sent", None),
    "f": lambda resp, req, environ, rt: redact_url(environ.get("HTTP_REFERER", "-")),
    "a": lambda resp, req, environ, rt: environ.get("HTTP_USER_AGENT", "-"),
    "T": lambda resp, req, environ, rt: rt.seconds,
    "D": lambda resp, req, environ, rt: (rt.seconds * 1000000) + rt.microseconds,
    "M": lambda resp, req, environ, rt: (rt.seconds * 1000) + int(rt.microseconds / 1000),
    "L": lambda resp, req, environ, rt: "%d.%06d" % (rt.seconds, rt.microseconds),  # noqa: UP031
    "p": lambda resp, req, environ, rt: "<%s>" % os.getpid(),  # noqa: UP031
}


def _redacted_url(value):
    return redact_url(value) if isinstance(value, str) else value


def _redacted_query(value):
    return redact_query(value) if isinstance(value, str) else value


def _pairs(headers):
    headers = getattr(headers, "headers", headers)
    return headers.items() if hasattr(headers, "items") else headers


def _last(pairs, name: str):
    """The value gunicorn's dict comprehension keeps for a lower-cased name: the last one."""
    found = None
    for key, value in pairs:
        if key.lower() == name:
            found = value
    return found


class AtomsDict(dict):
    """gunicorn's SafeAtoms lookups (a missing atom is "-", `{name}x` atoms case-insensitively) over
    atoms already escaped: the logger's atoms_wrapper_class."""

    def __getitem__(self, key):
        if key.startswith("{"):
            key = key.lower()
        return super().__getitem__(key) if key in self else "-"


class Logger(glogging.Logger):
    atoms_wrapper_class = AtomsDict
    _names_format: str | None = None
    _names: tuple[str, ...] = ()
    _now_second = -1
    _now_text = ""

    def setup(self, cfg):
        super().setup(cfg)
        # gunicorn's error log names the URI of a request that failed ("Error handling request …").
        if not any(isinstance(existing, RedactQueryFilter) for existing in self.error_log.filters):
            self.error_log.addFilter(RedactQueryFilter())

    def now(self):
        # One strftime a second rather than one a request; the text only changes once a second.
        second = int(time.time())
        if second != self._now_second:
            self._now_text, self._now_second = super().now(), second
        return self._now_text

    def _atom_names(self) -> tuple[str, ...]:
        access_format = self.cfg.access_log_format
        if access_format != self._names_format:
            self._names = tuple(dict.fromkeys(_ATOM.findall(access_format)))
            self._names_format = access_format
        return self._names

    def atoms(self, resp, req, environ, request_time):
        """Only the atoms the format names, already escaped as SafeAtoms escapes them."""
        atoms = {}
        for name in self._atom_names():
            if name in _PLAIN:
                value = _PLAIN[name](resp, req, environ, request_time)
            elif name == "u":
                value = self._get_user(environ) or "-"
            elif name == "t":
                value = self.now()
            elif len(name) > 3 and name[0] == "{" and name[-2] == "}" and name[-1] in "ioe":
                key = name[1:-2].lower()
                if name[-1] == "i":
                    value = _last(_pairs(req), key)
                elif name[-1] == "o":
                    value = _last(_pairs(resp.headers), key)
                else:
                    value = _last(environ.items(), key)
                if value is None:
                    continue  # SafeAtoms answers "-"
                # Any header or environ value may be a URL with a query (Referer, Location, RAW_URI).
                value = _redacted_query(value) if key == "query_string" else _redacted_url(value)
                name = name.lower()
            else:
                continue
            atoms[name] = value.replace('"', '\\"') if isinstance(value, str) else value
        return atoms
