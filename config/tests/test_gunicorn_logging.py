"""The lean access log (config/gunicorn_logging.py) writes the lines gunicorn's own logger writes."""

import base64
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from config.gunicorn_logging import AtomsDict, Logger

BASE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_FORMAT = Config().access_log_format
EVERY_ATOM = " ".join(f"%({name})s" for name in "hlutrsmUqHbBfaTDMLp")
HEADER_ATOMS = ('%({x-request-id}i)s %({X-Request-ID}i)s %({content-type}o)s %({missing}i)s %({missing}o)s '
                '%({remote_port}e)s %({REMOTE_ADDR}e)s %({missing}e)s %(nonsense)s %({broken)s')


def _logger(access_format: str, tmp_path) -> Logger:
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", access_format)
    return Logger(cfg)


def _exchange(**environ_extra):
    environ = {
        "REQUEST_METHOD": "POST", "RAW_URI": "/oauth/token?x=1", "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/oauth/token", "QUERY_STRING": "x=1", "REMOTE_ADDR": "203.0.113.9", "REMOTE_PORT": "51234",
        "HTTP_USER_AGENT": 'curl/8 "quoted"', "HTTP_REFERER": "https://rp.example/",
        **environ_extra,
    }
    request = SimpleNamespace(headers=[("HOST", "idp.example"), ("X-REQUEST-ID", "first"), ("X-REQUEST-ID", "second"),
                                       ("USER-AGENT", 'curl/8 "quoted"')])
    response = SimpleNamespace(status="201 Created", sent=321,
                               headers=[("Content-Type", "application/json"), ("Cache-Control", "no-store")])
    return response, request, environ, timedelta(seconds=2, microseconds=345678)


def _gunicorns_line(logger: Logger, access_format: str, exchange) -> str:
    return access_format % glogging.SafeAtoms(glogging.Logger.atoms(logger, *exchange))


@pytest.mark.parametrize("access_format", [DEFAULT_FORMAT, EVERY_ATOM, HEADER_ATOMS])
def test_lines_are_gunicorns(access_format, tmp_path, monkeypatch):
    # One clock for both loggers, so a second that ticks between the two lines cannot tell them apart.
    monkeypatch.setattr(glogging.Logger, "now", lambda self: "[04/Dec/2026:20:48:06 +0000]")
    logger = _logger(access_format, tmp_path)
    for exchange in (_exchange(), _exchange(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"alice:pw").decode()),
                     _exchange(HTTP_AUTHORIZATION="Bearer abc", HTTP_REFERER='say "hi"')):
        lean = access_format % logger.atoms_wrapper_class(logger.atoms(*exchange))
        assert lean == _gunicorns_line(logger, access_format, exchange)


def test_the_default_line_as_written_to_the_file(tmp_path):
    logger = _logger(DEFAULT_FORMAT, tmp_path)
    logger.access(*_exchange())
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text().splitlines()[-1]
    assert line.startswith('203.0.113.9 - - [')
    assert line.endswith('] "POST /oauth/token?x=1 HTTP/1.1" 201 321 "https://rp.example/" "curl/8 \\"quoted\\""')


def test_a_changed_format_is_followed(tmp_path):
    logger = _logger("%(s)s", tmp_path)
    exchange = _exchange()
    assert "%(s)s" % AtomsDict(logger.atoms(*exchange)) == "201"  # noqa: UP031 (logging formats with %)
    logger.cfg.set("access_log_format", "%(m)s %(U)s")
    assert "%(m)s %(U)s" % AtomsDict(logger.atoms(*exchange)) == "POST /oauth/token"  # noqa: UP031


def test_gunicorn_started_from_the_repository_uses_it():
    printed = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--print-config", "config.wsgi"],
                             cwd=BASE_DIR, capture_output=True, text=True, check=True).stdout
    assert any(line.split() == ["logger_class", "=", "config.gunicorn_logging.Logger"] for line in printed.splitlines())


# ---------------------------------------------------------------- credentials out of the log

