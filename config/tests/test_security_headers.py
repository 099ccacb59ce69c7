"""Security headers on hosted and console pages, and HSTS only when the issuer is https.

HSTS is decided while settings load (from GATEHOUSE_ISSUER), so the https case runs in a fresh
interpreter with that variable set: overriding SECURE_HSTS_SECONDS in-process would only test
Django's middleware, not our rule.
"""

import json

import pytest

from config.tests.helpers import run_python

pytestmark = pytest.mark.django_db


def assert_security_headers(response) -> None:
    csp = response["Content-Security-Policy"]
    directives = {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";")}
    assert directives["script-src"] == "script-src 'self'"
    assert directives["style-src"] == "style-src 'self'"
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives["form-action"] == "form-action 'self'"
    assert directives["object-src"] == "object-src 'none'"
    assert directives["base-uri"] == "base-uri 'none'"
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_login_page_has_security_headers(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_security_headers(response)
    assert "Strict-Transport-Security" not in response


def test_failed_login_page_has_security_headers(client):
    response = client.post("/login", {"email": "nobody@example.test", "password": "wrong-password-here"})
    assert response.status_code == 200
    assert_security_headers(response)


def test_console_page_has_security_headers(org_admin_client, org):
    response = org_admin_client.get("/console/acme/")
    assert response.status_code == 200
    assert "Acme Corp" in response.content.decode()
    assert_security_headers(response)


def test_not_found_page_has_security_headers(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_security_headers(response)


def test_session_and_csrf_cookies_are_named_and_http_only(client):
    response = client.get("/login")
    cookie = response.cookies["gatehouse_csrf"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"], "an http issuer cannot use secure cookies"


def test_no_hsts_over_http_issuer_even_on_a_secure_request(client, settings):
    assert not settings.GATEHOUSE_ISSUER.startswith("https://")
    response = client.get("/login", secure=True)
    assert "Strict-Transport-Security" not in response


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
print(json.dumps({
    "secure": client.get("/health/live", secure=True).headers.get("Strict-Transport-Security"),
    "plain": client.get("/health/live").headers.get("Strict-Transport-Security"),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
}))
"""


def hsts_probe(tmp_path, **variables) -> dict:
    result = run_python(["-c", PROBE], tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_hsts_only_when_the_issuer_is_https(tmp_path):
    assert hsts_probe(tmp_path, GATEHOUSE_ISSUER="http://127.0.0.1:8000") == {
        "secure": None, "plain": None, "session_cookie_secure": False, "csrf_cookie_secure": False,
    }
    assert hsts_probe(tmp_path, GATEHOUSE_ISSUER="https://id.example.com", ALLOWED_HOSTS="testserver") == {
        # Only on a secure request: a browser ignores HSTS sent over plain http anyway.
        "secure": "max-age=31536000", "plain": None, "session_cookie_secure": True, "csrf_cookie_secure": True,
    }
