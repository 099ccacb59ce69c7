"""Authorization-code flows per server CPU-second, this checkout against another, interleaved (issue #14 item 5).

    git worktree add /tmp/before <commit> && ln -s "$PWD/.venv" /tmp/before/.venv
    .venv/bin/python bench/login_ab.py --against /tmp/before --rounds 8

bench/login.py measures one server after another. This host's speed drifts by tens of percent within
minutes (one Argon2id verify took 16.8 ms, then 22.7 ms, in one series), which separate runs cannot tell
from a change of a few percent. Here both servers run at once (production's shape, config/server.py), each
on its own port, with the code of its own checkout and one database, and take turns: each round sends
--round-flows flows to one, then to the other (ABBA: the order flips every round), and reads each server's
CPU from /proc over its own batch. Every round's ratio compares two batches a minute apart at most.

Set up as bench/login.py sets up (its `prepare`): database `gatehouse_bench_ab`, Redis databases 2 and 3. The
other checkout must have the same migrations (it runs on the database this one migrated) and its own
.venv (a symlink to this one's is fine: then both run the same libraries). The flows are bench/login.py's
(its load generator, in its own process, --concurrency browsers).
"""

import sys
from pathlib import Path

# As bench/login.py: bench/ off sys.path (bench/email.py would shadow the standard library's `email`).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, type=Path, help="the other checkout (a git worktree)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--round-flows", type=int, default=150, help="flows per server per round")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120, help="bound on each batch")
    args = parser.parse_args()
    against = args.against.resolve()
    if not (against / "config" / "wsgi.py").is_file():
        raise SystemExit(f"{against} is not a Gatehouse checkout")
    args.access_log = True  # as bench/login.py: production logs every request
    args.worker_class, args.threads, args.blocking_threads = "sync", 1, 1

    login = _load("login")
    bench = login._load_oidc_bench()
    database = "gatehouse_bench_ab"
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-ab-"))
    (work / "var").mkdir()
    ports = {"this": bench.free_port(), "other": bench.free_port()}
    env = bench.server_env(database, ports["this"], work / "var")
    _, users, _ = login.prepare(bench, env, database, args.users)
    postmaster = bench.postmaster_pid(database)

    servers = {}
    try:
        for name, root in (("this", login.ROOT), ("other", against)):
            port = ports[name]
            servers[name] = bench.start_server("production", {**env, "GATEHOUSE_ISSUER": f"http://127.0.0.1:{port}",
                                                              "PORT": str(port)}, port, args, work, root=root,
                                               tag=f"-{name}")
        for name in servers:  # warm-up: consents on record, workers imported and connected
            warm = login.run_load(bench, ports[name], "flow", len(users), args.concurrency, args.seconds, users, 0,
                                  work)
            if warm["errors"]:
                raise SystemExit(f"warm-up errors ({name}): {warm['errors']}")
        ms_each: dict[str, list[float]] = {"this": [], "other": []}
        pg_each: dict[str, list[float]] = {"this": [], "other": []}
        for round_no in range(args.rounds):
            order = ("this", "other") if round_no % 2 == 0 else ("other", "this")
            for name in order:
                meters = (bench.ProcessGroupCPU(bench.server_pids(servers[name].pid)),
                          bench.ProcessGroupCPU(bench.postgres_pids(postmaster, database)))
                offset = (round_no * args.round_flows) % len(users)
                result = login.run_load(bench, ports[name], "flow", args.round_flows, args.concurrency, args.seconds,
                                        users, offset, work, meters)
                server_s, pg_s = result.pop("cpu")
                if result["errors"] or not result["done"]:
                    raise SystemExit(f"round {round_no + 1} ({name}): {result['errors']}")
                ms_each[name].append(1000 * server_s / result["done"])
                pg_each[name].append(1000 * pg_s / result["done"])
            bench.log(f"round {round_no + 1}: this {ms_each['this'][-1]:.1f} ms a flow, "
                      f"other {ms_each['other'][-1]:.1f} ms")
    finally:
        for process in servers.values():
            bench.stop_server(process)

    ratios = [other / this for this, other in zip(ms_each["this"], ms_each["other"], strict=True)]
    print(f"\nthis: {login.ROOT}\nother: {against}\n{args.rounds} rounds of {args.round_flows} flows each, "
          f"{args.workers} workers, concurrency {args.concurrency}\n")
    print("| round | this: server ms a flow | other: server ms a flow | other / this |")
    print("|---|---:|---:|---:|")
    for number, (this, other, ratio) in enumerate(zip(ms_each["this"], ms_each["other"], ratios, strict=True), 1):
        print(f"| {number} | {this:.1f} | {other:.1f} | {ratio:.3f} |")
    this_median, other_median = statistics.median(ms_each["this"]), statistics.median(ms_each["other"])
    print(f"| **median** | **{this_median:.1f}** ({1000 / this_median:.1f} flows per server CPU-s) | "
          f"**{other_median:.1f}** ({1000 / other_median:.1f}) | **{statistics.median(ratios):.3f}** |")
    # On one machine PostgreSQL's CPU is the server's too: per round, both together.
    total = {name: [server + pg for server, pg in zip(ms_each[name], pg_each[name], strict=True)]
             for name in ms_each}
    total_ratios = [other / this for this, other in zip(total["this"], total["other"], strict=True)]
    print(f"\nPostgreSQL ms a flow, medians: this {statistics.median(pg_each['this']):.1f}, "
          f"other {statistics.median(pg_each['other']):.1f}")
    print(f"Server and PostgreSQL ms a flow, medians: this {statistics.median(total['this']):.1f}, "
          f"other {statistics.median(total['other']):.1f}; other / this {statistics.median(total_ratios):.3f} "
          f"(rounds {min(total_ratios):.3f}–{max(total_ratios):.3f})")
    print(f"logs: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
