"""Passkey sign-in cost (issue #11): passwordless passkey sign-ins per server CPU-second beside password
sign-ins, measured on the same server in the same run.

    .venv/bin/python bench/passkey_login.py                       # production, 200 users, 600 of each kind
    .venv/bin/python bench/passkey_login.py --servers production,gunicorn-gthread4 --signins 1000

--servers takes bench/oidc.py's server shapes (`production`: granian as config/server.py starts it).

Set up as bench/login.py sets up (bench/oidc.py's helpers, loaded by path), on its own database
`gatehouse_bench_passkey` (dropped and made again): migrate, collectstatic, `seed_demo --force`, then --users
members of Acme Corp with a real Argon2id password hash at the production parameters: `password-N@acme.test`
(no second factor: the password alone signs in) and `passkey-N@acme.test` with one synced passkey whose
P-256 key is derived from the address, so the load generator signs for it without sharing state with the
seeder. The issuer is http://localhost:<port> (WebAuthn needs a
host name); the load generator still connects to 127.0.0.1 only. Each iteration is a fresh browser:

  password  GET /login (CSRF token), POST the credentials, GET the page it redirects to
  passkey   GET /login (CSRF token), POST /passkeys/login/options, sign the challenge as a software
            authenticator (cryptography ECDSA P-256, no counter, user verified), POST /passkeys/login/verify,
            GET the page it answers with

The claim to check: a passkey sign-in (verification only: one ECDSA P-256 verify) costs less server CPU
than a password sign-in, because there is no Argon2id. The table gives server and PostgreSQL ms per
sign-in of each kind and their ratio.
"""

import sys
from pathlib import Path

# Run as `python bench/passkey_login.py`: bench/ first on sys.path would let bench/email.py shadow the
# standard library's `email`; take bench/ off and load bench/oidc.py and bench/login.py by path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import base64  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

ROOT = _HERE.parent
PASSWORD = "bench-password-1234"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOGIN = _load("login")  # its Browser, one_signin, argon2_bound and CSRF_RE


# ---------------------------------------------------------------------------------------- the authenticator


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def passkey_key(email: str) -> ec.EllipticCurvePrivateKey:
    """The bench user's passkey key, derived from the address (the seeder stores its public half)."""
    scalar = int.from_bytes(hashlib.sha256(f"gatehouse-bench-passkey:{email}".encode()).digest(), "big")
    return ec.derive_private_key(scalar % (2**255) + 1, ec.SECP256R1())


def credential_id(email: str) -> bytes:
    return hashlib.sha256(f"gatehouse-bench-credential:{email}".encode()).digest()[:16]


def user_handle(email: str) -> str:
    return b64url(hashlib.sha256(f"gatehouse-bench-handle:{email}".encode()).digest())


def assertion(email: str, options: dict, origin: str) -> dict:
    """What navigator.credentials.get() would answer: flags UP|UV|BE|BS, counter 0 (a synced passkey)."""
    rp_hash = hashlib.sha256(options["rpId"].encode()).digest()
    auth_data = rp_hash + bytes([0x01 | 0x04 | 0x08 | 0x10]) + struct.pack(">I", 0)
    client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"], "origin": origin,
                              "crossOrigin": False}).encode()
    signature = passkey_key(email).sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
    raw_id = b64url(credential_id(email))
    return {"id": raw_id, "rawId": raw_id, "type": "public-key", "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature),
                         # The user.id given at registration is the handle's text (identity/passkeys).
                         "userHandle": b64url(user_handle(email).encode())}}


