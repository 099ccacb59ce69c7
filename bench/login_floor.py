"""Gatehouse's hosted sign-in and authorization-code flow beside the least a stock Django project costs for
them, interleaved (issue #14 item 5).

    .venv/bin/python bench/login_floor.py                       # 6 rounds of 300 sign-ins and 200 flows, per server
    .venv/bin/python bench/login_floor.py --rounds 10 --kinds hosted

Issue #14 asks for hosted sign-ins at >= 0.8 of the Argon2id bound (a sign-in may cost a quarter of its hash
besides it) and for 25 flows per server CPU-second. This measures what a stock project pays for the same on
this stack. bench/floor/ is a Django project that does only what every sign-in does (Django's security,
session, CSRF and auth middleware; a form; ModelBackend's one SELECT; the hash; login(): `update_last_login`
and the session's row in PostgreSQL; a redirect), with Gatehouse's own hasher at production's parameters, and
answers the code flow with stock django-oauth-toolkit (OIDC on, PKCE, RS256 ID tokens; one client that
skips consent, its secret unhashed). It is served by granian in production's shape (config/server.py's
command line, --workers processes of 2 threads). Nothing else: no throttle, lockout, audit, device list,
branding, second factor, org rules, claims, access log or content security policy.

Both servers run at once and take turns, as in bench/login_ab.py: each round sends --round-signins hosted
sign-ins, then --round-flows flows (bench/login.py's kinds and load generator) to one server, then to the
other (ABBA), and reads each server's CPU from /proc over its own batch. Each round starts by measuring
the Argon2id bound again (one verify's CPU alone, in this process, for --argon2-seconds, as bench/login.py
does once per server): the host drifts within minutes, and a ratio is only as good as the bound it divides.
A server's ratio to the bound is that round's verify over its server ms a sign-in. How far the floor's own
ratio is above 0.8 is what the target leaves Gatehouse for everything it adds.

Databases: `gatehouse_bench_vs_floor` (Gatehouse: bench/login.py's `prepare`, Redis databases 2 and 3) and
`gatehouse_bench_floor` (the floor: the same --users addresses and password, and the client `hr-portal` with
bench/login.py's redirect URI and secret), both dropped and made again. Logs go to a new
/tmp/gatehouse-bench-floor-* directory.
"""

import sys
from pathlib import Path

# As bench/login.py: bench/ off sys.path (bench/email.py would shadow the standard library's `email`).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

FLOOR_SETTINGS = "bench.floor.settings"
SEED_FLOOR = """
import sys
from django.contrib.auth.models import User
from oauth2_provider.models import Application
count, password, redirect_uri = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for i in range(count):
    email = f"load-{i}@acme.test"
    User.objects.create_user(username=email, email=email, password=password)
Application.objects.create(client_id="hr-portal", client_secret="hr-portal-secret", hash_client_secret=False,
                           client_type=Application.CLIENT_CONFIDENTIAL, redirect_uris=redirect_uri,
                           authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, skip_authorization=True,
                           algorithm=Application.RS256_ALGORITHM, name="HR portal")
print(User.objects.get(username="load-0@acme.test").password.split("$")[:4])
"""
KINDS = {"hosted": "sign-in", "flow": "flow"}


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    # Registered, so that bench/login.py's pool (argon2_loaded) can pickle its functions by module name.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def floor_prepare(bench, login, env: dict, users: int) -> None:
    """The floor's database made again, migrated, with `users` accounts as bench/login.py's (same addresses and
    password, each its own Argon2id hash at production's parameters) and its client."""
    database = env["DATABASE_URL"].rsplit("/", 1)[1]
    bench.log(f"Creating database {database} (dropping any previous one) for the floor")
    bench.psql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    bench.psql("postgres", f'CREATE DATABASE "{database}"')
    subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=login.ROOT, env=env,
                   check=True)
    stored = subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + SEED_FLOOR,
                             str(users), login.PASSWORD, login.REDIRECT_URI], cwd=login.ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    bench.log(f"floor: {users} users, hashes {stored}")


