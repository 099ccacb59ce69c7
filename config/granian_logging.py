"""granian's access log with the credential redaction of gunicorn's (config/redaction.py).

granian (a Rust HTTP server) writes its access log through Python logging: the logger
`granian.access`, one record a request whose args are a dict of atoms (`addr`, `time`, `method`,
`path`, `query_string`, `protocol`, `status`, `dt_ms`, and `header{name}` request headers, which it
stores as `_h0`, `_h1`, …). It has no atom for the response size or the user, and its `path` has no
query. RedactAccessFilter puts the query back on the path with every credential parameter written as
`name=[redacted]`, and redacts any logged request header (a Referer holds a URL).

Used by bench/oidc.py's granian shapes (`log_config`); Gatehouse's servers run gunicorn
(gunicorn.conf.py, bench/RESULTS.md "Servers: gunicorn vs granian" says why).
"""

import logging

from config.redaction import redact_query, redact_url

# gunicorn's default access line as near as granian's atoms allow: no user (`-`), no response size (`-`).
ACCESS_FORMAT = ('%(addr)s - - [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d - '
                 '"%(header{referer})s" "%(header{user-agent})s"')


class RedactAccessFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if isinstance(atoms, dict):
            query = atoms.get("query_string")
            if query:
                atoms["path"] = f"{atoms['path']}?{redact_query(query)}"
            for key, value in atoms.items():
                if key.startswith("_h") and isinstance(value, str) and "=" in value:
                    atoms[key] = redact_url(value)
        return True


def log_config(access_file: str | None = None, error_file: str | None = None) -> dict:
    """A logging dict for `granian --log-config` (written as JSON): access lines redacted, to a file or stdout."""

    def handler(path: str | None, formatter: str) -> dict:
        if path:
            return {"class": "logging.FileHandler", "filename": path, "formatter": formatter}
        return {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": formatter}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "config.granian_logging.RedactAccessFilter"}},
        "formatters": {
            "generic": {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"},
            "access": {"format": "%(message)s"},
        },
        "handlers": {"console": handler(error_file, "generic"), "access": handler(access_file, "access")},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False,
                               "filters": ["redact"]},
        },
    }
