"""Where a sign-in's server CPU goes, request by request (issue #14 item 5: "profile first").

    .venv/bin/python bench/login_steps.py                      # 40 hosted sign-ins and 40 flows
    .venv/bin/python bench/login_steps.py --count 100 --verbose   # and each step's SQL, once

bench/login.py gives the figures (a server, a load, per server CPU-second); this tells which request of a
sign-in costs what. It prepares its own database (`gatehouse_bench_steps`) as bench/login.py does (migrate,
collectstatic, seed_demo, --users members of Acme Corp with Argon2id hashes at the production parameters),
then, in this process, sends bench/login.py's two kinds through config.wsgi.application — the callable the
web server calls, so the access log and the WSGI fast paths are in — with a cookie jar per browser:

  hosted  GET /login, POST /login (the redirect not followed)
  flow    GET /oauth/authorize (hr-portal, PKCE S256, openid profile email) → GET /login?next=… → POST
          /login, whose answer carries the code (the first time a user signs in to the app, it sends the
          browser to GET /oauth/authorize → POST the consent form instead) → POST /oauth/token with the code

For each step: its process CPU (time.process_time) less the Argon2id verify's (measured around
argon2-cffi's verify_secret, which Django's hasher calls), and its SQL statements. The Argon2id line is that
verify alone. Each user signs in to the app once before the measured flows, so their consent is remembered,
as in bench/login.py's runs. CPU figures move with this machine's speed; compare lines of one run, and the
statements, which do not move.
"""

import sys
from pathlib import Path

# Run as `python bench/login_steps.py`, bench/ comes first on sys.path, where bench/email.py would shadow the
# standard library's `email` (urllib imports it): take bench/ off, and load the other benchmarks by path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import base64  # noqa: E402
import cProfile  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402
from urllib.parse import parse_qs, urlencode, urlsplit  # noqa: E402

ROOT = _HERE.parent
DATABASE = "gatehouse_bench_steps"
HOST = "127.0.0.1"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Meter:
    """Per step: process CPU less the password hash's, the hash's own, statements, and (once) their SQL."""

    def __init__(self, verbose: bool, profiled: str = ""):
        self.cpu: dict[str, float] = defaultdict(float)
        self.hashing: dict[str, float] = defaultdict(float)
        self.statements: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.sql: dict[str, list[str]] = {}
        self.verbose = verbose
        # --profile: one cProfile (on process time) over every measured request of that step
        self.profiled, self.profile = profiled, cProfile.Profile(time.process_time)
        self.step = ""
        self.suffix = ""  # --ab-lean: appended to each step's name
        self._hash_s = 0.0
        self._this_sql: list[str] = []

    def time_hash(self, verify):
        def timed(*args, **kwargs):
            began = time.process_time()
            try:
                return verify(*args, **kwargs)
            finally:
                self._hash_s += time.process_time() - began
        return timed

    def count_sql(self, execute, sql, params, many, context):
        self._this_sql.append(sql)
        return execute(sql, params, many, context)

    def begin(self, step: str) -> float:
        self.step, self._hash_s, self._this_sql = step + self.suffix, 0.0, []
        if self.step == self.profiled:
            self.profile.enable()
        return time.process_time()

    def end(self, began: float) -> None:
        spent = time.process_time() - began
        if self.step == self.profiled:
            self.profile.disable()
        self.cpu[self.step] += spent - self._hash_s
        self.hashing[self.step] += self._hash_s
        self.statements[self.step] += len(self._this_sql)
        self.calls[self.step] += 1
        if self.verbose and self.step not in self.sql:
            self.sql[self.step] = self._this_sql

    def reset(self) -> None:
        for table in (self.cpu, self.hashing, self.statements, self.calls, self.sql):
            table.clear()
        self.profile = cProfile.Profile(time.process_time)


