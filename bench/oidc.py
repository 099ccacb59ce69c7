"""OIDC endpoint benchmark: Gatehouse under granian or gunicorn on PostgreSQL + Redis, loaded from a second process.

    .venv/bin/python bench/oidc.py                  # everything: 5 scenarios x 1, 4, 16 connections
    .venv/bin/python bench/oidc.py --scenarios cc,jwks --concurrency 4 --requests 2000
    .venv/bin/python bench/oidc.py --profile-dir /tmp/prof   # also py-spy the workers (py-spy installed by hand)
    .venv/bin/python bench/oidc.py --servers production,gunicorn-gthread4 --rounds 3   # servers side by side

What it does (see bench/README.md): (re)creates the PostgreSQL database `gatehouse_bench` on
127.0.0.1:5432, migrates it, seeds the demo data, mints token pools (bench/mint_tokens.py), starts
each server shape of --servers on a free 127.0.0.1 port with the production environment (DATABASE_URL,
REDIS_URL, CELERY_BROKER_URL, SECRET_KEY, GATEHOUSE_ENCRYPTION_KEYS, GATEHOUSE_ISSUER, DEBUG off, and
the application's access log to a file), warms it up, then for each scenario and concurrency runs
bench/loadgen.py as its own process, bounded by a request count and a time limit. Around each run it
reads utime+stime from /proc for the server's master and workers and for the PostgreSQL processes
serving the bench database (its backends plus the cluster's auxiliary processes), and reports requests
per server CPU-second, PostgreSQL CPU-seconds per 1,000 requests, p50/p99 latency, requests per second
and errors. Results go to stdout as a Markdown table and, with --json, to a file. Nothing here is
collected by pytest or run in CI.

Server shapes (server_command): `production` is what the Dockerfile and compose.yaml run, granian through
config/server.py's command line, --workers processes of 2 threads (compose.yaml: WEB_CONCURRENCY=2,
the bench's default --workers), and the default. `gunicorn` with 2 sync workers is the baseline of
bench/RESULTS.md's older tables; gunicorn is a dev dependency now, kept for these comparisons.
"""

import sys
from pathlib import Path

# Run as `python bench/<name>.py`, bench/ comes first on sys.path, where a benchmark's module may
# shadow the standard library (bench/email.py shadows `email`, which urllib and Django import).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

SCENARIOS = {
    # name: (kind, method, path, headers, body, default request count per run)
    "cc": ("static", "POST", "/oauth/token",
           {"Authorization": "Basic " + base64.b64encode(b"acme-reports:acme-reports-secret").decode()},
           "grant_type=client_credentials", 3000),
    # The same machine, for the demo's Orders API: an RFC 9068 JWT, signed, never stored.
    "cc_jwt": ("static", "POST", "/oauth/token",
               {"Authorization": "Basic " + base64.b64encode(b"acme-reports:acme-reports-secret").decode()},
               "grant_type=client_credentials&scope=orders%3Aread", 3000),
    "discovery": ("static", "GET", "/.well-known/openid-configuration", {}, "", 8000),
    "jwks": ("static", "GET", "/.well-known/jwks.json", {}, "", 8000),
    "userinfo": ("bearer", "GET", "/oauth/userinfo", {}, "", 4000),
    # A browser's first visit to the sign-in page: the whole middleware stack, a template, a CSRF cookie.
    "login": ("static", "GET", "/login", {
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en-GB,en;q=0.9", "Accept-Encoding": "gzip, deflate, br",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none",
        "Upgrade-Insecure-Requests": "1"}, "", 2000),
    "refresh": ("refresh", "POST", "/oauth/token",
                {"Authorization": "Basic " + base64.b64encode(b"hr-portal:hr-portal-secret").decode()}, "", 2000),
}


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------- /proc


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of one process, in clock ticks; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5), counted after the ")"


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except OSError:
        return None


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


