"""Shared pieces for the OIDC tests: a relying party built on Authlib, talking to the live server.

The browser leg (/oauth/authorize) runs through Django's test client with a signed-in session —
a real browser drives it in test_browser_oidc.py — while every back-channel call (discovery,
token, userinfo, JWKS, revocation, introspection) is Authlib over HTTP against live_server.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlparse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.test import override_settings
from joserfc import jwt
from joserfc.jwk import KeySet

from applications.services import application_create

WEB_REDIRECT = "https://rp.example/callback"
SPA_REDIRECT = "https://spa.example/callback"
SPA_ORIGIN = "https://spa.example"


@dataclass
class Client:
    client_id: str
    client_secret: str | None
    redirect_uri: str


def make_web_app(org, *, client_id="web-rp", trusted=True, **kwargs) -> Client:
    created = application_create(org=org, name="Web RP", kind="web", redirect_uris=[WEB_REDIRECT],
                                 client_id=client_id)
    app = created.application
    app.skip_authorization = trusted
    app.post_logout_redirect_uris = "https://rp.example/signed-out"
    for field, value in kwargs.items():
        setattr(app, field, value)
    app.save()
    return Client(client_id, created.client_secret, WEB_REDIRECT)


def make_spa_app(org, *, client_id="spa-rp") -> Client:
    created = application_create(org=org, name="SPA RP", kind="spa", redirect_uris=[SPA_REDIRECT],
                                 client_id=client_id)
    app = created.application
    app.skip_authorization = True
    app.allowed_origins = SPA_ORIGIN
    app.save()
    return Client(client_id, None, SPA_REDIRECT)


def make_machine_app(org, *, client_id="machine-rp") -> Client:
    created = application_create(org=org, name="Machine", kind="machine", client_id=client_id)
    return Client(client_id, created.client_secret, "")


def issuer_settings(live_server):
    """Point the issuer at the live server (discovery and ID tokens name it)."""
    from django.conf import settings

    provider = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return override_settings(GATEHOUSE_ISSUER=live_server.url, OAUTH2_PROVIDER=provider)


class RelyingParty:
    """An Authlib client that knows the provider only through its discovery document."""

    def __init__(self, live_server, client: Client, scope="openid profile email"):
        self.base = live_server.url
        self.client = client
        self.metadata = requests.get(f"{self.base}/.well-known/openid-configuration", timeout=10).json()
        self.session = OAuth2Session(
            client.client_id, client.client_secret, scope=scope, redirect_uri=client.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if client.client_secret else "none",
        )
        self.code_verifier = generate_token(48)
        self.nonce = generate_token(20)
        self.state = None

    def authorization_url(self, **params) -> str:
        url, self.state = self.session.create_authorization_url(
            self.metadata["authorization_endpoint"], code_verifier=self.code_verifier, nonce=self.nonce, **params
        )
        return url

    def path_of(self, url: str) -> str:
        parsed = urlparse(url)
        return f"{parsed.path}?{parsed.query}"

    def authorize(self, django_client, **params):
        """Send the signed-in test client through /authorize; return the response."""
        return django_client.get(self.path_of(self.authorization_url(**params)))

    def fetch_token(self, callback_url: str, **kwargs) -> dict:
        return self.session.fetch_token(
            self.metadata["token_endpoint"], authorization_response=callback_url,
            code_verifier=self.code_verifier, **kwargs,
        )

    def jwks(self) -> dict:
        return requests.get(self.metadata["jwks_uri"], timeout=10).json()

    def verify_id_token(self, id_token: str, *, nonce: str | None = None, refreshed: bool = False) -> dict:
        """Verify the signature with the published JWKS, then iss, aud, exp and (unless the token
        came from a refresh, which carries none) the nonce."""
        token = jwt.decode(id_token, KeySet.import_key_set(self.jwks()), algorithms=["RS256"])
        expected = {
            "iss": {"essential": True, "value": self.metadata["issuer"]},
            "aud": {"essential": True, "value": self.client.client_id},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if not refreshed:
            expected["nonce"] = {"essential": True, "value": nonce or self.nonce}
        jwt.JWTClaimsRegistry(**expected).validate(token.claims)
        return token.claims


# RFC 7636's example S256 challenge: for requests whose code is never redeemed.
PKCE_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def authorize_path(client: Client, **extra: str) -> str:
    """An /oauth/authorize address the client could send a browser to (scope openid, PKCE S256), for tests
    that follow the browser in-process rather than through a RelyingParty."""
    return "/oauth/authorize?" + urlencode({
        "client_id": client.client_id, "response_type": "code", "redirect_uri": client.redirect_uri,
        "scope": "openid", "code_challenge": PKCE_CHALLENGE, "code_challenge_method": "S256", **extra})


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}


def sign_in_code(rp: RelyingParty, django_client, **params) -> str:
    """The callback URL the provider redirected to, after asserting it is the client's."""
    response = django_client.get(rp.path_of(rp.authorization_url(**params)))
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.startswith(rp.client.redirect_uri), location
    return location