class Browser:
    """A cookie jar calling the WSGI application directly."""

    def __init__(self, application, meter: Meter, connection):
        self.application, self.meter, self.connection = application, meter, connection
        self.cookies: dict[str, str] = {}

    def request(self, step: str, method: str, target: str, form: dict | None = None,
                headers: dict | None = None) -> tuple[int, str, str]:
        path, _, query = target.partition("?")
        body = urlencode(form).encode() if form is not None else b""
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": HOST,
            "SERVER_PORT": "8000", "HTTP_HOST": HOST, "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "REMOTE_ADDR": HOST, "HTTP_USER_AGENT": USER_AGENT, "HTTP_ACCEPT": "text/html",
            "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.5", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        }
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if form is not None:
            environ.update({"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body))})
            if not headers:  # a browser's form; the app's server sends its token request without these
                environ.update({"HTTP_ORIGIN": f"http://{HOST}", "HTTP_REFERER": f"http://{HOST}{target}"})
        for name, value in (headers or {}).items():
            environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
        answer: dict = {}

        def start_response(status, response_headers, exc_info=None):
            answer["status"], answer["headers"] = int(status[:3]), response_headers

        began = self.meter.begin(step)
        with self.connection.execute_wrapper(self.meter.count_sql):
            content = b"".join(self.application(environ, start_response))
        self.meter.end(began)
        location = ""
        for name, value in answer["headers"]:
            if name.lower() == "set-cookie":
                cookie = SimpleCookie()
                cookie.load(value)
                self.cookies.update({key: morsel.value for key, morsel in cookie.items()})
            elif name.lower() == "location":
                location = value
        return answer["status"], location, content.decode(errors="replace")


def _local(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _expect(status: int, wanted: int, step: str) -> None:
    if status != wanted:
        raise RuntimeError(f"{step}: {status}, expected {wanted}")


def hosted(browser: Browser, email: str) -> None:
    status, _, html = browser.request("GET /login", "GET", "/login")
    _expect(status, 200, "GET /login")
    token = CSRF_RE.search(html).group(1)
    status, _, _ = browser.request("POST /login", "POST", "/login",
                                   {"csrfmiddlewaretoken": token, "email": email, "password": PASSWORD})
    _expect(status, 302, "POST /login")


def flow(browser: Browser, email: str) -> None:
    verifier, query = authorize_query()
    status, location, _ = browser.request("1 authorize", "GET", f"/oauth/authorize?{query}")
    _expect(status, 302, "GET /oauth/authorize")
    login_path = _local(location)
    status, _, html = browser.request("2 sign-in page", "GET", login_path)
    _expect(status, 200, "GET /login?next=")
    next_url = parse_qs(urlsplit(login_path).query)["next"][0]
    form = {"csrfmiddlewaretoken": CSRF_RE.search(html).group(1), "email": email, "password": PASSWORD,
            "next": next_url}
    status, location, _ = browser.request("3 POST /login", "POST", login_path, form)
    _expect(status, 302, "POST /login")
    if not location.startswith(REDIRECT_URI):  # the code comes from /oauth/authorize, asked again
        authorize_path = _local(location)
        status, location, html = browser.request("4 authorize again", "GET", authorize_path)
        if status == 200:  # the consent page: a user's first sign-in to the app
            consent = dict(HIDDEN_RE.findall(html))
            consent["allow"] = "true"
            status, location, _ = browser.request("4b consent", "POST", authorize_path, consent)
        _expect(status, 302, "authorize after sign-in")
    code = parse_qs(urlsplit(location).query)["code"][0]
    basic = base64.b64encode(b"hr-portal:hr-portal-secret").decode()
    browser.cookies.clear()  # the app's server, not the browser
    status, _, body = browser.request("5 token", "POST", "/oauth/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
    }, headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
    _expect(status, 200, "POST /oauth/token")
    if '"id_token"' not in body:
        raise RuntimeError("token response without id_token")


def report(title: str, meter: Meter, count: int) -> None:
    print(f"\n{title}, {count} of them: CPU per request, less the password hash's (ms), and SQL statements\n")
    print("| step | CPU ms | statements |")
    print("|---|---:|---:|")
    groups: dict[str, list[str]] = defaultdict(list)  # --ab-lean's halves, each with its own total
    for step in sorted(meter.cpu):
        groups[step[step.find(" ["):] if " [" in step else ""].append(step)
    for suffix, steps in sorted(groups.items()):
        runs = max(meter.calls[step] for step in steps)  # the sign-ins of this half
        for step in steps:
            calls = meter.calls[step]
            shown = "" if calls == runs else f" ({calls} of {runs})"
            print(f"| {step}{shown} | {1000 * meter.cpu[step] / calls:.2f} | {meter.statements[step] / calls:.1f} |")
        total_cpu = sum(meter.cpu[step] for step in steps) / runs
        total_statements = sum(meter.statements[step] for step in steps) / runs
        hash_s = sum(meter.hashing[step] for step in steps) / runs
        print(f"| **all but the hash{suffix}** | **{1000 * total_cpu:.2f}** | **{total_statements:.1f}** |")
        print(f"| Argon2id verify{suffix} | {1000 * hash_s:.2f} | |")
    for step, statements in meter.sql.items():
        print(f"\n{step}:")
        for sql in statements:
            print(f"    {sql[:200]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=40, help="measured sign-ins and flows (each)")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--database", default=DATABASE, help=f"database to (re)create (default {DATABASE})")
    parser.add_argument("--verbose", action="store_true", help="print each step's SQL (its first call)")
    parser.add_argument("--profile", metavar="STEP", default="",
                        help='profile that step\'s requests (e.g. "POST /login") and print the costliest functions')
    parser.add_argument("--ab-lean", action="store_true",
                        help="every other sign-in with GATEHOUSE_LEAN_PATHS off (steps marked so): what the lean "
                             "paths save, measured interleaved, so the host's drift falls on both alike")
    parser.add_argument("--profile-out", metavar="FILE", default="",
                        help="with --profile, also write the profile to FILE (pstats: callers, callees)")
    args = parser.parse_args()

    bench = _load("oidc")
    work = Path(tempfile.mkdtemp(prefix="gatehouse-steps-"))
    env = bench.server_env(args.database, bench.free_port(), work / "var")
    env["GATEHOUSE_ISSUER"], env["GATEHOUSE_ACCESS_LOG"] = f"http://{HOST}", str(work / "access.log")
    bench.log(f"Creating database {args.database} (dropping any previous one)")
    bench.psql("postgres", f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    bench.psql("postgres", f'CREATE DATABASE "{args.database}"')
    bench.log("migrate, collectstatic, seed_demo --force")
    for command in (("migrate", "--noinput", "-v", "0"), ("collectstatic", "--noinput", "-v", "0"),
                    ("seed_demo", "--force")):
        bench.manage(env, *command)
    bench.log(f"{args.users} users with Argon2id hashes")
    subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + SEED_USERS, str(args.users), PASSWORD],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    import argon2._password_hasher
    from django.conf import settings
    from django.db import connection

    from config.wsgi import application
    from identity.oidc.lean_guard import lean_paths_enabled

    meter = Meter(args.verbose, args.profile)
    # Django's Argon2 hasher calls argon2-cffi's PasswordHasher.verify, which calls this name.
    argon2._password_hasher.verify_secret = meter.time_hash(argon2._password_hasher.verify_secret)
    users = [f"load-{i}@acme.test" for i in range(args.users)]
    for email in users:  # warm-up: caches, prepared statements, and every user's consent to hr-portal
        flow(Browser(application, meter, connection), email)
        hosted(Browser(application, meter, connection), email)
    for title, kind in (("Hosted sign-in", hosted), ("Authorization-code flow", flow)):
        meter.reset()
        for i in range(args.count):
            if args.ab_lean:  # every other sign-in with the lean paths off: both halves see the same host
                # Not override_settings: its setting_changed signal empties the caches the requests keep.
                settings.GATEHOUSE_LEAN_PATHS = i % 2 == 0
                lean_paths_enabled.cache_clear()
                meter.suffix = "" if settings.GATEHOUSE_LEAN_PATHS else " [lean paths off]"
            kind(Browser(application, meter, connection), users[i % len(users)])
        report(title, meter, args.count)
        if meter.profile.getstats():
            print(f"\n{args.profile}: the costliest functions, by their own time and with what they call\n")
            stats = pstats.Stats(meter.profile, stream=sys.stdout)
            if args.profile_out:
                stats.dump_stats(args.profile_out)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
    return 0


_login = _load("login")
CSRF_RE, HIDDEN_RE, PASSWORD, REDIRECT_URI, SEED_USERS, USER_AGENT = (
    _login.CSRF_RE, _login.HIDDEN_RE, _login.PASSWORD, _login.REDIRECT_URI, _login.SEED_USERS, _login.USER_AGENT)
authorize_query = _login.authorize_query

if __name__ == "__main__":
    sys.exit(main())
