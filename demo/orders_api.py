"""The demo's Orders API: a resource server that accepts Gatehouse's access tokens through gatehouse-sdk.

    make demo-rp                  (starts it beside the demo relying party, on 127.0.0.1:4005)
    .venv/bin/python -m demo.orders_api     (alone)

`GET /orders` needs the scope `orders:read` and answers a few made-up orders of the token's subject;
`POST /orders` needs `orders:write` (granted to nobody in the demo data, so it answers 403
insufficient_scope). Tokens are RFC 9068 JWTs whose `aud` must be https://orders.acme.test, verified
with the issuer's JWKS by gatehouse-sdk's core ResourceServer; the errors (401, 403, 400, 503) and their
`WWW-Authenticate` challenges are the SDK's.

A plain WSGI application served by the standard library's wsgiref, so it adds no dependency.
Environment: GATEHOUSE_ISSUER (default http://localhost:$PORT, PORT defaulting to 8000, as for
`make run`) and DEMO_API_PORT (default 4005). Tests start it in-process with make_server().
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

# gatehouse-sdk is this repository's sdk/src, not a package installed into .venv: pytest puts it on the
# path (pyproject's pythonpath), and `make demo-rp` / `python -m demo.…` find it here. Installing it
# would need a build backend fetched from the network, which the hash-checked lock files rule out.
SDK_SRC = Path(__file__).resolve().parent.parent / "sdk" / "src"
if importlib.util.find_spec("gatehouse_sdk") is None:
    sys.path.insert(0, str(SDK_SRC))

from gatehouse_sdk import AccessToken, GatehouseError, InvalidRequest, ResourceServer  # noqa: E402
from gatehouse_sdk.checks import check_scope  # noqa: E402

AUDIENCE = "https://orders.acme.test"
DEFAULT_PORT = 4005
MAX_BODY_BYTES = 4 * 1024
ITEMS = ("Stapler", "Printer paper (5 reams)", "Desk lamp", "Whiteboard markers", "Ergonomic chair",
         "USB-C dock", "Coffee beans (1 kg)", "Notebook")
STATUSES = ("delivered", "shipped", "processing")

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def _json(start_response: StartResponse, status: int, body: dict,
          headers: dict[str, str] | None = None) -> Iterable[bytes]:
    payload = json.dumps(body, indent=2).encode("utf-8")
    # A dict, so that the SDK's error headers (Cache-Control among them) replace ours rather than repeat them.
    merged = {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {}),
              "Content-Length": str(len(payload))}
    start_response(_status_line(status), list(merged.items()))
    return [payload]


def sample_orders(subject: str) -> list[dict]:
    """Three made-up orders, the same for a subject every time (derived from it), different per subject."""
    seed = hashlib.sha256(subject.encode()).digest()
    return [
        {"id": f"ord_{seed[i * 4:i * 4 + 4].hex()}", "item": ITEMS[seed[i] % len(ITEMS)],
         "quantity": 1 + seed[i + 8] % 5, "status": STATUSES[i % len(STATUSES)]}
        for i in range(3)
    ]


class OrdersApi:
    """The WSGI application: routing, the SDK's checks, JSON answers."""

    def __init__(self, server: ResourceServer):
        self.server = server
        self._placed: dict[str, list[dict]] = {}  # orders placed with POST, by subject, in memory only
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if path == "/":
            return _json(start_response, 200, {"api": self.server.audience, "issuer": self.server.issuer,
                                               "routes": {"GET /orders": "orders:read",
                                                          "POST /orders": "orders:write"}})
        if path != "/orders":
            return _json(start_response, 404, {"error": "not_found", "error_description": f"No route {path}."})
        if method not in ("GET", "POST"):
            return _json(start_response, 405, {"error": "method_not_allowed",
                                               "error_description": f"{method} /orders is not supported."},
                         {"Allow": "GET, POST"})
        try:
            # RFC 9700 §2.5: a token in the URL leaks into logs; only the Authorization header counts.
            if "access_token" in parse_qs(environ.get("QUERY_STRING", "")):
                raise InvalidRequest("Send the access token in the Authorization header, not in the URL.")
            token = self.server.require(environ.get("HTTP_AUTHORIZATION"))
            if method == "GET":
                check_scope(token, "orders:read")
                return _json(start_response, 200, self.list_orders(token))
            check_scope(token, "orders:write")
            return self.place_order(token, environ, start_response)
        except GatehouseError as error:
            return _json(start_response, error.status, error.body(), error.headers(self.server.realm))

    def list_orders(self, token: AccessToken) -> dict:
        with self._lock:
            placed = list(self._placed.get(token.sub, ()))
        return {
            "for": {"sub": token.sub, "client_id": token.client_id, "org": token.org,
                    "kind": "person" if token.is_user else "machine"},
            "orders": sample_orders(token.sub) + placed,
        }

    def place_order(self, token: AccessToken, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY_BYTES:
            return _json(start_response, 400, {"error": "invalid_body",
                                               "error_description": "Send a JSON object of at most 4 KB."})
        try:
            body = json.loads(environ["wsgi.input"].read(length))
        except (ValueError, UnicodeDecodeError):
            body = None
        item = body.get("item") if isinstance(body, dict) else None
        quantity = body.get("quantity", 1) if isinstance(body, dict) else None
        if not isinstance(item, str) or not item.strip() or len(item) > 100 \
                or isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
            return _json(start_response, 400, {
                "error": "invalid_body",
                "error_description": 'Send {"item": "<at most 100 characters>", "quantity": <1 to 100>}.'})
        with self._lock:
            placed = self._placed.setdefault(token.sub, [])
            order = {"id": f"ord_new{len(placed) + 1}", "item": item.strip(), "quantity": quantity,
                     "status": "processing"}
            placed.append(order)
        return _json(start_response, 201, {"order": order})


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"orders-api: {format % args}\n")


class OrdersServer(ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per request: a JWKS fetch for one request must not hold up the rest."""

    daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, issuer: str,
                audience: str = AUDIENCE) -> OrdersServer:
    """Bind the Orders API (port 0: any free port) without serving yet; call serve_forever() on the result.
    Gatehouse is not contacted until a token arrives, so it may start after this does."""
    server = OrdersServer((host, port), _Handler)
    server.set_app(OrdersApi(ResourceServer(issuer=issuer.rstrip("/"), audience=audience)))
    return server


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    issuer = os.environ.get("GATEHOUSE_ISSUER") or f"http://localhost:{os.environ.get('PORT') or '8000'}"
    port = int(os.environ.get("DEMO_API_PORT") or DEFAULT_PORT)
    try:
        server = make_server("127.0.0.1", port, issuer=issuer)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"orders-api: port {port} is in use; stop what uses it or set DEMO_API_PORT", file=sys.stderr)
            return 1
        raise
    print(f"orders-api: serving {server.url} — {AUDIENCE}, tokens from {issuer}; Ctrl-C stops", flush=True)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\norders-api: stopped", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