SECRETS = ("S3cr3tHint", "S3cr3tCode", "S3cr3tEnc", "S3cr3tAccess", "S3cr3tRefresh", "S3cr3tClient", "S3cr3tPw",
           "S3cr3tLoc", "S3cr3tRef")
QUERY = ("id_token_hint=S3cr3tHint&state=keep-me&CODE=S3cr3tCode&%63ode=S3cr3tEnc&access%5Ftoken=S3cr3tAccess"
         ";Refresh_Token=S3cr3tRefresh&client_secret=S3cr3tClient&password=S3cr3tPw&client_id=rp-1")
QUERY_ATOMS = ('%(r)s|%(U)s|%(q)s|%(f)s|%({raw_uri}e)s|%({QUERY_STRING}e)s|%({referer}i)s|%({location}o)s'
               '|%({user-agent}i)s')


def _exchange_with_credentials():
    response, request, environ, request_time = _exchange(
        RAW_URI=f"/oauth/logout?{QUERY}", QUERY_STRING=QUERY, PATH_INFO="/oauth/logout?token=S3cr3tPath",
        HTTP_REFERER="https://rp.example/callback?code=S3cr3tRef&state=keep-me",
    )
    request.headers.append(("REFERER", "https://rp.example/callback?code=S3cr3tRef&state=keep-me"))
    response.headers.append(("Location", "https://rp.example/cb?state=keep-me&code=S3cr3tLoc&iss=x"))
    return response, request, environ, request_time


@pytest.mark.parametrize("access_format", [QUERY_ATOMS, DEFAULT_FORMAT, EVERY_ATOM])
def test_credential_parameters_are_redacted_in_every_atom_that_carries_a_query(access_format, tmp_path):
    logger = _logger(access_format, tmp_path)
    line = access_format % logger.atoms_wrapper_class(logger.atoms(*_exchange_with_credentials()))

    assert not [secret for secret in (*SECRETS, "S3cr3tPath") if secret in line], line
    assert "id_token_hint=[redacted]" in line
    assert "state=keep-me" in line


def test_each_query_atom_names_what_was_redacted(tmp_path):
    logger = _logger(QUERY_ATOMS, tmp_path)
    fields = (QUERY_ATOMS % logger.atoms_wrapper_class(logger.atoms(*_exchange_with_credentials()))).split("|")
    redacted_query = ("id_token_hint=[redacted]&state=keep-me&CODE=[redacted]&%63ode=[redacted]"
                      "&access%5Ftoken=[redacted];Refresh_Token=[redacted]&client_secret=[redacted]"
                      "&password=[redacted]&client_id=rp-1")
    assert fields == [
        f"POST /oauth/logout?{redacted_query} HTTP/1.1",
        "/oauth/logout?token=[redacted]",
        redacted_query,
        "https://rp.example/callback?code=[redacted]&state=keep-me",
        f"/oauth/logout?{redacted_query}",
        redacted_query,
        "https://rp.example/callback?code=[redacted]&state=keep-me",
        "https://rp.example/cb?state=keep-me&code=[redacted]&iss=x",
        'curl/8 \\"quoted\\"',
    ]


def test_the_line_written_to_the_file_has_no_credentials(tmp_path):
    logger = _logger(DEFAULT_FORMAT, tmp_path)
    logger.access(*_exchange_with_credentials())
    for handler in logger.access_log.handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text().splitlines()[-1]
    assert '"POST /oauth/logout?id_token_hint=[redacted]&state=keep-me&CODE=[redacted]' in line
    assert not [secret for secret in SECRETS if secret in line], line


def test_gunicorns_error_log_redacts_the_uri_of_a_failed_request(tmp_path):
    cfg = Config()
    cfg.set("errorlog", str(tmp_path / "error.log"))
    logger = Logger(cfg)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("Error handling request %s", "/oauth/authorize?code=S3cr3tCode&state=keep-me")
    for handler in logger.error_log.handlers:
        handler.flush()
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request /oauth/authorize?code=[redacted]&state=keep-me" in text
    assert "S3cr3tCode" not in text
