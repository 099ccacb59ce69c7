"""The access log the application writes (config/access_log.py) and the environ granian hands it (config/wsgi.py).

The lines are gunicorn's (its default format, compared with gunicorn's own logger), with credentials redacted
and nothing a client sends able to break a line; every response gets one line, with the bytes of its body,
however the body is made. Under granian's real WSGI wrapper, nothing of the server's process environment
reaches Django.
"""

import base64
import logging
import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from granian.wsgi import _callback_wrapper as granian_wsgi_wrapper
from gunicorn import glogging
from gunicorn.config import Config

from config import access_log, wsgi

NOW = "[06/Dec/2026:21:04:05 +0000]"
BASIC = "Basic " + base64.b64encode(b"reports-bot:s3cret").decode()


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(access_log._clock, "now", lambda: NOW)


@pytest.fixture
def lines(caplog):
    caplog.set_level(logging.INFO, logger="gatehouse.access")
    return lambda: [record.getMessage() for record in caplog.records if record.name == "gatehouse.access"]


def _environ(**extra) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/oauth/token", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "curl/8", **extra}


def _gunicorns_line(environ: dict, status: str, size: int) -> str:
    """What gunicorn's own logger writes for this exchange, in its default format."""
    query = environ["QUERY_STRING"]
    raw_environ = {**environ, "RAW_URI": environ["PATH_INFO"] + (f"?{query}" if query else "")}
    request = SimpleNamespace(headers=[("USER-AGENT", environ.get("HTTP_USER_AGENT", ""))])
    response = SimpleNamespace(status=status, sent=size, headers=[])
    logger = glogging.Logger(Config())
    logger.now = lambda: NOW
    atoms = logger.atoms(response, request, raw_environ, timedelta(milliseconds=3))
    return Config().access_log_format % glogging.SafeAtoms(atoms)


@pytest.mark.parametrize("environ", [
    _environ(),
    _environ(HTTP_AUTHORIZATION=BASIC),
    _environ(HTTP_AUTHORIZATION="Bearer abc.def", HTTP_REFERER="https://rp.example/start"),
    _environ(REQUEST_METHOD="GET", PATH_INFO="/login", QUERY_STRING="next=/account/&lang=fr",
             HTTP_USER_AGENT='Mozilla/5.0 "quoted"'),
    _environ(REQUEST_METHOD="GET", PATH_INFO="/health/live", HTTP_USER_AGENT=""),
])
def test_a_line_is_what_gunicorn_writes(environ):
    assert access_log.line(environ, "200 OK", 812) == _gunicorns_line(environ, "200 OK", 812)


def test_the_basic_user_is_the_client_id_and_the_secret_is_not_written():
    written = access_log.line(_environ(HTTP_AUTHORIZATION=BASIC), "200 OK", 812)
    assert written == f'203.0.113.9 - reports-bot {NOW} "POST /oauth/token HTTP/1.1" 200 812 "-" "curl/8"'
    assert "s3cret" not in written


def test_credentials_in_the_query_and_the_referer_are_redacted():
    written = access_log.line(
        _environ(REQUEST_METHOD="GET", PATH_INFO="/callback", QUERY_STRING="code=abc123&state=xyz",
                 HTTP_REFERER="https://rp.example/#access_token=tok&id_token_hint=eyJ"),
        "302 Found", 0,
    )
    assert '"GET /callback?code=[redacted]&state=xyz HTTP/1.1" 302 0' in written
    assert '"https://rp.example/#access_token=[redacted]&id_token_hint=[redacted]"' in written
    assert "abc123" not in written
    assert "tok&" not in written


def test_nothing_a_client_sends_starts_a_line_of_its_own():
    smuggled_user = "Basic " + base64.b64encode(b'evil\n1.2.3.4 - admin "GET / HTTP/1.1" 200:x').decode()
    written = access_log.line(
        # granian hands PATH_INFO percent-decoded (as latin-1): a %0A arrives as a newline.
        _environ(REQUEST_METHOD="GET", PATH_INFO="/a b/\n\xc3\xa9", QUERY_STRING="q=\x1b[31m",
                 HTTP_AUTHORIZATION=smuggled_user, HTTP_USER_AGENT='ua\\"x'),
        "404 Not Found", 179,
    )
    assert "\n" not in written
    assert "\x1b" not in written
    assert '"GET /a%20b/%0A%C3%A9?q=\\x1b[31m HTTP/1.1" 404 179' in written
    assert ' - evil\\x0a1.2.3.4 - admin \\"GET / HTTP/1.1\\" 200 ' in written
    assert written.endswith('"ua\\\\\\"x"')


