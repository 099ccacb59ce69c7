"""A real webhook receiver for tests and bench/webhooks.py: an HTTP server on 127.0.0.1 (a thread) that
checks each request's signature with the `standardwebhooks` library, as a customer's endpoint would.

It answers 204 to a verified request, 401 to one whose signature does not verify, and whatever
`status` says otherwise (set it to 503 to play a receiver that is down, or stop() it to refuse
connections). Every request is kept: `received` (verified payloads with their headers) and `rejected`.
"""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    webhook_id: str
    timestamp: str
    payload: dict
    headers: dict


@dataclass
class Receiver:
    secret: str | None = None  # set once the endpoint exists (the secret is shown at creation)
    status: int = 204
    delay: float = 0.0  # seconds to wait before answering (a slow receiver)
    received: list[Delivery] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    port: int = 0

    def __post_init__(self):
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/gatehouse"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                headers = {key.lower(): value for key, value in self.headers.items()}
                status = receiver.status
                if status < 300:
                    try:
                        payload = Webhook(receiver.secret or "whsec_").verify(body, headers)
                    except (WebhookVerificationError, ValueError) as exc:
                        with receiver._lock:
                            receiver.rejected.append(str(exc))
                        status = 401
                    else:
                        with receiver._lock:
                            receiver.received.append(Delivery(headers["webhook-id"], headers["webhook-timestamp"],
                                                              payload, headers))
                self.send_response(status)
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

    def ids(self) -> list[str]:
        with self._lock:
            return [delivery.webhook_id for delivery in self.received]

    def payloads(self) -> list[dict]:
        with self._lock:
            return [delivery.payload for delivery in self.received]


