"""SQL statements per request for each benchmark scenario, on PostgreSQL.

    .venv/bin/python bench/sql_trace.py [--verbose]

Prepares its own database (`gatehouse_bench_sql`) exactly as bench/oidc.py does, then, in this
process, sends each scenario's request a few times through Django's test client with the full
middleware stack and prints the statements of the last one (Django's test client enters below
config/wsgi.py, so a WSGI-level fast path is not exercised here; discovery and JWKS use none anyway).
The first request of each scenario warms the process-level caches (JWKS, decrypted signing key), as a
running server's would be.
"""

import sys
from pathlib import Path

# Run as `python bench/<name>.py`, bench/ comes first on sys.path, where a benchmark's module may
# shadow the standard library (bench/email.py shadows `email`, which urllib and Django import).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.oidc import SCENARIOS, free_port, prepare_database, server_env  # noqa: E402

DATABASE = "gatehouse_bench_sql"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", action="store_true", help="print each statement")
    parser.add_argument("--database", default=DATABASE, help=f"database to (re)create (default {DATABASE})")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-sql-"))
    env = server_env(args.database, free_port(), work / "var")
    tokens = prepare_database(env, args.database, work, (10, 10))
    os.environ.update(env)

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    refresh = iter(tokens["refresh"])
    current_refresh = next(refresh)
    for name, (kind, method, path, headers, body, _) in SCENARIOS.items():
        extra = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in headers.items()}
        for attempt in range(3):
            with CaptureQueriesContext(connection) as queries:
                if kind == "bearer":
                    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {tokens['userinfo'][attempt]}")
                elif kind == "refresh":
                    # Form-encoded, as bench/loadgen.py and real clients send it.
                    form = urlencode({"grant_type": "refresh_token", "refresh_token": current_refresh})
                    response = client.post(path, form, content_type="application/x-www-form-urlencoded", **extra)
                    current_refresh = json.loads(response.content).get("refresh_token", next(refresh))
                elif method == "POST":
                    response = client.post(path, body, content_type="application/x-www-form-urlencoded", **extra)
                else:
                    response = client.get(path, **extra)
        print(f"{name:<10} status {response.status_code}  {len(queries.captured_queries)} statements")
        if args.verbose:
            for query in queries.captured_queries:
                print(f"    {query['sql'][:400]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
