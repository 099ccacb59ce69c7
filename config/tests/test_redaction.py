"""Credentials never reach Django's own request loggers (runserver's request line, 4xx/5xx warnings)."""

import logging
from types import SimpleNamespace

import pytest
from django.core.servers.basehttp import WSGIRequestHandler

from config.redaction import redact_query, redact_url


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def records():
    handler = _Records()
    loggers = [logging.getLogger("django.server"), logging.getLogger("django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.lines
    for logger in loggers:
        logger.removeHandler(handler)


def test_runservers_request_line_is_logged_without_credentials(records):
    # What Django's development server calls for each request it answered.
    server = SimpleNamespace(request=None, log_date_time_string=lambda: "04/Dec/2026 20:48:06")
    WSGIRequestHandler.log_message(server, '"%s" %s %s',
                                   "GET /oauth/logout?id_token_hint=eyJ.S3cr3t&state=keep HTTP/1.1", "302", "0")
    assert records == ['"GET /oauth/logout?id_token_hint=[redacted]&state=keep HTTP/1.1" 302 0']


@pytest.mark.django_db
def test_a_not_found_warning_does_not_print_a_code_sent_inside_the_path(client, records):
    response = client.get("/no-such-page%3Fcode%3DS3cr3tCode")
    assert response.status_code == 404
    assert records == ["Not Found: /no-such-page?code=[redacted]"]


@pytest.mark.parametrize(("query", "expected"), [
    ("", ""),
    ("a=1&b=2", "a=1&b=2"),
    ("code=", "code="),  # nothing to hide
    ("TOKEN=x=y&next=%2F", "TOKEN=[redacted]&next=%2F"),
    ("client%5fsecret=x", "client%5fsecret=[redacted]"),
    ("logout_hint=a@b&client_assertion=jwt&code_verifier=v", "logout_hint=[redacted]&client_assertion=[redacted]"
                                                             "&code_verifier=[redacted]"),
    ("%ff%fe=1&code", "%ff%fe=1&code"),
])
def test_redact_query(query, expected):
    assert redact_query(query) == expected


def test_redact_url_covers_a_fragment():
    assert redact_url("https://rp.example/cb#access_token=abc&state=s") == "https://rp.example/cb#access_token=[redacted]&state=s"
    assert redact_url("/plain/path") == "/plain/path"
