"""Integration help per kind (issue #13 item 5): each application's page shows its own kind's libraries,
filled with its own client id, redirect URI and scopes, and never a secret; a registered API's page shows
gatehouse-sdk. The machine snippets are run against a live server and must really get a token."""

import html
import json
import os
import re
import subprocess

import jwt
import pytest
from django.urls import reverse

from applications.api_services import api_create, application_api_scopes_set
from applications.services import application_create
from identity.tests.oidc_support import issuer_settings

pytestmark = pytest.mark.django_db

SERVER_LIBRARIES = ("authlib", "mozilla_django_oidc", "server_metadata_url", "OIDC_RP_CLIENT_SECRET")
BROWSER_LIBRARIES = ("oidc-client-ts", "react-oidc-context")
NATIVE_LIBRARIES = ("AppAuth", "OIDAuthorizationRequest")


def detail(client, app):
    return client.get(reverse("console:app-detail", args=[app.org.slug, app.pk])).content.decode()


def snippet(body: str, element_id: str) -> str:
    """The text of a copyable snippet, as a person copying it gets it."""
    match = re.search(rf'<code id="{element_id}">(.*?)</code>', body, re.S)
    assert match, f"no snippet {element_id}"
    return html.unescape(match.group(1))


def make(org, kind, **kwargs):
    return application_create(org=org, name=f"{kind} app", kind=kind, **kwargs)


def test_web_page_shows_authlib_and_mozilla_django_oidc_with_its_values(org_admin_client, org, settings):
    created = make(org, "web", redirect_uris=["https://hr.example/auth/cb", "https://hr.example/other"],
                   post_logout_redirect_uris=["https://hr.example/bye"], allowed_scopes=["openid", "email"])
    app = created.application
    body = detail(org_admin_client, app)
    flask = snippet(body, "snippet-authlib-flask")
    assert f'client_id="{app.client_id}"' in flask
    assert 'authorize_redirect("https://hr.example/auth/cb")' in flask
    assert '@app.route("/auth/cb")' in flask
    assert f'server_metadata_url="{settings.GATEHOUSE_ISSUER}/.well-known/openid-configuration"' in flask
    assert '"scope": "openid email"' in flask
    assert 'client_secret=os.environ["OIDC_CLIENT_SECRET"]' in flask
    assert '"post_logout_redirect_uri": "https://hr.example/bye"' in flask
    assert f'return redirect("{settings.GATEHOUSE_ISSUER}/oauth/logout" + "?" + query)' in flask
    assert "authorize_redirect(request, \"https://hr.example/auth/cb\")" in snippet(body, "snippet-authlib-django")
    mozilla = snippet(body, "snippet-mozilla-django-oidc")
    assert f'OIDC_RP_CLIENT_ID = "{app.client_id}"' in mozilla
    assert f'OIDC_OP_TOKEN_ENDPOINT = "{settings.GATEHOUSE_ISSUER}/oauth/token"' in mozilla
    assert f'OIDC_OP_JWKS_ENDPOINT = "{settings.GATEHOUSE_ISSUER}/.well-known/jwks.json"' in mozilla
    assert "OIDC_USE_PKCE = True" in mozilla
    assert f"OIDC_CLIENT_ID={app.client_id}" in snippet(body, "env-snippet")
    assert "OIDC_CLIENT_SECRET</code> environment variable" in body  # where to paste the secret
    assert created.client_secret not in body
    for other in BROWSER_LIBRARIES + NATIVE_LIBRARIES:
        assert other not in body


def test_spa_page_shows_oidc_client_ts_and_react_and_no_server_snippet(org_admin_client, org, settings):
    created = make(org, "spa", redirect_uris=["https://spa.example/callback"], allowed_origins=["https://spa.example"],
                   post_logout_redirect_uris=["https://spa.example/signed-out"])
    app = created.application
    assert created.client_secret is None
    body = detail(org_admin_client, app)
    for element_id in ("snippet-oidc-client-ts", "snippet-react-oidc-context"):
        text = snippet(body, element_id)
        assert f'authority: "{settings.GATEHOUSE_ISSUER}"' in text
        assert f'client_id: "{app.client_id}"' in text
        assert 'redirect_uri: "https://spa.example/callback"' in text
        assert 'post_logout_redirect_uri: "https://spa.example/signed-out"' in text
        assert 'scope: "openid profile email"' in text
    assert "new UserManager(" in snippet(body, "snippet-oidc-client-ts")
    assert "<AuthProvider {...oidcConfig}>" in snippet(body, "snippet-react-oidc-context")
    for other in SERVER_LIBRARIES + NATIVE_LIBRARIES + ("client_secret", "OIDC_CLIENT_SECRET"):
        assert other not in body


