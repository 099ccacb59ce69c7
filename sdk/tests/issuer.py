"""A real issuer for the SDK's tests: discovery, JWKS and introspection served on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "https://api.example.test"
API_CLIENT = ("orders-api", "orders-api-secret")

_RSA_KEYS: dict[int, rsa.RSAPrivateKey] = {}
FORGER = 99  # the rsa_key() of someone who is not the issuer


def rsa_key(index: int = 0) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make: each is made once and shared by every test."""
    if index not in _RSA_KEYS:
        _RSA_KEYS[index] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _RSA_KEYS[index]


def public_jwk(kid: str, key: Any, alg: str | None) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig")
    if alg:
        jwk["alg"] = alg
    return jwk


class Issuer:
    """Publishes its signing keys, mints tokens with them, rotates them and can go down."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, Any, str]] = [("key-1", rsa_key(0), "RS256")]
        self.hits: Counter[str] = Counter()
        self.active: dict[str, dict[str, Any]] = {}  # opaque token -> introspection answer
        self.extra_jwks: list[dict[str, Any]] = []
        issuer = self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(issuer))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.discovery_override: dict[str, Any] | None = None
        # A short poll so that stop() (shutdown) returns at once.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.005,), daemon=True)
        self._thread.start()

    # -- what it serves ---------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        if self.discovery_override is not None:
            return self.discovery_override
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/.well-known/jwks.json",
            "introspection_endpoint": f"{self.url}/oauth/introspect/",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(kid, key, alg) for kid, key, alg in self.keys] + self.extra_jwks}

    def introspect(self, authorization: str | None, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(":".join(API_CLIENT).encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        token = form.get("token", [""])[0]
        return 200, self.active.get(token, {"active": False})

    @staticmethod
    def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                issuer.hits[self.path] += 1
                if self.path == "/.well-known/openid-configuration":
                    self._send(200, issuer.discovery())
                elif self.path == "/.well-known/jwks.json":
                    self._send(200, issuer.jwks())
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                issuer.hits[self.path] += 1
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if self.path == "/oauth/introspect/":
                    self._send(*issuer.introspect(self.headers.get("Authorization"), form))
                else:
                    self._send(404, {"error": "not_found"})

        return Handler

    # -- what the tests do with it -----------------------------------------------------------------

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": "user-42",
            "aud": AUDIENCE,
            "client_id": "orders-web",
            "scope": "openid orders:read",
            "exp": now + 300,
            "iat": now,
            "nbf": now,
            "jti": uuid.uuid4().hex,
            "auth_time": now - 60,
            "org": {"id": "1", "slug": "acme"},
            "groups": ["engineering"],
            "roles": ["orders:viewer"],
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def mint(
        self, *, header: dict[str, Any] | None = None, key: Any = None, alg: str | None = None, **claims: Any
    ) -> str:
        """A token signed with the newest published key unless told otherwise; None drops a claim."""
        kid, signing_key, key_alg = self.keys[-1]
        headers = {"typ": "at+jwt", "kid": kid, **(header or {})}
        return jwt.encode(self.claims(**claims), key or signing_key, algorithm=alg or key_alg, headers=headers)

    def rotate(self, *, keep_old: bool = True, key: Any = None, alg: str = "RS256") -> str:
        kid = f"key-{len(self.keys) + 1}"
        new = (kid, key or rsa_key(len(self.keys)), alg)
        self.keys = [*self.keys, new] if keep_old else [new]
        return kid

    def add_ec_key(self) -> str:
        return self.rotate(key=ec.generate_private_key(ec.SECP256R1()), alg="ES256")

    def opaque(self, **overrides: Any) -> str:
        """An opaque token the introspection endpoint answers active for."""
        token = "gho_" + uuid.uuid4().hex
        answer = {"active": True, "token_type": "Bearer", **self.claims(**overrides)}
        self.active[token] = {name: value for name, value in answer.items() if value is not None}
        return token

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def refused_tokens(issuer: Issuer) -> dict[str, str]:
    """Tokens every integration must answer with 401 invalid_token, by what is wrong with them."""
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    public_pem = rsa_key(0).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header, payload = b64({"alg": "HS256", "typ": "at+jwt", "kid": "key-1"}), b64(issuer.claims())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return {
        "expired": issuer.mint(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200, nbf=None),
        "wrong audience": issuer.mint(aud="https://another-api.example.test"),
        "wrong issuer": issuer.mint(iss="https://evil.example.test"),
        "alg none": f"{b64({'alg': 'none', 'typ': 'at+jwt', 'kid': 'key-1'})}.{payload}.",
        "HS256 with the public key": f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}",
        "wrong typ": issuer.mint(header={"typ": "JWT"}),
        "an ID token": issuer.mint(header={"typ": None}),
        "wrong shape": "not-a-jwt",
        "huge": issuer.mint(padding="x" * 9000),
        "unknown kid": issuer.mint(header={"kid": "never-published"}),
        "forged": issuer.mint(key=rsa_key(FORGER)),
    }