def floor_command(bench, port: int, workers: int) -> list[str]:
    """granian with production's command line (config/server.py), serving bench/floor's WSGI application."""
    if str(bench.ROOT) not in sys.path:
        sys.path.append(str(bench.ROOT))  # config/server.py, which needs no Django
    from config.server import granian_command

    command = granian_command(host="127.0.0.1", port=port, workers=workers, threads=bench.PRODUCTION_THREADS)
    command[-1] = "bench.floor.wsgi:application"
    return command


def report(kind: str, count: int, bound_ms: list[float], ms_each: dict, pg_each: dict) -> None:
    """One kind's table: each round's server ms for each server, the ratios to that round's bound (hosted
    sign-ins) or the figure per server CPU-second (flows), and Gatehouse over the floor."""
    median = statistics.median
    rows = list(zip(bound_ms, ms_each["gatehouse"], ms_each["floor"], strict=True))
    noun = KINDS[kind]

    def figure(bound: float, ms: float) -> str:  # issue #14's figure for this kind
        return f"{bound / ms:.2f}" if kind == "hosted" else f"{1000 / ms:.1f}/CPU-s"

    print(f"\n{count} {noun}s a round. Server ms a {noun} "
          f"({'ratio to the bound' if kind == 'hosted' else 'per server CPU-second'}):\n")
    print("| round | Argon2id alone, ms | Gatehouse | floor | Gatehouse / floor |")
    print("|---|---:|---:|---:|---:|")
    for number, (bound, gatehouse, floor) in enumerate(rows, 1):
        print(f"| {number} | {bound:.1f} | {gatehouse:.1f} ({figure(bound, gatehouse)}) | "
              f"{floor:.1f} ({figure(bound, floor)}) | {gatehouse / floor:.3f} |")
    gatehouse_ms, floor_ms, bound = median(ms_each["gatehouse"]), median(ms_each["floor"]), median(bound_ms)
    if kind == "hosted":
        gatehouse_fig = f"{median(b / g for b, g, _ in rows):.2f}"
        floor_fig = f"{median(b / f for b, _, f in rows):.2f}"
    else:
        gatehouse_fig, floor_fig = f"{1000 / gatehouse_ms:.1f}/CPU-s", f"{1000 / floor_ms:.1f}/CPU-s"
    ratios = [g / f for _, g, f in rows]
    print(f"| **median** | {bound:.1f} | **{gatehouse_ms:.1f}** ({gatehouse_fig}) | **{floor_ms:.1f}** ({floor_fig}) | "
          f"**{median(ratios):.3f}** ({min(ratios):.3f}–{max(ratios):.3f}) |")
    print(f"\nBesides the hash (each round's lone verify), medians: Gatehouse "
          f"{median(g - b for b, g, _ in rows):.1f} ms, the floor {median(f - b for b, _, f in rows):.1f} ms a {noun}. "
          f"PostgreSQL ms a {noun}: Gatehouse {median(pg_each['gatehouse']):.1f}, "
          f"the floor {median(pg_each['floor']):.1f}.")