class Browser(LOGIN.Browser):
    """bench/login.py's browser, plus JSON POSTs with the CSRF header (as static/console/passkeys.js sends)."""

    def post_json(self, path: str, payload: dict, csrf: str, origin: str) -> tuple[int, dict]:
        body = json.dumps(payload).encode()
        headers = {"User-Agent": LOGIN.USER_AGENT, "Accept": "application/json", "Content-Type": "application/json",
                   "X-CSRFToken": csrf, "Origin": origin,
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(LOGIN.HOST, self.port, timeout=10)
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, val = value.split(";", 1)[0].partition("=")
                self.cookies[key.strip()] = val
        return response.status, json.loads(data or b"{}")


def one_passkey_signin(port: int, email: str) -> dict:
    origin = f"http://localhost:{port}"
    browser = Browser(port)
    try:
        status, _, html = browser.request("GET", "/login")
        LOGIN._expect(status, 200, "GET /login")
        csrf = LOGIN.CSRF_RE.search(html).group(1)
        status, options = browser.post_json("/passkeys/login/options", {}, csrf, origin)
        LOGIN._expect(status, 200, f"POST /passkeys/login/options {options}")
        status, answer = browser.post_json("/passkeys/login/verify",
                                           {"credential": assertion(email, options, origin)}, csrf, origin)
        LOGIN._expect(status, 200, f"POST /passkeys/login/verify {answer}")
        status, _, _ = browser.request("GET", answer["redirect"])
        LOGIN._expect(status, 200, f"GET {answer['redirect']}")
        return {"consent": 0}
    finally:
        browser.close()


def loadgen(spec_path: str) -> None:
    """The load generator process: READY, wait for a line, run, print one JSON line."""
    spec = json.loads(Path(spec_path).read_text())
    port, count, users = spec["port"], spec["count"], spec["users"]
    action = one_passkey_signin if spec["kind"] == "passkey" else LOGIN.one_signin
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "errors": {}, "latency": []}
    print("READY", flush=True)
    sys.stdin.readline()
    started = time.monotonic()
    deadline = started + spec["seconds"]

    def worker():
        while time.monotonic() < deadline:
            with lock:
                if state["next"] >= count:
                    return
                index = state["next"]
                state["next"] += 1
            began = time.monotonic()
            try:
                action(port, users[index % len(users)])
            except Exception as exc:  # reported, never hidden: any error fails the run
                with lock:
                    state["errors"][str(exc)[:120]] = state["errors"].get(str(exc)[:120], 0) + 1
                continue
            with lock:
                state["done"] += 1
                state["latency"].append(time.monotonic() - began)

    threads = [threading.Thread(target=worker) for _ in range(spec["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latency = sorted(state["latency"]) or [0.0]
    print(json.dumps({"done": state["done"], "errors": state["errors"], "wall_s": time.monotonic() - started,
                      "p50_ms": 1000 * latency[len(latency) // 2],
                      "p99_ms": 1000 * latency[min(len(latency) - 1, int(len(latency) * 0.99))]}), flush=True)


# ---------------------------------------------------------------------------------------- setup


SEED_USERS = """
import hashlib, sys
from cryptography.hazmat.primitives.asymmetric import ec
import cbor2
from django.contrib.auth.hashers import get_hasher, make_password
from directory.models import User
from identity.passkeys.models import Passkey, PasskeyUser
from orgs.models import Membership, Organization
from webauthn.helpers import bytes_to_base64url
count, password = int(sys.argv[1]), sys.argv[2]
acme = Organization.objects.get(slug="acme")
def member(email):
    user, _ = User.objects.get_or_create(email=email, defaults={"full_name": email.split("@")[0]})
    user.password = make_password(password)  # a fresh salt each: the first PASSWORD_HASHERS entry
    user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, org=acme, defaults={"role": Membership.Role.MEMBER})
    return user
for i in range(count):
    member(f"password-{i}@acme.test")
    email = f"passkey-{i}@acme.test"
    user = member(email)
    # bench/passkey_login.py passkey_key, credential_id, user_handle
    scalar = int.from_bytes(hashlib.sha256(f"gatehouse-bench-passkey:{email}".encode()).digest(), "big")
    numbers = ec.derive_private_key(scalar % (2**255) + 1, ec.SECP256R1()).public_key().public_numbers()
    cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
    handle = bytes_to_base64url(hashlib.sha256(f"gatehouse-bench-handle:{email}".encode()).digest())
    PasskeyUser.objects.update_or_create(user=user, defaults={"handle": handle})
    Passkey.objects.filter(user=user).delete()
    Passkey.objects.create(user=user, name="Bench", public_key=cose, backup_eligible=True, backed_up=True,
        credential_id=bytes_to_base64url(hashlib.sha256(f"gatehouse-bench-credential:{email}".encode()).digest()[:16]))
hasher = get_hasher("default")
print(hasher.algorithm, *(getattr(hasher, name, 0) for name in ("time_cost", "memory_cost", "parallelism")))
"""


def run_load(port: int, kind: str, count: int, concurrency: int, seconds: float, users: list[str], work: Path,
             meters=()) -> dict:
    spec_file = work / f"spec-{kind}-{port}.json"
    spec_file.write_text(json.dumps({"port": port, "kind": kind, "count": count, "concurrency": concurrency,
                                     "seconds": seconds, "users": users}))
    return LOGIN.drive_loadgen(Path(__file__).resolve(), spec_file, seconds, meters)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default="production", help="bench/oidc.py's server shapes, comma-separated")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--signins", type=int, default=600, help="sign-ins of each kind")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=120, help="bound on each measured run")
    parser.add_argument("--argon2-seconds", type=float, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    args.access_log = True  # production logs every request: the application's access log, to a file
    args.worker_class, args.threads, args.blocking_threads = "sync", 1, 1

    bench = LOGIN._load_oidc_bench()
    database = "gatehouse_bench_passkey"
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-passkey-"))
    var_dir = work / "var"
    var_dir.mkdir()
    shapes = args.servers.split(",")
    ports = {shape: bench.free_port() for shape in shapes}
    env = bench.server_env(database, ports[shapes[0]], var_dir)
    LOGIN.database_make(bench, env, database)
    bench.log(f"{args.users} users with Argon2id hashes and a passkey each")
    seeded = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + SEED_USERS,
                             str(args.users), PASSWORD], cwd=ROOT, env=env, check=True, capture_output=True,
                            text=True).stdout.split()
    time_cost, memory_cost, parallelism = map(int, seeded[1:4])
    users = {kind: [f"{kind}-{i}@acme.test" for i in range(args.users)] for kind in ("password", "passkey")}
    postmaster = bench.postmaster_pid(database)
    LOGIN.PASSWORD = PASSWORD

    rows = []
    for shape in shapes:
        port = ports[shape]
        process = bench.start_server(shape, {**env, "GATEHOUSE_ISSUER": f"http://localhost:{port}",
                                             "PORT": str(port)}, port, args, work)
        try:
            argon2_s = LOGIN.argon2_bound(time_cost, memory_cost, parallelism, args.argon2_seconds)
            bench.log(f"{shape}: Argon2id verify {1000 * argon2_s:.1f} ms CPU")
            # Warm-up: workers import and connect; every user's sessions and counters exist once.
            for kind in ("password", "passkey"):
                warm = run_load(port, kind, min(args.users, 100), args.concurrency, args.seconds, users[kind], work)
                if warm["errors"]:
                    raise SystemExit(f"warm-up errors ({kind}): {warm['errors']}")
            for kind in ("password", "passkey"):
                meters = (bench.ProcessGroupCPU(bench.server_pids(process.pid)),
                          bench.ProcessGroupCPU(bench.postgres_pids(postmaster, database)))
                result = run_load(port, kind, args.signins, args.concurrency, args.seconds, users[kind], work,
                                  meters)
                server_s, pg_s = result.pop("cpu")
                done = result["done"]
                row = {"server": shape, "kind": kind, **result, "server_cpu_s": server_s, "pg_cpu_s": pg_s,
                       "argon2_ms": 1000 * argon2_s,
                       "per_server_cpu_s": done / server_s if server_s else 0.0,
                       "server_ms_each": 1000 * server_s / done if done else 0.0,
                       "pg_ms_each": 1000 * pg_s / done if done else 0.0}
                rows.append(row)
                bench.log(f"{shape} {kind}: {done} done, {row['per_server_cpu_s']:.1f}/server CPU-s "
                          f"({row['server_ms_each']:.1f} ms each, PG {row['pg_ms_each']:.1f} ms), "
                          f"errors {result['errors']}")
        finally:
            bench.stop_server(process)

    print()
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    print(f"Argon2id t={time_cost} m={memory_cost} p={parallelism}; {args.workers} workers; "
          f"concurrency {args.concurrency}; loadavg {' '.join(loadavg)}")
    print("| server | kind | done | per server CPU-s | server ms each | PG ms each | Argon2 ms | p50 ms | p99 ms "
          "| errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['server']} | {row['kind']} | {row['done']} | {row['per_server_cpu_s']:.1f} | "
              f"{row['server_ms_each']:.1f} | {row['pg_ms_each']:.1f} | {row['argon2_ms']:.1f} | "
              f"{row['p50_ms']:.0f} | {row['p99_ms']:.0f} | {sum(row['errors'].values())} |")
    for shape in shapes:
        by_kind = {row["kind"]: row for row in rows if row["server"] == shape}
        if by_kind.get("password", {}).get("server_ms_each") and by_kind.get("passkey", {}).get("server_ms_each"):
            ratio = by_kind["passkey"]["server_ms_each"] / by_kind["password"]["server_ms_each"]
            print(f"\n{shape}: a passkey sign-in costs {ratio:.2f}× the server CPU of a password sign-in "
                  f"({'less' if ratio < 1 else 'NOT less'}).")
    print(f"\nlogs: {work}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--loadgen":
        loadgen(sys.argv[2])
    else:
        raise SystemExit(main())