class ProcessGroupCPU:
    """CPU of a set of processes that may change while measuring: a background thread polls every
    0.2 s and keeps each pid's latest reading, so a process that exits mid-run keeps what it used
    until its last poll, and one that starts mid-run counts from zero."""

    def __init__(self, pick):
        self.pick = pick  # () -> iterable of pids
        self.start: dict[int, int] = {}
        self.latest: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _poll(self) -> None:
        for pid in self.pick():
            ticks = cpu_ticks(pid)
            if ticks is not None:
                self.latest[pid] = ticks

    def begin(self) -> None:
        self.latest = {}
        self._poll()
        self.start = dict(self.latest)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            self._poll()

    def end(self) -> float:
        self._stop.set()
        self._thread.join()
        self._poll()
        ticks = sum(latest - self.start.get(pid, 0) for pid, latest in self.latest.items())
        return ticks / CLK_TCK


def server_pids(master: int):
    """The server's master and every process under it (gunicorn's workers are its children; granian's
    are too, beside multiprocessing's helpers)."""
    def pick():
        parents = {pid: parent_of(pid) for pid in all_pids()}
        tree = {master}
        grew = True
        while grew:
            below = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= below
            grew = bool(below)
        return sorted(tree)
    return pick



def postgres_pids(postmaster: int, database: str):
    """The bench database's backends and the cluster's auxiliary processes (walwriter, checkpointer,
    background writer, autovacuum); other databases' backends on the same cluster are left out."""
    def pick():
        pids = []
        for pid in all_pids():
            if parent_of(pid) != postmaster:
                continue
            title = cmdline(pid)
            # A client backend's title: "postgres: 15/main: USER DATABASE HOST(PORT) STATE"
            words = title.split(":", 2)[-1].split()
            is_client_backend = len(words) >= 3 and "(" in words[2]
            if not is_client_backend or words[1] == database:
                pids.append(pid)
        return pids
    return pick


# ---------------------------------------------------------------------------------------- setup


def psql(database: str, sql: str) -> str:
    return subprocess.run(["psql", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["user"], "-d", database,
                           "-v", "ON_ERROR_STOP=1", "-tAc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def postmaster_pid(database: str) -> int:
    """The postmaster of the cluster on PG's port: the parent of a backend we hold open."""
    import psycopg

    with psycopg.connect(host=PG["host"], port=PG["port"], user=PG["user"], dbname=database) as conn:
        return parent_of(conn.info.backend_pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database: str, port: int, var_dir: Path) -> dict:
    from cryptography.fernet import Fernet

    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "GATEHOUSE_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{database}",
        "REDIS_URL": "redis://127.0.0.1:6379/2",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "GATEHOUSE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "GATEHOUSE_ISSUER": f"http://127.0.0.1:{port}",
        "GATEHOUSE_VAR_DIR": str(var_dir),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "PORT": str(port),
    })
    return env


def manage(env: dict, *args: str) -> str:
    return subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def prepare_database(env: dict, database: str, work: Path, pools: tuple[int, int]) -> dict:
    log(f"Creating database {database} (dropping any previous one)")
    psql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{database}"')
    log("migrate, collectstatic, seed_demo --force")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "seed_demo", "--force")
    stored = psql(database, "SELECT client_secret FROM applications_application WHERE client_id = 'acme-reports'")
    log(f"Minting {pools[0]} userinfo tokens and {pools[1]} refresh tokens")
    tokens_file = work / "tokens.json"
    subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "mint_tokens.py"), str(tokens_file), str(pools[0]),
                    str(pools[1])], cwd=ROOT, env=env, check=True)
    return {"secret_hash_prefix": stored.split("$", 1)[0] + "$", **json.loads(tokens_file.read_text())}


# Threads per worker in production: config/server.py's default (WEB_THREADS unset in the Dockerfile and compose.yaml).
PRODUCTION_THREADS = 2


