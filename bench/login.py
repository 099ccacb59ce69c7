"""Sign-in speed (issue #14 item 5): hosted sign-ins and authorization-code flows per server CPU-second,
beside the Argon2id bound measured in the same run.

    .venv/bin/python bench/login.py                 # production, then gunicorn-gthread4: 600 sign-ins + 300 flows
    .venv/bin/python bench/login.py --servers production --signins 1000 --flows 500 --concurrency 4
    .venv/bin/python bench/login.py --servers production --totp           # password + authenticator code

--servers takes bench/oidc.py's server shapes: `production` is granian as config/server.py starts it (2
workers of 2 threads here); `gunicorn-gthread4`, gunicorn as production ran it before, is the comparison.
Every shape writes the application's access log to a file in the work directory, as production logs
every request.

Set up as bench/oidc.py sets up (its helpers, loaded by path): database `gatehouse_bench` dropped and made
again, migrate, collectstatic, `seed_demo --force`, Redis db 2 (cache, sessions, counters) and 3 (broker).
Then --users members of Acme Corp (`load-N@acme.test`), each with a real Argon2id hash at the production
parameters (the first PASSWORD_HASHERS entry). A load generator (this file with `--loadgen SPEC`, its own
process, 127.0.0.1 only, bounded by count and --seconds) keeps --concurrency "browsers" busy, each a fresh
cookie jar per iteration:

  hosted   GET /login (CSRF token from the form), POST the credentials: issue #14's "hosted sign-in"
  sign-in  as hosted, then GET the page it redirects to (what a browser does next)
  flow     GET /oauth/authorize (hr-portal, PKCE S256, openid profile email), GET /login?next=..., POST the
           credentials, whose answer carries the code (or, the first time, sends the browser to GET
           /oauth/authorize again and POST the consent form), then POST /oauth/token with the code (HTTP
           Basic hr-portal:hr-portal-secret)

With --totp (issue #11), --users more members (`totp-N@acme.test`) each get an authenticator app (a TOTP
secret derived from the address, encrypted at rest like any other) and a third measured kind runs:

  signin-totp  as sign-in, then the second-factor step: the password's answer is its code form, so
               POST /login/verify with the code of the time step

A code is accepted once per user and time step, so the load generator keeps each user's last step (in the
run's work directory, across runs) and waits for the next step when a user comes round again too soon.
Issue #11's figure: server ms each of signin-totp minus that of signin, at most 5 ms.

The Argon2 bound: CPU seconds per argon2-cffi verify at the same parameters, in one process, measured just
before each server's runs (nothing else of ours is running then). The figure is
(sign-ins per server CPU-second) / (verifies per CPU-second); the issue's target is >= 0.8. Beside it, for
reading that ratio: one verify's CPU when --workers processes of 2 threads verify at once, as the server
does under this load (they share the cores' caches, and each verify walks 19 MiB).
"""

import sys
from pathlib import Path

# Run as `python bench/login.py`, bench/ comes first on sys.path, where bench/email.py would shadow the
# standard library's `email` (urllib imports it): take bench/ off, and load bench/oidc.py by path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import base64  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import http.client  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import parse_qs, urlencode, urlsplit  # noqa: E402

ROOT = _HERE.parent
HOST = "127.0.0.1"  # the only host the load generator talks to
PASSWORD = "bench-password-1234"
REDIRECT_URI = "http://127.0.0.1:4003/auth/callback"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _load_oidc_bench():
    spec = importlib.util.spec_from_file_location("bench_oidc", _HERE / "oidc.py")
    module = importlib.util.module_from_spec(spec)  # database, servers and CPU metering
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------- load generator


class Browser:
    """One browser: a cookie jar and a kept-alive connection (reopened when the server closes it)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        body = urlencode(form).encode() if form is not None else None
        sent = {"User-Agent": USER_AGENT, "Accept": "text/html", "Accept-Language": "en"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Origin"] = f"http://{HOST}:{self.port}"
        sent.update(headers or {})
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=10)
            try:
                self.conn.request(method, path, body=body, headers=sent)
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
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if val in ('""', "") or "max-age=0" in value.lower():
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return response.status, response.getheader("Location", ""), data.decode(errors="replace")

    def close(self):
        if self.conn is not None:
            self.conn.close()


def _local(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _expect(status: int, wanted: int, step: str):
    if status != wanted:
        raise RuntimeError(f"{step}: HTTP {status}")


def _password_post(browser: Browser, email: str) -> tuple[int, str, str]:
    """GET /login, then POST the credentials with its CSRF token: (status, Location, body) of the POST."""
    status, _, html = browser.request("GET", "/login")
    _expect(status, 200, "GET /login")
    token = CSRF_RE.search(html).group(1)
    return browser.request("POST", "/login", {"csrfmiddlewaretoken": token, "email": email, "password": PASSWORD,
                                              "next": ""})


def one_hosted_signin(port: int, email: str) -> dict:
    """Issue #14's "hosted sign-in": GET /login and POST the credentials; the redirect is not followed."""
    browser = Browser(port)
    try:
        status, _, _ = _password_post(browser, email)
        _expect(status, 302, "POST /login")
        return {"consent": 0}
    finally:
        browser.close()


