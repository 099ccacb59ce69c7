"""Gatehouse's web server: granian serving config.wsgi, with the options every way of starting it shares.

    python -m config.server [--host 0.0.0.0] [--port 8000] [--workers N] [--threads N]

The Dockerfile, compose.yaml, bin/run-embedded, the services tests (config/tests/web_processes.py) and bench/
start it with this command line, so they run the same server. The defaults come from the environment as
the container conventions have it: PORT (8000), WEB_CONCURRENCY worker processes (1), WEB_THREADS threads
running the application in each (2).

Why 2 threads: with the GIL, a worker runs one request's Python at a time, and each hand-over between its
threads costs CPU too. Against 4 threads a worker, 2 answered 1.09–1.28 times as many requests per server
CPU-second on every endpoint measured, and 1.10 times as many hosted sign-ins (bench/RESULTS.md, "Session 10").
A password hash releases the GIL, so the second thread runs while the first one hashes. Scale with
WEB_CONCURRENCY (a worker per core) rather than with threads.

Why granian rather than gunicorn: the same app answered 1.1–3.4 times as many requests per server
CPU-second (bench/RESULTS.md, "Session 9"). What gunicorn gave that granian does not by default is set here:
- `--respawn-failed-workers`: a worker that dies is started again (gunicorn's arbiter did that);
- `--blocking-threads`: granian's default is 512 threads a worker, each able to hold a database connection;
- `--workers-kill-timeout`: after SIGTERM or SIGINT, requests in flight get this long to finish (SIGHUP
  restarts the workers the same graceful way);
- `--http 1`: HTTP/1.1 only, as gunicorn spoke; granian's HTTP/2 accepts 16 MB of headers by default;
- the access log is written by the application (config/access_log.py), in gunicorn's format, with the
  size and the user that granian's own log lacks; the process environment granian copies into every
  request is taken out again by config/wsgi.py.

One limit differs: granian takes request headers up to its HTTP/1 buffer (~400 KB; 1 MB is refused with
431), where gunicorn refused a single field over 8 KB. The proxy in front (TLS ends there) should keep
its own, smaller limits.
"""

import argparse
import os
import sys

GRACEFUL_STOP_SECONDS = 10


def granian_command(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--http", "1", "--no-ws",
        "--host", host, "--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads),
        "--respawn-failed-workers", "--workers-kill-timeout", str(GRACEFUL_STOP_SECONDS),
        "config.wsgi:application",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY") or 1),
                        help="worker processes (WEB_CONCURRENCY); one a core")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS") or 2),
                        help="threads running requests in each worker (WEB_THREADS)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.threads < 1:
        parser.error("--workers and --threads must be at least 1")
    command = granian_command(host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    # exec: granian gets this process's id, so a container's stop signal reaches it directly.
    os.execv(command[0], command)  # noqa: S606 (a fixed command line, no shell)


if __name__ == "__main__":
    main()