def server_command(shape: str, port: int, args, work: Path) -> list[str]:
    """The command line of one server shape (bench/README.md, "Server shapes").

    production                granian as production starts it (config/server.py: `python -m config.server`),
                              --workers processes of 2 threads each: the same as granian-bt2
    granian[-bt<N>]           config.server.granian_command with --workers processes and N threads each
                              (`granian`: --blocking-threads)
    gunicorn                  --workers / --worker-class / --threads (default: 2 sync workers; the baseline
                              of bench/RESULTS.md's tables)
    gunicorn-sync             2 sync workers (--workers), one connection per request
    gunicorn-gthread<N>       gthread workers with N threads each (gunicorn-gthread4: production's shape
                              until granian replaced gunicorn)

    Every shape's access log is the application's (config/access_log.py, GATEHOUSE_ACCESS_LOG: start_server
    sets it), so gunicorn runs without --access-logfile, granian without --access-log.
    """
    tag = shape_tag(shape)
    if shape.startswith("gunicorn"):
        if shape == "gunicorn":
            worker_class, threads = args.worker_class, args.threads
        elif shape == "gunicorn-sync":
            worker_class, threads = "sync", 1
        elif shape.startswith("gunicorn-gthread") and shape[16:].isdigit():
            worker_class, threads = "gthread", int(shape[16:])
        else:
            raise SystemExit(f"unknown server shape {shape!r}")
        command = [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
                   str(args.workers), "--worker-class", worker_class, "--threads", str(threads),
                   "--graceful-timeout", "10", "--no-control-socket", "--error-logfile", str(work / f"{tag}-error.log")]
        return command
    if shape == "production":
        threads = PRODUCTION_THREADS
    elif shape == "granian":
        threads = args.blocking_threads
    elif shape.startswith("granian-bt") and shape[10:].isdigit():
        threads = int(shape[10:])
    else:
        raise SystemExit(f"unknown server shape {shape!r}")
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))  # config/server.py, which needs no Django
    from config.server import granian_command

    return granian_command(host="127.0.0.1", port=port, workers=args.workers, threads=threads)


def access_log_env(shape: str, args, work: Path, tag: str = "") -> dict[str, str]:
    """Where the application writes its access log (config/access_log.py): a file in the work directory,
    or nowhere with --no-access-log."""
    return {"GATEHOUSE_ACCESS_LOG": str(work / f"{shape_tag(shape)}{tag}-access.log") if args.access_log else "off"}


def shape_tag(shape: str) -> str:
    return shape.replace("/", "_")


STARTED: dict[str, list[str]] = {}  # shape -> the command that started it


