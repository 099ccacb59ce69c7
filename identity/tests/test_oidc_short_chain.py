"""The machine-facing OAuth endpoints run through the short middleware chain (identity/oidc/middleware.py):
the browser-only middleware never sees them, every other path still goes through all of it, and their
responses keep the security headers."""

import base64

import pytest
from django.conf import settings
from django.urls import reverse

from identity import middleware as identity_middleware
from identity.tests.oidc_support import make_machine_app

pytestmark = pytest.mark.django_db

API_PATHS = ["/oauth/token", "/oauth/userinfo", "/oauth/introspect", "/oauth/revoke"]


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_the_api_chain_is_the_full_chain_less_the_browser_middleware():
    api = settings.GATEHOUSE_OAUTH_API_MIDDLEWARE
    assert settings.MIDDLEWARE[0] == "identity.oidc.middleware.OAuthEndpointMiddleware"
    assert api == [path for path in settings.MIDDLEWARE if path in api]  # same order
    assert "config.middleware.ClientIPMiddleware" in api
    assert "django.middleware.security.SecurityMiddleware" in api
    assert "config.csp_middleware.CSPMiddleware" in api
    for browser_only in ("django.contrib.sessions.middleware.SessionMiddleware",
                         "django.middleware.csrf.CsrfViewMiddleware",
                         "django.contrib.auth.middleware.AuthenticationMiddleware",
                         "identity.middleware.UserSessionMiddleware"):
        assert browser_only not in api
    assert sorted(reverse(name) for name in settings.GATEHOUSE_OAUTH_API_URL_NAMES) == sorted(API_PATHS)


@pytest.fixture
def browser_middleware_refuses(monkeypatch):
    """UserSessionMiddleware, from the browser-only set, fails every request it sees."""

    def refuse(self, request):
        raise AssertionError(f"browser middleware ran for {request.path}")

    monkeypatch.setattr(identity_middleware.UserSessionMiddleware, "__call__", refuse)


def test_token_endpoint_skips_the_browser_middleware_and_keeps_security_headers(client, org,
                                                                                browser_middleware_refuses):
    machine = make_machine_app(org)
    response = client.post("/oauth/token", "grant_type=client_credentials",
                           content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Content-Length"] == str(len(response.content))
    assert not response.cookies

    introspected = client.post("/oauth/introspect", {"token": token},
                               HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))
    assert introspected.status_code == 200
    assert introspected.json()["active"] is True
    revoked = client.post("/oauth/revoke", {"token": token},
                          HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))
    assert revoked.status_code == 200
    assert client.post("/oauth/introspect", {"token": token},
                       HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret)).json() == {"active": False}
    assert client.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer nothing").status_code == 401


def test_other_paths_still_run_the_full_chain(client, browser_middleware_refuses):
    for path in ("/login", "/oauth/authorize", "/.well-known/jwks.json"):
        with pytest.raises(AssertionError, match="browser middleware ran"):
            client.get(path)


def test_a_signed_in_browser_calling_an_api_endpoint_gets_no_session_cookie(client, sign_in, org, org_admin):
    browser = sign_in(org_admin)
    response = browser.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer nothing")
    assert response.status_code == 401
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