def test_spa_with_api_access_asks_for_that_apis_scopes(org_admin_client, org):
    api = api_create(org=org, name="Orders", identifier="https://orders.example", scopes=[("orders:read", "Read")]).api
    app = make(org, "spa", redirect_uris=["https://spa.example/cb"], allowed_origins=["https://spa.example"]).application
    application_api_scopes_set(application=app, scopes=api.scopes.all())
    body = detail(org_admin_client, app)
    assert 'scope: "openid profile email orders:read"' in snippet(body, "snippet-oidc-client-ts")
    assert "<dd><code>openid profile email orders:read</code></dd>" in body  # the values list says the same


def test_native_page_shows_appauth_with_custom_scheme_redirect(org_admin_client, org, settings):
    app = make(org, "native", redirect_uris=["com.example.app:/oauth2redirect"]).application
    body = detail(org_admin_client, app)
    ios = snippet(body, "snippet-appauth-ios")
    assert f'clientId: "{app.client_id}"' in ios
    assert 'URL(string: "com.example.app:/oauth2redirect")' in ios
    assert f'URL(string: "{settings.GATEHOUSE_ISSUER}")' in ios
    assert "clientSecret: nil" in ios
    android = snippet(body, "snippet-appauth-android")
    assert f'"{app.client_id}", ResponseTypeValues.CODE, Uri.parse("com.example.app:/oauth2redirect")' in android
    assert 'appAuthRedirectScheme: "com.example.app"' in android
    assert 'setScopes("openid", "profile", "email")' in android
    assert "Custom-scheme redirect" in body
    for other in SERVER_LIBRARIES + BROWSER_LIBRARIES + ("OIDC_CLIENT_SECRET",):
        assert other not in body


def test_native_loopback_redirect_says_any_port(org_admin_client, org):
    app = make(org, "native", redirect_uris=["http://127.0.0.1/callback"]).application
    body = detail(org_admin_client, app)
    assert "Loopback redirect" in body
    assert "appAuthRedirectScheme" not in snippet(body, "snippet-appauth-android")


def test_machine_page_shows_curl_and_python_with_the_apis_audience(org_admin_client, org, settings):
    api = api_create(org=org, name="Orders", identifier="https://orders.example",
                     scopes=[("orders:read", "Read"), ("orders:write", "Write")]).api
    created = make(org, "machine")
    app = created.application
    application_api_scopes_set(application=app, scopes=api.scopes.filter(name="orders:read"))
    body = detail(org_admin_client, app)
    curl = snippet(body, "snippet-curl")
    assert f"curl -s -X POST {settings.GATEHOUSE_ISSUER}/oauth/token" in curl
    assert f'-u {app.client_id}:"$OIDC_CLIENT_SECRET"' in curl
    assert "--data-urlencode resource=https://orders.example" in curl
    assert "--data-urlencode scope=orders:read" in curl
    assert '    resource="https://orders.example",\n' in snippet(body, "snippet-authlib-client-credentials")
    assert '        "resource": "https://orders.example",\n' in snippet(body, "snippet-httpx")
    assert "Orders (<code>https://orders.example</code>)" in body
    assert created.client_secret not in body
    for other in BROWSER_LIBRARIES + NATIVE_LIBRARIES + ("Redirect URI", "server_metadata_url"):
        assert other not in body


def test_machine_without_api_access_says_to_grant_it(org_admin_client, org):
    body = detail(org_admin_client, make(org, "machine").application)
    assert "no API access yet" in body
    assert "resource" not in snippet(body, "snippet-curl")


def test_python_snippets_are_valid_python(org_admin_client, org):
    web = make(org, "web", redirect_uris=["https://hr.example/cb"]).application
    machine = make(org, "machine").application
    body = detail(org_admin_client, web) + detail(org_admin_client, machine)
    for element_id in ("snippet-authlib-flask", "snippet-authlib-django", "snippet-mozilla-django-oidc",
                       "snippet-authlib-client-credentials", "snippet-httpx"):
        compile(snippet(body, element_id), element_id, "exec")


def test_another_orgs_admin_gets_404(other_org_admin_client, org):
    app = make(org, "spa", redirect_uris=["https://spa.example/cb"], allowed_origins=["https://spa.example"]).application
    response = other_org_admin_client.get(reverse("console:app-detail", args=[org.slug, app.pk]))
    assert response.status_code == 404
    assert app.client_id not in response.content.decode()


# ------------------------------------------------------------------------------------------ registered APIs

