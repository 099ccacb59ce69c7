"""gatehouse-sdk: in-process verifications per CPU-second of an RS256 access token with cached JWKS.

    .venv/bin/python bench/sdk_verify.py                 # about 3 CPU-seconds, prints the figure
    .venv/bin/python bench/sdk_verify.py --seconds 10 --tokens 5000

Serves discovery and a JWKS (one RSA-2048 key) from a local HTTP server thread, lets one verification
fetch them, then times `ResourceServer.verify` over a pool of distinct tokens (own jti each, real
Gatehouse-shaped claims) with time.process_time. Every call does the whole check (shape, header, key
lookup, RSA signature, claims); the SDK caches parsed keys, never verification results.
"""

import sys
from pathlib import Path

# Run as `python bench/<name>.py`, bench/ comes first on sys.path, where bench/email.py would shadow
# the standard library's `email` (which urllib imports).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "sdk" / "src"))

import argparse  # noqa: E402
import json  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

import jwt  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from gatehouse_sdk import ResourceServer  # noqa: E402

AUDIENCE = "https://api.example.test"


def serve(documents: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU-seconds to measure (default 3)")
    parser.add_argument("--tokens", type=int, default=1000, help="distinct tokens in the pool (default 1000)")
    args = parser.parse_args()

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    documents: dict[str, bytes] = {}
    http = serve(documents)
    issuer = f"http://127.0.0.1:{http.server_address[1]}"
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "use": "sig", "alg": "RS256"}
    documents["/.well-known/openid-configuration"] = json.dumps(
        {"issuer": issuer, "jwks_uri": f"{issuer}/.well-known/jwks.json"}
    ).encode()
    documents["/.well-known/jwks.json"] = json.dumps({"keys": [jwk]}).encode()

    now = int(time.time())
    claims = {
        "iss": issuer, "sub": "3f2c9a1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", "aud": AUDIENCE, "client_id": "hr-portal",
        "scope": "openid profile email orders:read", "exp": now + 3600, "iat": now, "nbf": now,
        "auth_time": now - 60, "org": "acme", "groups": ["engineering"], "roles": ["orders:viewer"],
    }
    headers = {"typ": "at+jwt", "kid": "k1"}
    pool = [
        jwt.encode({**claims, "jti": uuid.uuid4().hex}, key, algorithm="RS256", headers=headers)
        for _ in range(args.tokens)
    ]
    server = ResourceServer(issuer=issuer, audience=AUDIENCE)
    server.verify(pool[0])  # fetches discovery and JWKS once; everything after is in process

    verified = 0
    start = time.process_time()
    deadline = start + args.seconds
    while time.process_time() < deadline:
        for token in pool:
            server.verify(token)
        verified += len(pool)
    elapsed = time.process_time() - start
    http.shutdown()
    print(f"gatehouse-sdk verify (RS256, 2048-bit, cached JWKS): {verified} tokens in {elapsed:.2f} CPU-s "
          f"= {verified / elapsed:,.0f} per CPU-second")


if __name__ == "__main__":
    main()