def one_signin(port: int, email: str) -> dict:
    browser = Browser(port)
    try:
        status, location, html = _password_post(browser, email)
        location = second_factor(browser, status, location, html, email)
        status, _, _ = browser.request("GET", _local(location))
        _expect(status, 200, f"GET {_local(location)}")
        return {"consent": 0}
    finally:
        browser.close()


TOTP_STEP = 30
VERIFY_PATH = "/login/verify"


def totp_key(email: str) -> bytes:
    """The bench user's TOTP secret (20 bytes), derived from the address: the seeder stores it, this computes codes."""
    return hashlib.sha1(f"gatehouse-bench-totp:{email}".encode()).digest()


def totp_code(key: bytes, step: int) -> str:
    """RFC 6238 (SHA-1, 6 digits) for time step `step`: what an authenticator app shows."""
    digest = hmac.new(key, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


class TotpSteps:
    """Each user's last accepted time step: the server accepts a code once, and at most one step ahead."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.last: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}

    def next_code(self, email: str) -> str:
        while True:
            now = int(time.time()) // TOTP_STEP
            with self.lock:
                step = max(now, self.last.get(email, -1) + 1)
                if step <= now + 1:
                    self.last[email] = step
                    return totp_code(totp_key(email), step)
            time.sleep((now + 1) * TOTP_STEP - time.time() + 0.05)

    def save(self) -> None:
        self.path.write_text(json.dumps(self.last))


TOTP_STEPS: TotpSteps | None = None  # set by the load generator when the spec names a steps file


def second_factor(browser: Browser, status: int, location: str, html: str, email: str) -> str:
    """After POST /login: answer the second-factor step when the password's answer is its code form (a user
    with an authenticator app), else follow the redirect; returns where the sign-in goes next."""
    if status == 302:
        return location
    _expect(status, 200, "POST /login")
    if f'action="{VERIFY_PATH}"' not in html:
        raise RuntimeError("POST /login: neither a redirect nor the second-factor step")
    token = CSRF_RE.search(html).group(1)
    status, location, _ = browser.request("POST", VERIFY_PATH, {"csrfmiddlewaretoken": token, "kind": "totp",
                                                                "code": TOTP_STEPS.next_code(email)})
    _expect(status, 302, "POST /login/verify")
    return location


def authorize_query() -> tuple[str, str]:
    """A flow's PKCE verifier, and its /oauth/authorize query: hr-portal, S256, openid profile email
    (also bench/login_steps.py's)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, urlencode({"response_type": "code", "client_id": "hr-portal", "redirect_uri": REDIRECT_URI,
                                "scope": "openid profile email", "state": secrets.token_urlsafe(16),
                                "nonce": secrets.token_urlsafe(16), "code_challenge": challenge,
                                "code_challenge_method": "S256"})


def one_flow(port: int, email: str) -> dict:
    browser = Browser(port)
    try:
        verifier, query = authorize_query()
        status, location, _ = browser.request("GET", f"/oauth/authorize?{query}")
        _expect(status, 302, "GET /oauth/authorize")
        login_path = _local(location)
        status, _, html = browser.request("GET", login_path)
        _expect(status, 200, "GET /login?next=")
        next_url = parse_qs(urlsplit(login_path).query)["next"][0]
        token = CSRF_RE.search(html).group(1)
        status, location, html = browser.request("POST", login_path, {"csrfmiddlewaretoken": token, "email": email,
                                                                      "password": PASSWORD, "next": next_url})
        location = second_factor(browser, status, location, html, email)
        consent = 0
        if not location.startswith(REDIRECT_URI):  # the code comes from /oauth/authorize, asked again
            authorize_path = _local(location)
            status, location, html = browser.request("GET", authorize_path)
            if status == 200:  # the consent page
                consent = 1
                form = dict(HIDDEN_RE.findall(html))
                form["allow"] = "true"
                status, location, _ = browser.request("POST", authorize_path, form)
            _expect(status, 302, "authorize after sign-in")
        code = parse_qs(urlsplit(location).query)["code"][0]
        basic = base64.b64encode(b"hr-portal:hr-portal-secret").decode()
        status, _, body = browser.request("POST", "/oauth/token", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier}, headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
        _expect(status, 200, "POST /oauth/token")
        if "id_token" not in json.loads(body):
            raise RuntimeError("token response without id_token")
        return {"consent": consent}
    finally:
        browser.close()


