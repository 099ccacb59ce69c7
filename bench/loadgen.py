"""A small closed-loop HTTP load generator for bench/oidc.py (standard library only).

Runs as its own process: `python bench/loadgen.py SPEC.json`. It connects only to 127.0.0.1, prints
`READY` once set up, waits for a line on stdin, then keeps `concurrency` requests in flight until
`requests` responses have arrived or `seconds` have passed, whichever comes first, and prints one JSON
line with the results. Any response that is not 2xx, and any connection error or timeout, counts as an
error and is reported by status.

Request kinds (SPEC["kind"]):
  static      the same request every time (discovery, JWKS, client credentials)
  bearer      GET with `Authorization: Bearer <token>`, tokens taken round-robin from SPEC["tokens"]
  refresh     POST grant_type=refresh_token; each connection starts from a token of SPEC["tokens"] and
              chains: the refresh token a response returns is the one its next request presents
"""

import sys
from pathlib import Path

# Run as `python bench/<name>.py`, bench/ comes first on sys.path, where a benchmark's module may
# shadow the standard library (bench/email.py shadows `email`, which urllib and Django import).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

HOST = "127.0.0.1"  # the only target this tool talks to
REQUEST_TIMEOUT_SECONDS = 10


class Spec:
    def __init__(self, raw: dict):
        self.port = int(raw["port"])
        self.kind = raw["kind"]
        self.method = raw.get("method", "GET")
        self.path = raw["path"]
        self.headers = dict(raw.get("headers", {}))
        self.body = raw.get("body", "")
        self.tokens = list(raw.get("tokens", []))
        self.concurrency = int(raw["concurrency"])
        self.requests = int(raw["requests"])
        self.seconds = float(raw["seconds"])


def build_request(spec: Spec, *, headers: dict | None = None, body: str = "") -> bytes:
    lines = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {HOST}:{spec.port}"]
    extra = {**spec.headers, **(headers or {})}
    if "User-Agent" not in extra:
        lines.append("User-Agent: gatehouse-bench")
    for name, value in extra.items():
        lines.append(f"{name}: {value}")
    data = body.encode()
    if spec.method == "POST":
        lines.append("Content-Type: application/x-www-form-urlencoded")
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    else:
        body = await reader.read()
    return status, headers, body


class Run:
    def __init__(self, spec: Spec):
        self.spec = spec
        self.issued = 0
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.error_samples: list[str] = []
        self.deadline = 0.0
        self.token_cursor = 0
        self.static_request = build_request(spec, body=spec.body) if spec.kind == "static" else b""

    def take(self) -> bool:
        if self.issued >= self.spec.requests or time.monotonic() >= self.deadline:
            return False
        self.issued += 1
        return True

    def next_pool_token(self) -> str | None:
        if self.token_cursor >= len(self.spec.tokens):
            return None
        token = self.spec.tokens[self.token_cursor]
        self.token_cursor += 1
        return token

    def error(self, key: str, detail: str = "") -> None:
        self.errors[key] = self.errors.get(key, 0) + 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{key}: {detail[:300]}")

    async def connection(self, index: int) -> None:
        spec = self.spec
        reader = writer = None
        refresh_token = self.next_pool_token() if spec.kind == "refresh" else None
        while self.take():
            if spec.kind == "static":
                request = self.static_request
            elif spec.kind == "bearer":
                token = spec.tokens[self.token_cursor % len(spec.tokens)]
                self.token_cursor += 1
                request = build_request(spec, headers={"Authorization": f"Bearer {token}"})
            else:
                if refresh_token is None:
                    self.error("no_refresh_token_left")
                    return
                request = build_request(spec, body=urlencode({"grant_type": "refresh_token",
                                                             "refresh_token": refresh_token}))
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, spec.port)
                writer.write(request)
                status, headers, body = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT_SECONDS)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
                self.error(type(exc).__name__, str(exc))
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            elapsed = time.perf_counter() - started
            if 200 <= status < 300:
                self.latencies.append(elapsed)
                if spec.kind == "refresh":
                    refresh_token = json.loads(body)["refresh_token"]
            else:
                self.error(str(status), body.decode("utf-8", "replace"))
                if spec.kind == "refresh":
                    refresh_token = self.next_pool_token()
            if headers.get("connection", "").lower() == "close":
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    async def run(self) -> dict:
        self.deadline = time.monotonic() + self.spec.seconds
        started = time.perf_counter()
        await asyncio.gather(*(self.connection(i) for i in range(self.spec.concurrency)))
        wall = time.perf_counter() - started
        ok = sorted(self.latencies)
        error_count = sum(self.errors.values())

        def pct(p: float) -> float:
            return ok[min(len(ok) - 1, int(p * len(ok)))] * 1000 if ok else 0.0

        return {
            "completed": len(ok) + error_count, "ok": len(ok), "errors": error_count, "errors_by_kind": self.errors,
            "error_samples": self.error_samples, "wall_seconds": wall,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": ok[-1] * 1000 if ok else 0.0,
        }


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = Spec(json.load(f))
    run = Run(spec)
    print("READY", flush=True)
    sys.stdin.readline()
    print(json.dumps(asyncio.run(run.run())), flush=True)


if __name__ == "__main__":
    main()
