"""Client credentials for a JWT API: Gatehouse and the certified peer side by side, in one run.

Gatehouse (gunicorn, PostgreSQL, set up as bench/oidc.py sets it up, the seeded Reports machine asking
for `orders:read` of the demo's Orders API) and panva's oidc-provider (../shared/peer/oidc-peer.mjs, an
RS256 JWT for `api:read` of `urn:peer:api`) take the same load: wrk through ../shared/peer/load.sh, which
reports requests per second of the *server's* CPU. Rounds alternate between the two so that the
machine's drifting speed falls on both; the ratio of medians is the figure.

    bench/peer_compare.py --peer-dir /tmp/peer [--rounds 3] [--duration 10] [--conns 4]

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
bench = importlib.util.module_from_spec(_spec)  # bench/oidc.py: database, gunicorn and CPU metering
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
    parser.add_argument("--workers", type=int, default=2)
    # Production's shape (Dockerfile, compose.yaml): gthread workers, which keep connections alive as the
    # peer does; bench/oidc.py's default of sync workers opens a connection per request.
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    args.access_log = True

    work = Path(tempfile.mkdtemp(prefix="gatehouse-peer-"))
    port = bench.free_port()
    env = bench.server_env(args.database, port, work / "var")
    bench.prepare_database(env, args.database, work, (0, 0))
    server = bench.start_gunicorn(env, port, args, work)
    peer = start_peer(args.peer_dir, work)
    ours, theirs, pg_share = [], [], []
    try:
        pg_cpu = bench.ProcessGroupCPU(bench.postgres_pids(bench.postmaster_pid(args.database), args.database))
        for round_ in range(args.rounds):
            pg_cpu.begin()
            rate, answered = load(args.load_sh, f"http://127.0.0.1:{port}", "/oauth/token",
                                  ("acme-reports", "acme-reports-secret"), "orders:read", server.pid, args,
                                  work / f"gatehouse-{round_}")
            # The warm-up is metered too, so this slightly overstates PostgreSQL's share per request.
            pg_share.append(1000 * pg_cpu.end() / answered)
            ours.append(rate)
            theirs.append(load(args.load_sh, f"http://127.0.0.1:{PEER_PORT}", "/token", ("peer-client", "peer-secret"),
                               "api:read", peer.pid, args, work / f"peer-{round_}")[0])
            bench.log(f"round {round_ + 1}: Gatehouse {ours[-1]:.0f}, peer {theirs[-1]:.0f} req per server CPU-s")
    finally:
        bench.stop_gunicorn(server)
        os.killpg(peer.pid, signal.SIGTERM)
        peer.wait(timeout=10)
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"client credentials, JWT access token, {args.conns} connections, {args.rounds} x {args.duration} s "
          f"alternating (wrk via load.sh); gunicorn {args.workers} x {args.worker_class}, {args.threads} threads:")
    print("| server | runs (req per server CPU-s) | median |\n|---|---|---:|")
    print(f"| Gatehouse | {', '.join(f'{x:.0f}' for x in ours)} | {statistics.median(ours):.0f} |")
    print(f"| oidc-provider (peer) | {', '.join(f'{x:.0f}' for x in theirs)} | {statistics.median(theirs):.0f} |")
    print(f"ratio Gatehouse / peer: {ratio:.2f}; PostgreSQL CPU beside Gatehouse's own: "
          f"{statistics.median(pg_share):.3f} CPU-s per 1,000 tokens")
    bench.log(f"work files in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