def start_server(shape: str, env: dict, port: int, args, work: Path, *, root: Path = ROOT,
                 tag: str = "", command: list[str] | None = None) -> subprocess.Popen:
    """`shape` serving the code of the checkout at `root` (bench/login_ab.py starts another checkout's too;
    `tag` names its log files apart). `command`: a command line of the caller's instead of the shape's
    (bench/login_floor.py's stock Django project); it must answer GET /health/live too."""
    command = STARTED[shape] = command or server_command(shape, port, args, work)
    log(f"{shape}{tag}: {' '.join(command[1:])} (in {root})")
    output = (work / f"{shape_tag(shape)}{tag}-stdout.log").open("w")
    # gunicorn starts in the repository too; there is no gunicorn.conf.py there to read.
    process = subprocess.Popen(command, cwd=root, env={**env, **access_log_env(shape, args, work, tag)},
                               stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, process_group=0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), \
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=2) as response:
            if response.status == 200:
                return process
        if process.poll() is not None:
            raise SystemExit(f"{shape} exited with {process.returncode}; see {work}/{shape_tag(shape)}-*.log")
        time.sleep(0.2)
    raise SystemExit(f"{shape} did not answer /health/live within 30 s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()



# ---------------------------------------------------------------------------------------- runs


def run_load(port: int, scenario: str, concurrency: int, requests: int, seconds: float, tokens: list[str],
             work: Path, measure: tuple | None = None) -> dict:
    kind, method, path, headers, body, _ = SCENARIOS[scenario]
    spec_file = work / f"spec-{scenario}-{concurrency}.json"
    spec_file.write_text(json.dumps({"port": port, "kind": kind, "method": method, "path": path, "headers": headers,
                                     "body": body, "tokens": tokens, "concurrency": concurrency,
                                     "requests": requests, "seconds": seconds}))
    loader = subprocess.Popen([str(BIN / "python"), str(ROOT / "bench" / "loadgen.py"), str(spec_file)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if loader.stdout.readline().strip() != "READY":
            raise SystemExit("the load generator did not start")
        for meter in measure or ():
            meter.begin()
        loader.stdin.write("go\n")
        loader.stdin.flush()
        result = json.loads(loader.stdout.readline())
        cpu = [meter.end() for meter in measure or ()]
    finally:
        if loader.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                loader.wait(timeout=seconds + 30)
        if loader.poll() is None:
            loader.kill()
            loader.wait()
    if measure:
        result["server_cpu_s"], result["pg_cpu_s"] = cpu
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(name for name in SCENARIOS if name != "login"))
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--requests", type=int, default=0, help="per run; 0: each scenario's default")
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per run")
    parser.add_argument("--warmup", type=int, default=300, help="requests per scenario and server before measuring")
    parser.add_argument("--database", default="gatehouse_bench")
    parser.add_argument("--servers", default="production",
                        help="comma-separated server shapes (production, granian, granian-bt<N>, gunicorn, "
                             "gunicorn-sync, gunicorn-gthread<N>), all started at once and measured in turn, "
                             "run by run; default: production (granian, 2 threads a worker)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat every run this many times (the order of the servers rotates each round); "
                             "the tables show the medians")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", help="gunicorn, for the shape `gunicorn`")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn, for the shape `gunicorn`")
    parser.add_argument("--blocking-threads", type=int, default=1,
                        help="granian, for the shape `granian`: threads per worker")
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                        help="the application's access log (GATEHOUSE_ACCESS_LOG) to a file, as production logs "
                             "every request (default on)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--profile-dir", help="record each run's workers with py-spy (speedscope files) here")
    args = parser.parse_args()

    scenarios = args.scenarios.split(",")
    levels = [int(c) for c in args.concurrency.split(",")]
    shapes = args.servers.split(",")
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if len(set(shapes)) != len(shapes):
        parser.error("a server shape is named twice")
    per_run = {s: args.requests or SCENARIOS[s][5] for s in scenarios}
    userinfo_pool = 500
    refresh_pool = (((max(levels) + 50) * len(levels) * args.rounds + 4) * len(shapes) + args.warmup + 100
                    if "refresh" in scenarios else 0)

    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    ports = {shape: free_port() for shape in shapes}
    env = server_env(args.database, ports[shapes[0]], work / "var")
    prepared = prepare_database(env, args.database, work, (userinfo_pool, refresh_pool))
    if prepared["secret_hash_prefix"] != "gatehouse_secret_sha256$":
        log(f"NOTE: acme-reports' stored secret is hashed with {prepared['secret_hash_prefix']!r}, "
            "not gatehouse_secret_sha256$")
    refresh_tokens = iter(prepared["refresh"])

    def refresh_slice(n: int) -> list[str]:
        return [next(refresh_tokens) for _ in range(n)]

    # One deployment on several ports: the same keys, database and issuer; only PORT differs.
    servers: dict[str, subprocess.Popen] = {}
    results = []
    try:
        for shape in shapes:
            servers[shape] = start_server(shape, {**env, "PORT": str(ports[shape])}, ports[shape], args, work)
        postmaster = postmaster_pid(args.database)
        server_cpu = {shape: ProcessGroupCPU(server_pids(process.pid)) for shape, process in servers.items()}
        pg_cpu = ProcessGroupCPU(postgres_pids(postmaster, args.database))
        for round_ in range(args.rounds):
            order = shapes[round_ % len(shapes):] + shapes[:round_ % len(shapes)]
            for scenario in scenarios:
                pool = prepared["userinfo"] if scenario == "userinfo" else []
                for shape in order if args.warmup and round_ == 0 else ():
                    warm_tokens = refresh_slice(4) if scenario == "refresh" else pool
                    warm = run_load(ports[shape], scenario, 4, args.warmup, args.seconds, warm_tokens, work)
                    if warm["errors"]:
                        log(f"warm-up of {scenario} on {shape} had errors: {warm['errors_by_kind']} "
                            f"{warm['error_samples']}")
                for concurrency in levels:
                    for shape in order:
                        tokens = refresh_slice(concurrency + 50) if scenario == "refresh" else pool
                        profiler = start_profiler(args.profile_dir, servers[shape].pid, f"{shape}-{scenario}",
                                                  concurrency)
                        result = run_load(ports[shape], scenario, concurrency, per_run[scenario], args.seconds,
                                          tokens, work, measure=(server_cpu[shape], pg_cpu))
                        stop_profiler(profiler)
                        row = summarize(scenario, concurrency, result, shape, round_)
                        results.append(row)
                        log(format_row(row))
                        if result["errors"]:
                            log(f"  errors: {result['errors_by_kind']} e.g. {result['error_samples']}")
    finally:
        for process in servers.values():
            stop_server(process)

    header = describe(args, prepared, ports)
    table = render(combine(results))
    print(header + "\n\n" + table)
    if len(shapes) > 1:
        print("\n" + render_ratios(combine(results), shapes))
    if args.json:
        Path(args.json).write_text(json.dumps({"setup": header, "results": results}, indent=2))
    log(f"work files (logs, specs, tokens) in {work}")
    return 1 if any(row["errors"] for row in results) else 0


