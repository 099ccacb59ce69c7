"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests and bench/email.py."""

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A loopback port nobody listens on right now (also what an SMTP server that is down looks like)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    message_id: str


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.sink.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        while not self.sink.gate.is_set():  # a test may hold messages "in flight" at the server
            await asyncio.sleep(0.005)
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), message, str(message["Message-ID"] or ""))
        with self.sink.lock:
            self.sink.received.append(received)
            self.sink.counts[received.message_id] += 1
        return "250 Message accepted for delivery"


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 in a thread of this process. Counts duplicates by Message-ID."""

    def __init__(self, *, delay: float = 0.0):
        self.port = free_port()
        self.delay = delay
        self.refuse: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.counts: Counter = Counter()  # copies received per Message-ID
        self._controller: Controller | None = None

    def start(self) -> "SmtpSink":
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(self.counts)

    def duplicates(self) -> int:
        """Copies received beyond the first, over all Message-IDs."""
        return sum(n - 1 for n in self.message_ids().values())

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until `count` distinct Message-IDs have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.message_ids()) >= count:
                return True
            time.sleep(0.02)
        return False