def rsa_private_key_pem() -> str:
    """A new RSA key for the floor's ID tokens (2048 bits, as Gatehouse's signing keys)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--round-signins", type=int, default=300, help="hosted sign-ins per server per round")
    parser.add_argument("--round-flows", type=int, default=200, help="authorization-code flows per server per round")
    parser.add_argument("--kinds", default="hosted,flow", help="hosted, flow or both (comma-separated)")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120, help="bound on each batch")
    parser.add_argument("--argon2-seconds", type=float, default=2,
                        help="CPU seconds of verifies for each round's bound")
    args = parser.parse_args()
    kinds = [kind for kind in args.kinds.split(",") if kind]
    if not kinds or set(kinds) - set(KINDS):  # refused before any database is dropped and made
        parser.error(f"--kinds: hosted, flow or both, not {args.kinds!r}")
    counts = {"hosted": args.round_signins, "flow": args.round_flows}
    args.access_log = True  # as bench/login.py: Gatehouse logs every request, as in production
    args.worker_class, args.threads, args.blocking_threads = "sync", 1, 1

    login = _load("login")
    bench = login._load_oidc_bench()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-floor-"))
    (work / "var").mkdir()
    ports = {"gatehouse": bench.free_port(), "floor": bench.free_port()}
    databases = {"gatehouse": "gatehouse_bench_vs_floor", "floor": "gatehouse_bench_floor"}
    env = bench.server_env(databases["gatehouse"], ports["gatehouse"], work / "var")
    (time_cost, memory_cost, parallelism), users, _ = login.prepare(bench, env, databases["gatehouse"], args.users)
    floor_env = {**env, "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS,
                 "DATABASE_URL": env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + databases["floor"],
                 "GATEHOUSE_ISSUER": f"http://127.0.0.1:{ports['floor']}",
                 "FLOOR_OIDC_RSA_PRIVATE_KEY": rsa_private_key_pem()}
    floor_prepare(bench, login, floor_env, args.users)
    postmaster = bench.postmaster_pid(databases["gatehouse"])

    servers = {}
    try:
        servers["gatehouse"] = bench.start_server("production", env, ports["gatehouse"], args, work)
        servers["floor"] = bench.start_server("floor", floor_env, ports["floor"], args, work,
                                              command=floor_command(bench, ports["floor"], args.workers))
        loaded_s = login.argon2_loaded(time_cost, memory_cost, parallelism, args.workers, 2, args.argon2_seconds)
        bench.log(f"Argon2id verify {1000 * loaded_s:.1f} ms CPU with {args.workers} processes x 2 threads at once")
        for name in servers:  # warm-up: workers imported and connected, every user's consent on record
            warm = login.run_load(bench, ports[name], "flow", len(users), args.concurrency, args.seconds, users,
                                  0, work)
            if warm["errors"]:
                raise SystemExit(f"warm-up errors ({name}): {warm['errors']}")
        ms_each = {kind: {name: [] for name in servers} for kind in kinds}
        pg_each = {kind: {name: [] for name in servers} for kind in kinds}
        bound_ms: list[float] = []
        for round_no in range(args.rounds):
            bound_ms.append(1000 * login.argon2_bound(time_cost, memory_cost, parallelism, args.argon2_seconds))
            order = ("gatehouse", "floor") if round_no % 2 == 0 else ("floor", "gatehouse")
            for kind in kinds:
                for name in order:
                    meters = (bench.ProcessGroupCPU(bench.server_pids(servers[name].pid)),
                              bench.ProcessGroupCPU(bench.postgres_pids(postmaster, databases[name])))
                    offset = (round_no * counts[kind]) % len(users)
                    result = login.run_load(bench, ports[name], kind, counts[kind], args.concurrency, args.seconds,
                                            users, offset, work, meters)
                    server_s, pg_s = result.pop("cpu")
                    if result["errors"] or not result["done"]:
                        raise SystemExit(f"round {round_no + 1}, {kind} ({name}): {result['errors']}")
                    ms_each[kind][name].append(1000 * server_s / result["done"])
                    pg_each[kind][name].append(1000 * pg_s / result["done"])
            bench.log(f"round {round_no + 1}: Argon2id {bound_ms[-1]:.1f} ms; " + "; ".join(
                f"{KINDS[kind]}: Gatehouse {ms_each[kind]['gatehouse'][-1]:.1f} ms, "
                f"floor {ms_each[kind]['floor'][-1]:.1f} ms" for kind in kinds))
    finally:
        for process in servers.values():
            bench.stop_server(process)

    print(f"\nArgon2id t={time_cost} m={memory_cost} p={parallelism}, {1000 * loaded_s:.1f} ms loaded; "
          f"{args.rounds} rounds, {args.workers} workers, concurrency {args.concurrency}")
    for kind in kinds:
        report(kind, counts[kind], bound_ms, ms_each[kind], pg_each[kind])
    print(f"logs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