def api_page(client, api):
    return client.get(reverse("console:api-detail", args=[api.org.slug, api.pk])).content.decode()


def test_api_page_shows_the_sdk_for_django_drf_and_python(org_admin_client, org, settings):
    created = api_create(org=org, name="Orders", identifier="https://orders.example",
                         scopes=[("orders:write", "Write"), ("orders:read", "Read")])
    body = api_page(org_admin_client, created.api)
    django = snippet(body, "snippet-sdk-django")
    assert f'"ISSUER": "{settings.GATEHOUSE_ISSUER}"' in django
    assert '"AUDIENCE": "https://orders.example"' in django
    assert '@require_scope("orders:read")' in django
    assert 'drf.require_scope("orders:read")' in snippet(body, "snippet-sdk-drf")
    python = snippet(body, "snippet-sdk-python")
    assert 'audience="https://orders.example"' in python
    assert "INTROSPECTION" not in django  # JWTs need no secret
    assert "introspection_client" not in python
    for element_id in ("snippet-sdk-django", "snippet-sdk-drf", "snippet-sdk-python"):
        compile(snippet(body, element_id), element_id, "exec")
    assert created.client_secret not in body


def test_opaque_api_page_introspects_with_the_secret_from_the_environment(org_admin_client, org):
    created = api_create(org=org, name="Ledger", identifier="https://ledger.example", token_format="opaque",
                         scopes=[("ledger:read", "Read")])
    body = api_page(org_admin_client, created.api)
    django = snippet(body, "snippet-sdk-django")
    assert f'"INTROSPECTION_CLIENT_ID": "{created.api.client_id}"' in django
    assert '"INTROSPECTION_CLIENT_SECRET": os.environ["GATEHOUSE_API_SECRET"]' in django
    assert f'introspection_client_id="{created.api.client_id}"' in snippet(body, "snippet-sdk-python")
    assert created.client_secret not in body


# ------------------------------------------------------------------------------------------ snippets that run

@pytest.mark.django_db(transaction=True)
def test_machine_snippets_get_a_token_for_the_api(live_server, org, sign_in, org_admin, monkeypatch):
    """curl, Authlib and httpx, exactly as shown, each get a JWT whose audience is the granted API, and the
    API page's gatehouse-sdk snippet, as shown, verifies it."""
    with issuer_settings(live_server):
        api = api_create(org=org, name="Orders", identifier="https://orders.example",
                         scopes=[("orders:read", "Read")]).api
        created = make(org, "machine")
        application_api_scopes_set(application=created.application, scopes=api.scopes.all())
        body = detail(sign_in(org_admin), created.application)
        monkeypatch.setenv("OIDC_CLIENT_SECRET", created.client_secret)
        tokens = []
        result = subprocess.run(["bash", "-c", snippet(body, "snippet-curl")], capture_output=True, text=True,
                                timeout=30, env={**os.environ})
        assert result.returncode == 0, result.stderr
        tokens.append(json.loads(result.stdout)["access_token"])
        for element_id, name in (("snippet-authlib-client-credentials", "token"), ("snippet-httpx", "access_token")):
            scope: dict = {}
            exec(compile(snippet(body, element_id), element_id, "exec"), scope)  # noqa: S102 - our own snippet
            value = scope[name]
            tokens.append(value["access_token"] if isinstance(value, dict) else value)
        # The API page's plain-Python gatehouse-sdk snippet, as shown, accepts those tokens and refuses none.
        api_body = sign_in(org_admin).get(reverse("console:api-detail", args=[org.slug, api.pk])).content.decode()
        sdk_scope: dict = {}
        exec(compile(snippet(api_body, "snippet-sdk-python"), "sdk", "exec"), sdk_scope)  # noqa: S102
        for token in tokens:
            assert sdk_scope["handle"]({"Authorization": f"Bearer {token}"})[0] == 200
        assert sdk_scope["handle"]({})[0] == 401
    for token in tokens:
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["aud"] == "https://orders.example"
        assert claims["client_id"] == created.application.client_id
        assert "orders:read" in claims["scope"].split()


def test_values_are_escaped_in_the_page_and_exact_in_the_copied_text(org_admin_client, org):
    app = make(org, "web", redirect_uris=["https://hr.example/cb?next=<home>&x=\"1\""]).application
    body = detail(org_admin_client, app)
    assert "<home>" not in body
    flask = snippet(body, "snippet-authlib-flask")
    # A Python string literal of the exact URI: its quotes escaped for Python, not broken out of.
    assert 'authorize_redirect("https://hr.example/cb?next=<home>&x=\\"1\\"")' in flask
    compile(flask, "flask", "exec")
