"""Client credentials for a JWT API: Gatehouse and the certified peer side by side, in one run.

Gatehouse (granian as production runs it, or gunicorn; PostgreSQL, set up as bench/oidc.py sets it up, the
seeded Reports machine asking for `orders:read` of the demo's Orders API) and panva's oidc-provider
(../shared/peer/oidc-peer.mjs, an RS256 JWT for `api:read` of `urn:peer:api`) take the same load: wrk
through ../shared/peer/load.sh, which reports requests per second of the *server's* CPU. Rounds alternate
between the two so that the machine's drifting speed falls on both; the ratio of medians is the figure.

    bench/peer_compare.py --peer-dir /tmp/peer [--rounds 3] [--duration 10] [--conns 4]
    bench/peer_compare.py --peer-dir /tmp/peer --server granian,gunicorn [--blocking-threads 4]

--server granian is config/server.py's command line (config.server.granian_command), --workers processes of
--blocking-threads threads: production's shape at the defaults (2 workers as compose.yaml, 2 threads).
gunicorn (a dev dependency, for comparison) runs gthread workers, production's shape before granian. Both
write the application's access log (GATEHOUSE_ACCESS_LOG) to a file in the work directory, as production
logs every request.

--peer-dir is where `npm install oidc-provider@9.13.3` ran and oidc-peer.mjs was copied (see
../shared/peer/README.md). Gatehouse's PostgreSQL CPU (one SELECT per token) is reported beside its own;
the peer keeps everything in memory, so its figure has no database share.
"""

import importlib.util
import sys
from pathlib import Path

# Run as `python bench/peer_compare.py`, bench/ comes first on sys.path, where bench/email.py would shadow
# the standard library's `email` (urllib imports it): take bench/ off, and load bench/oidc.py by path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import csv  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_oidc", _HERE / "oidc.py")
bench = importlib.util.module_from_spec(_spec)  # bench/oidc.py: database, servers and CPU metering
_spec.loader.exec_module(bench)

ROOT = Path(__file__).resolve().parent.parent
PEER_PORT = 3999


def start_peer(peer_dir: Path, work: Path) -> subprocess.Popen:
    env = {**os.environ, "PEER_PORT": str(PEER_PORT), "PEER_PIDFILE": str(work / "peer.pid")}
    process = subprocess.Popen(["node", "oidc-peer.mjs"], cwd=peer_dir, env=env, stdout=(work / "peer.log").open("w"),
                               stderr=subprocess.STDOUT, process_group=0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PEER_PORT}/.well-known/openid-configuration",
                                        timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the peer did not start; see {work / 'peer.log'}")


def load(load_sh: Path, base: str, token_path: str, client: tuple[str, str], scope: str, pid: int, args,
         out: Path) -> tuple[float, int]:
    """One wrk run of the cc scenario: (requests per server CPU-second, requests answered)."""
    subprocess.run(["bash", str(load_sh), base, token_path, *client, str(args.duration), "--conns", str(args.conns),
                    "--scenarios", "cc", "--scope", scope, "--pid", str(pid), "--warmup", "2", "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    with (out / "results.csv").open() as f:
        row = list(csv.DictReader(f))[-1]
    if int(row["errors"] or 0):
        raise SystemExit(f"errors in {out}: {row}")
    return float(row["req_per_server_cpu_s"]), int(row["requests"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-dir", required=True, type=Path)
    parser.add_argument("--load-sh", type=Path, default=ROOT.parent / "shared" / "peer" / "load.sh")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--conns", type=int, default=4)
    parser.add_argument("--database", default="gatehouse_bench")
    parser.add_argument("--server", default="granian",
                        help="granian (production's server), gunicorn, or both (granian,gunicorn): each measured "
                             "in the same rounds")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (compose.yaml: 2)")
    # gunicorn as production ran it before granian (gthread workers, which keep connections alive as the
    # peer does; bench/oidc.py's default of sync workers opens a connection per request).
    parser.add_argument("--worker-class", default="gthread", help="gunicorn")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn")
    parser.add_argument("--blocking-threads", type=int, default=bench.PRODUCTION_THREADS,
                        help=f"granian: threads per worker (default {bench.PRODUCTION_THREADS}, production's)")
    args = parser.parse_args()
    args.access_log = True  # the application's, to a file in the work directory (bench/oidc.py start_server)
    names = args.server.split(",")
    if not names or set(names) - {"gunicorn", "granian"} or len(set(names)) != len(names):
        parser.error("--server: granian, gunicorn or granian,gunicorn")
    shapes = {name: "gunicorn" if name == "gunicorn" else f"granian-bt{args.blocking_threads}" for name in names}

    work = Path(tempfile.mkdtemp(prefix="gatehouse-peer-"))
    ports = {name: bench.free_port() for name in names}
    env = bench.server_env(args.database, ports[names[0]], work / "var")
    bench.prepare_database(env, args.database, work, (0, 0))
    servers: dict[str, subprocess.Popen] = {}
    peer = None
    ours: dict[str, list[float]] = {name: [] for name in names}
    pg_share: dict[str, list[float]] = {name: [] for name in names}
    theirs: list[float] = []
    try:
        for name in names:
            servers[name] = bench.start_server(shapes[name], {**env, "PORT": str(ports[name])}, ports[name], args,
                                               work)
        peer = start_peer(args.peer_dir, work)
        pg_cpu = bench.ProcessGroupCPU(bench.postgres_pids(bench.postmaster_pid(args.database), args.database))
        for round_ in range(args.rounds):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                pg_cpu.begin()
                rate, answered = load(args.load_sh, f"http://127.0.0.1:{ports[name]}", "/oauth/token",
                                      ("acme-reports", "acme-reports-secret"), "orders:read", servers[name].pid,
                                      args, work / f"{name}-{round_}")
                # The warm-up is metered too, so this slightly overstates PostgreSQL's share per request.
                pg_share[name].append(1000 * pg_cpu.end() / answered)
                ours[name].append(rate)
            theirs.append(load(args.load_sh, f"http://127.0.0.1:{PEER_PORT}", "/token", ("peer-client", "peer-secret"),
                               "api:read", peer.pid, args, work / f"peer-{round_}")[0])
            bench.log(f"round {round_ + 1}: " + ", ".join(f"Gatehouse/{name} {ours[name][-1]:.0f}" for name in names)
                      + f", peer {theirs[-1]:.0f} req per server CPU-s")
    finally:
        for server in servers.values():
            bench.stop_server(server)
        if peer is not None:
            os.killpg(peer.pid, signal.SIGTERM)
            peer.wait(timeout=10)
    print(f"client credentials, JWT access token, {args.conns} connections, {args.rounds} x {args.duration} s "
          "alternating (wrk via load.sh):")
    print("| server | runs (req per server CPU-s) | median | over the peer | PG CPU-s per 1k |")
    print("|---|---|---:|---:|---:|")
    peer_median = statistics.median(theirs)
    for name in names:
        summary = " ".join(bench.server_command_summary(bench.STARTED[shapes[name]]))
        median = statistics.median(ours[name])
        print(f"| Gatehouse ({summary}) | {', '.join(f'{x:.0f}' for x in ours[name])} | {median:.0f} "
              f"| {median / peer_median:.2f} | {statistics.median(pg_share[name]):.3f} |")
    print(f"| oidc-provider (peer) | {', '.join(f'{x:.0f}' for x in theirs)} | {peer_median:.0f} | 1 | - |")
    bench.log(f"work files in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