@pytest.mark.parametrize("authorization",
                         ["Basic !!!not-base64", "Basic", "Basic " + base64.b64encode(b"\xff\xfe").decode()])
def test_an_unreadable_basic_header_logs_no_user(authorization):
    assert f" - - {NOW} " in access_log.line(_environ(HTTP_AUTHORIZATION=authorization), "401 Unauthorized", 27)


def _call(app, environ):
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=headers)

    body = app(environ, start_response)
    try:
        sent = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return started["status"], sent


def test_each_kind_of_body_gets_one_line_with_its_size(lines):
    def a_list(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"a":', b"1}"]

    def sized(environ, start_response):
        start_response("201 Created", [("Content-Length", "5")])
        return iter([b"hello"])

    def streamed(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        yield b"email\n"
        yield b"ada@acme.test\n"

    for app in (a_list, sized, streamed):
        _call(access_log.logged(app), _environ(REQUEST_METHOD="GET", PATH_INFO=f"/{app.__name__}"))
    assert [line.split('" ', 1)[1] for line in lines()] == ['200 7 "-" "curl/8"', '201 5 "-" "curl/8"',
                                                            '200 20 "-" "curl/8"']


def test_an_application_that_raises_is_logged_as_500_and_the_error_goes_on(lines):
    def broken(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        access_log.logged(broken)(_environ(), lambda status, headers: None)
    assert lines() == [f'203.0.113.9 - - {NOW} "POST /oauth/token HTTP/1.1" 500 - "-" "curl/8"']


@pytest.fixture
def _django_in_a_test_transaction():
    # A real WSGIHandler closes "obsolete" connections around each request, which inside a test's
    # transaction means closing it: keep the connection, as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("_django_in_a_test_transaction")
def test_a_django_page_is_logged_with_the_size_of_what_it_sent(lines):
    environ = RequestFactory().get("/health/live").environ
    status, body = _call(wsgi.application, environ)
    assert status.startswith("200")
    assert lines() == [f'127.0.0.1 - - {NOW} "GET /health/live HTTP/1.1" 200 {len(body)} "-" "-"']


class _GranianProtocol:
    """What granian's Rust side offers its WSGI wrapper: the response, as bytes or as an iterator."""

    def response_bytes(self, status, headers, body):
        self.status, self.body = status, body

    def response_iter(self, status, headers, body):
        self.status, self.body = status, b"".join(body)
        body.close()


def test_under_granian_no_process_variable_reaches_the_application(monkeypatch):
    monkeypatch.setenv("GATEHOUSE_PROBE_SECRET", "s3cret")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("CONTENT_TYPE", "text/plain")
    process_only, named_like_request = wsgi._process_environment(dict(os.environ))
    monkeypatch.setattr(wsgi, "_PROCESS_ONLY", process_only)
    monkeypatch.setattr(wsgi, "_PROCESS_NAMED_LIKE_REQUEST", named_like_request)
    seen = []

    def django(environ, start_response):
        seen.append(dict(environ))
        start_response("200 OK", [])
        return [b"ok"]

    monkeypatch.setattr(wsgi, "django_application", django)
    # granian's own wrapper, built as its worker builds it: it copies os.environ into every environ.
    served = granian_wsgi_wrapper(wsgi.serve, {}, None)
    scope = {"REQUEST_METHOD": "GET", "PATH_INFO": "/account/", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
             "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "localhost",
             "wsgi.url_scheme": "http", "wsgi.input": None}
    protocol = _GranianProtocol()
    served(protocol, dict(scope))
    served(protocol, {**scope, "HTTP_PROXY": "http://client-sent/"})
    without_header, with_header = seen
    assert protocol.status == 200
    for environ in seen:
        assert not {"GATEHOUSE_PROBE_SECRET", "PATH", "HOME", "CONTENT_TYPE"} & environ.keys()
        assert (environ["HTTP_HOST"], environ["PATH_INFO"]) == ("localhost", "/account/")
    assert "HTTP_PROXY" not in without_header
    assert with_header["HTTP_PROXY"] == "http://client-sent/"  # the request's own header is the request's