def loadgen(spec_path: str) -> None:
    """The load generator process: READY, wait for a line, run, print one JSON line."""
    spec = json.loads(Path(spec_path).read_text())
    port, kind, count, users = spec["port"], spec["kind"], spec["count"], spec["users"]
    action = {"flow": one_flow, "hosted": one_hosted_signin}.get(kind, one_signin)
    global TOTP_STEPS
    TOTP_STEPS = TotpSteps(Path(spec["totp_steps"])) if spec.get("totp_steps") else None
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "consent": 0, "errors": {}, "latency": []}
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
                outcome = action(port, users[(spec["offset"] + index) % len(users)])
            except Exception as exc:  # reported, never hidden: any error fails the run
                with lock:
                    state["errors"][str(exc)[:80]] = state["errors"].get(str(exc)[:80], 0) + 1
                continue
            with lock:
                state["done"] += 1
                state["consent"] += outcome["consent"]
                state["latency"].append(time.monotonic() - began)

    threads = [threading.Thread(target=worker) for _ in range(spec["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if TOTP_STEPS is not None:
        TOTP_STEPS.save()
    latency = sorted(state["latency"]) or [0.0]
    print(json.dumps({"done": state["done"], "consent": state["consent"], "errors": state["errors"],
                      "wall_s": time.monotonic() - started,
                      "p50_ms": 1000 * latency[len(latency) // 2],
                      "p99_ms": 1000 * latency[min(len(latency) - 1, int(len(latency) * 0.99))]}), flush=True)


# ---------------------------------------------------------------------------------------- setup


SEED_USERS = """
import sys
from django.contrib.auth.hashers import get_hasher, make_password
from directory.models import User
from orgs.models import Membership, Organization
count, password = int(sys.argv[1]), sys.argv[2]
acme = Organization.objects.get(slug="acme")
for i in range(count):
    user, _ = User.objects.get_or_create(email=f"load-{i}@acme.test", defaults={"full_name": f"Load User {i}"})
    user.password = make_password(password)  # a fresh salt each: the first PASSWORD_HASHERS entry
    user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, org=acme, defaults={"role": Membership.Role.MEMBER})
if len(sys.argv) > 3 and sys.argv[3] == "totp":
    import hashlib
    from config.encryption import encrypt
    from identity.mfa.models import TotpDevice
    for i in range(count):
        user, _ = User.objects.get_or_create(email=f"totp-{i}@acme.test", defaults={"full_name": f"TOTP User {i}"})
        user.password = make_password(password)
        user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, org=acme, defaults={"role": Membership.Role.MEMBER})
        key = hashlib.sha1(f"gatehouse-bench-totp:{user.email}".encode()).hexdigest()  # bench/login.py totp_key
        TotpDevice.objects.filter(user=user).delete()
        TotpDevice.objects.create(user=user, name="Bench", confirmed=True, encrypted_key=encrypt(key))
hasher = get_hasher("default")
print(hasher.algorithm, hasher.time_cost, hasher.memory_cost, hasher.parallelism, user.password.split("$")[3])
"""


def argon2_bound(time_cost: int, memory_cost: int, parallelism: int, seconds: float) -> float:
    """CPU seconds per Argon2id verify at these parameters, in this process (argon2-cffi, as Django uses)."""
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)
    encoded = hasher.hash(PASSWORD)
    hasher.verify(encoded, PASSWORD)
    runs, began = 0, time.process_time()
    while time.process_time() - began < seconds:
        hasher.verify(encoded, PASSWORD)
        runs += 1
    return (time.process_time() - began) / runs


def _verify_while(args: tuple) -> tuple[float, int]:
    """In a pool process: `threads` threads verify until `seconds` of wall time have passed; this process's
    CPU seconds and the verifies done."""
    time_cost, memory_cost, parallelism, threads, seconds = args
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)
    encoded = hasher.hash(PASSWORD)
    counts = [0] * threads
    began, cpu = time.monotonic(), time.process_time()

    def loop(index: int) -> None:
        while time.monotonic() - began < seconds:
            hasher.verify(encoded, PASSWORD)
            counts[index] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.process_time() - cpu, sum(counts)


def argon2_loaded(time_cost: int, memory_cost: int, parallelism: int, processes: int, threads: int,
                  seconds: float) -> float:
    """CPU seconds per verify when `processes` x `threads` verify at once, as the server's workers do under
    load: each verify touches its own 19 MiB, and several at once share the cores' caches, so each costs
    more than argon2_bound's lone verify. For reading the ratio to the bound, not part of it."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.map(_verify_while, [(time_cost, memory_cost, parallelism, threads, seconds)] * processes)
    return sum(cpu for cpu, _ in results) / max(1, sum(done for _, done in results))


def run_load(bench, port: int, kind: str, count: int, concurrency: int, seconds: float, users: list[str],
             offset: int, work: Path, meters=()) -> dict:
    spec_file = work / f"spec-{kind}-{port}-{offset}.json"
    spec_file.write_text(json.dumps({"port": port, "kind": kind, "count": count, "concurrency": concurrency,
                                     "seconds": seconds, "users": users, "offset": offset,
                                     "totp_steps": str(work / "totp-steps.json")}))
    return drive_loadgen(Path(__file__).resolve(), spec_file, seconds, meters)


def drive_loadgen(script: Path, spec_file: Path, seconds: float, meters=()) -> dict:
    """Start `script --loadgen SPEC` (its own process), wait for READY, start the meters, say go, and return
    its JSON result with each meter's reading under "cpu" (also bench/passkey_login.py's driver)."""
    loader = subprocess.Popen([sys.executable, str(script), "--loadgen", str(spec_file)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if loader.stdout.readline().strip() != "READY":
            raise SystemExit("the load generator did not start")
        for meter in meters:
            meter.begin()
        loader.stdin.write("go\n")
        loader.stdin.flush()
        result = json.loads(loader.stdout.readline())
        result["cpu"] = [meter.end() for meter in meters]
    finally:
        try:
            loader.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            loader.kill()
            loader.wait()
    return result


def database_make(bench, env: dict, database: str) -> None:
    """`database` made again, migrated, with the static files and the demo data (bench/passkey_login.py too)."""
    bench.log(f"Creating database {database} (dropping any previous one)")
    bench.psql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    bench.psql("postgres", f'CREATE DATABASE "{database}"')
    bench.log("migrate, collectstatic, seed_demo --force")
    bench.manage(env, "migrate", "--noinput", "-v", "0")
    bench.manage(env, "collectstatic", "--noinput", "-v", "0")
    bench.manage(env, "seed_demo", "--force")


def prepare(bench, env: dict, database: str, count: int, totp: bool = False):
    """The database as every run here starts (database_make), and `count` members of Acme Corp with Argon2id
    hashes at the production parameters (and `count` more with an authenticator app when `totp`). Returns
    ((time_cost, memory_cost, parallelism), users, TOTP users)."""
    database_make(bench, env, database)
    bench.log(f"{count} users with Argon2id hashes")
    seeded = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + SEED_USERS,
                             str(count), PASSWORD, "totp" if totp else ""], cwd=ROOT, env=env,
                            check=True, capture_output=True, text=True).stdout.split()
    algorithm, time_cost, memory_cost, parallelism, params = seeded[0], *map(int, seeded[1:4]), seeded[4]
    bench.log(f"hasher {algorithm} t={time_cost} m={memory_cost} p={parallelism}; stored {params}")
    users = [f"load-{i}@acme.test" for i in range(count)]
    totp_users = [f"totp-{i}@acme.test" for i in range(count)] if totp else []
    return (time_cost, memory_cost, parallelism), users, totp_users


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default="production,gunicorn-gthread4",
                        help="bench/oidc.py's server shapes, comma-separated (default: production's and the "
                             "gunicorn shape it replaced)")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--signins", type=int, default=600)
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=120, help="bound on each measured run")
    parser.add_argument("--argon2-seconds", type=float, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json")
    parser.add_argument("--totp", action="store_true",
                        help="also measure sign-ins with password + authenticator code (users with an app)")
    args = parser.parse_args()
    args.access_log = True  # production logs every request: the application's access log, to a file
    args.worker_class, args.threads, args.blocking_threads = "sync", 1, 1

    bench = _load_oidc_bench()
    database = "gatehouse_bench"
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-login-"))
    var_dir = work / "var"
    var_dir.mkdir()
    shapes = args.servers.split(",")
    ports = {shape: bench.free_port() for shape in shapes}
    env = bench.server_env(database, ports[shapes[0]], var_dir)
    (time_cost, memory_cost, parallelism), users, totp_users = prepare(bench, env, database, args.users, args.totp)
    postmaster = bench.postmaster_pid(database)

    rows = []
    for shape in shapes:
        port = ports[shape]
        process = bench.start_server(shape, {**env, "GATEHOUSE_ISSUER": f"http://127.0.0.1:{port}",
                                             "PORT": str(port)}, port, args, work)
        try:
            argon2_s = argon2_bound(time_cost, memory_cost, parallelism, args.argon2_seconds)
            bench.log(f"{shape}: Argon2id verify {1000 * argon2_s:.1f} ms CPU ({1 / argon2_s:.1f}/CPU-s)")
            loaded_s = argon2_loaded(time_cost, memory_cost, parallelism, args.workers, 2, args.argon2_seconds)
            bench.log(f"{shape}: Argon2id verify with {args.workers} processes x 2 threads at once: "
                      f"{1000 * loaded_s:.1f} ms CPU each")
            # Warm-up: every user signs in once through the flow, so the consent is on record and later
            # flows are the common case (a returning user); workers import and connect.
            warm = run_load(bench, port, "flow", len(users), args.concurrency, args.seconds, users, 0, work)
            if warm["errors"]:
                raise SystemExit(f"warm-up errors: {warm['errors']}")
            kinds = [("hosted", args.signins, users), ("signin", args.signins, users), ("flow", args.flows, users)]
            if totp_users:
                warm = run_load(bench, port, "signin-totp", len(totp_users), args.concurrency, args.seconds,
                                totp_users, 0, work)
                if warm["errors"]:
                    raise SystemExit(f"warm-up errors (totp): {warm['errors']}")
                kinds.insert(1, ("signin-totp", args.signins, totp_users))
            for kind, count, kind_users in kinds:
                meters = (bench.ProcessGroupCPU(bench.server_pids(process.pid)),
                          bench.ProcessGroupCPU(bench.postgres_pids(postmaster, database)))
                result = run_load(bench, port, kind, count, args.concurrency, args.seconds, kind_users, 0, work,
                                  meters)
                server_s, pg_s = result.pop("cpu")
                done = result["done"]
                row = {"server": shape, "kind": kind, **result, "server_cpu_s": server_s, "pg_cpu_s": pg_s,
                       "argon2_ms": 1000 * argon2_s, "argon2_loaded_ms": 1000 * loaded_s,
                       "per_server_cpu_s": done / server_s if server_s else 0.0,
                       "server_ms_each": 1000 * server_s / done if done else 0.0,
                       "pg_ms_each": 1000 * pg_s / done if done else 0.0}
                row["ratio_to_bound"] = row["per_server_cpu_s"] * argon2_s
                rows.append(row)
                bench.log(f"{shape} {kind}: {done} done, {row['per_server_cpu_s']:.1f}/server CPU-s "
                          f"({row['server_ms_each']:.1f} ms each, PG {row['pg_ms_each']:.1f} ms), "
                          f"ratio to bound {row['ratio_to_bound']:.2f}, consent {result['consent']}, "
                          f"errors {result['errors']}")
        finally:
            bench.stop_server(process)

    print()
    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    print(f"Argon2id t={time_cost} m={memory_cost} p={parallelism}; {args.workers} workers; "
          f"concurrency {args.concurrency}; loadavg {' '.join(loadavg)}")
    print("| server | kind | done | per server CPU-s | server ms each | PG ms each | Argon2 ms | Argon2 ms, "
          "loaded | ratio to bound | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['server']} | {row['kind']} | {row['done']} | {row['per_server_cpu_s']:.1f} | "
              f"{row['server_ms_each']:.1f} | {row['pg_ms_each']:.1f} | {row['argon2_ms']:.1f} | "
              f"{row['argon2_loaded_ms']:.1f} | {row['ratio_to_bound']:.2f} | {row['p50_ms']:.0f} | "
              f"{row['p99_ms']:.0f} | {sum(row['errors'].values())} |")
    print("\n'Argon2 ms, loaded': one verify's CPU while the server's workers and threads all verify at once. "
          "A sign-in behind the server pays about that, so the ratio to bound stays under "
          "Argon2 ms / Argon2 ms, loaded even if nothing but the hash cost anything.")
    print(f"\nlogs: {work}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--loadgen":
        loadgen(sys.argv[2])
    else:
        raise SystemExit(main())
