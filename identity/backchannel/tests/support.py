"""A real HTTP receiver on 127.0.0.1 (an RP's back-channel logout endpoint) and helpers to use apps in a session."""

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import jwt

from applications.services import application_create
from identity.backchannel.token import LOGOUT_EVENT


@dataclass
class Received:
    path: str
    content_type: str
    form: dict[str, list[str]]


@dataclass
class Receiver:
    """An HTTP server in a thread that records every POST and answers with `status`."""

    status: int = 200
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.requests.append(Received(self.path, self.headers.get("Content-Type", ""), parse_qs(body)))
                self.send_response(receiver.status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, paid by every test that stops one.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/backchannel-logout"

    def tokens(self) -> list[str]:
        return [request.form["logout_token"][0] for request in self.requests]


def make_app(org, *, client_id: str, logout_uri: str = "", kind: str = "web"):
    """A trusted (no consent) sign-in app of `org`, with a back-channel logout URI if given."""
    created = application_create(org=org, name=client_id, kind=kind, client_id=client_id,
                                 redirect_uris=[f"https://{client_id}.example/callback"],
                                 backchannel_logout_uri=logout_uri)
    app = created.application
    app.skip_authorization = True
    app.save(update_fields=["skip_authorization"])
    return app


def use_app(client, app) -> None:
    """Sign in to `app` from the signed-in test client's session: a real /oauth/authorize that issues a code."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"response_type": "code", "client_id": app.client_id, "scope": "openid",
                       "redirect_uri": app.redirect_uris.split()[0], "state": "s", "nonce": "n",
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    response = client.get(f"/oauth/authorize?{query}")
    assert response.status_code == 302, response.content[:300]
    assert "code=" in response["Location"], response["Location"]


def verify_logout_token(token: str, *, jwks: dict, issuer: str, client_id: str) -> dict:
    """Verify as an RP would (Back-Channel Logout 1.0 §2.6): signature from JWKS, typ, iss, aud, iat, exp,
    the logout event, and no nonce. Returns the claims."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "logout+jwt"
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(token, key=key.key, algorithms=["RS256"], audience=client_id, issuer=issuer,
                        options={"require": ["iss", "aud", "iat", "exp", "jti"]})
    assert claims["events"] == {LOGOUT_EVENT: {}}
    assert "nonce" not in claims
    return claims