def start_profiler(directory: str | None, master: int, scenario: str, concurrency: int):
    if not directory:
        return []
    Path(directory).mkdir(parents=True, exist_ok=True)
    workers = [pid for pid in server_pids(master)() if pid != master]
    # --gil: only samples holding the GIL, i.e. Python CPU time, not waits on PostgreSQL.
    return [subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "250", "--gil",
                              "--format", "raw", "--output", f"{directory}/{scenario}-c{concurrency}-{pid}.txt",
                              "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in workers]


def stop_profiler(profilers: list) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        profiler.wait(timeout=30)


def summarize(scenario: str, concurrency: int, result: dict, server: str = "gunicorn", round_: int = 0) -> dict:
    ok = result["ok"]
    return {
        "server": server, "round": round_,
        "scenario": scenario, "concurrency": concurrency, "requests": ok, "errors": result["errors"],
        "errors_by_kind": result["errors_by_kind"],
        "server_cpu_s": round(result["server_cpu_s"], 2), "pg_cpu_s": round(result["pg_cpu_s"], 2),
        "req_per_server_cpu_s": round(ok / result["server_cpu_s"]) if result["server_cpu_s"] else None,
        "pg_cpu_s_per_1k": round(1000 * result["pg_cpu_s"] / ok, 3) if ok else None,
        "p50_ms": round(result["p50_ms"], 2), "p99_ms": round(result["p99_ms"], 2),
        "req_per_s": round(ok / result["wall_seconds"]) if result["wall_seconds"] else None,
    }


def combine(rows: list[dict]) -> list[dict]:
    """One row per (scenario, concurrency, server): the median of its rounds (errors and requests summed)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["scenario"], row["concurrency"], row["server"]), []).append(row)
    combined = []
    for (scenario, concurrency, server), group in groups.items():
        def median(key, group=group):
            values = [row[key] for row in group if row[key] is not None]
            return round(statistics.median(values), 3) if values else None
        combined.append({
            "server": server, "scenario": scenario, "concurrency": concurrency, "rounds": len(group),
            "runs": [row["req_per_server_cpu_s"] for row in group],
            "requests": sum(row["requests"] for row in group), "errors": sum(row["errors"] for row in group),
            **{key: median(key) for key in ("req_per_server_cpu_s", "pg_cpu_s_per_1k", "p50_ms", "p99_ms",
                                            "req_per_s")},
        })
    return combined


def format_row(row: dict) -> str:
    return (f"{row.get('server', ''):<18} {row['scenario']:<10} c={row['concurrency']:<3} {row['requests']:>6} req  "
            f"{row['req_per_server_cpu_s']!s:>6} req/server-CPU-s  pg {row['pg_cpu_s_per_1k']!s:>6} CPU-s/1k  "
            f"p50 {row['p50_ms']:>7.2f} ms  p99 {row['p99_ms']:>7.2f} ms  {row['req_per_s']!s:>5} req/s  "
            f"errors {row['errors']}")


def describe(args, prepared: dict, ports: dict[str, int]) -> str:
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    import django
    import gunicorn
    import oauth2_provider
    import oauthlib

    try:
        from importlib.metadata import version

        granian = f", granian {version('granian')}"
    except ImportError:
        granian = ""
    pg_version = psql("postgres", "SHOW server_version")
    return "\n".join([
        f"- machine: {os.cpu_count()} CPUs, {cpu}; Python {sys.version.split()[0]}",
        f"- Django {django.get_version()}, django-oauth-toolkit {oauth2_provider.__version__}, oauthlib "
        f"{oauthlib.__version__}, gunicorn {gunicorn.__version__}{granian}, PostgreSQL {pg_version}",
        *(f"- {shape}: {' '.join(server_command_summary(STARTED[shape]))}, access log "
          f"{'on (the application, to a file)' if args.access_log else 'off'}, 127.0.0.1:{port}"
          for shape, port in ports.items()),
        f"- rounds: {args.rounds} (server order rotated each round; figures are medians)",
        f"- acme-reports secret hash prefix: {prepared['secret_hash_prefix']}",
        f"- command: {' '.join([Path(sys.executable).name, *sys.argv])}",
    ])


def server_command_summary(command: list[str]) -> list[str]:
    keep = {"--workers", "--worker-class", "--threads", "--blocking-threads", "--interface"}
    program = command[2] if command[1:2] == ["-m"] else Path(command[0]).name  # `python -m granian`: granian
    return [program] + [f"{a} {b}" for a, b in zip(command, command[1:], strict=False) if a in keep]


def render(rows: list[dict]) -> str:
    lines = ["| server | scenario | conc. | requests | server req/CPU-s (runs) | PG CPU-s per 1k req | p50 ms "
             "| p99 ms | req/s | errors |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        runs = f" ({', '.join(str(r) for r in row['runs'])})" if row["rounds"] > 1 else ""
        lines.append(f"| {row['server']} | {row['scenario']} | {row['concurrency']} | {row['requests']} "
                     f"| {row['req_per_server_cpu_s']}{runs} | {row['pg_cpu_s_per_1k']} | {row['p50_ms']} "
                     f"| {row['p99_ms']} | {row['req_per_s']} | {row['errors']} |")
    return "\n".join(lines)


def render_ratios(rows: list[dict], shapes: list[str]) -> str:
    """Requests per server CPU-second of each shape over the first one's, per scenario and concurrency."""
    by_key = {(row["scenario"], row["concurrency"], row["server"]): row["req_per_server_cpu_s"] for row in rows}
    cells = sorted({(row["scenario"], row["concurrency"]) for row in rows},
                   key=lambda key: (list(SCENARIOS).index(key[0]), key[1]))
    lines = [f"server req/CPU-s over {shapes[0]}'s:", "",
             "| scenario | conc. | " + " | ".join(shapes[1:]) + " |", "|---|---:|" + "---:|" * (len(shapes) - 1)]
    for scenario, concurrency in cells:
        base = by_key.get((scenario, concurrency, shapes[0]))
        ratios = [f"{by_key[(scenario, concurrency, shape)] / base:.2f}" if base and by_key.get(
            (scenario, concurrency, shape)) else "?" for shape in shapes[1:]]
        lines.append(f"| {scenario} | {concurrency} | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
