"""Issue #14's sign-in benchmarks run on this checkout as it stands (in CI: a fresh clone), end to end.

Each is run at a few requests, not to measure anything (benchmarks stay out of CI) but to show that it sets up,
serves and loads without a step anyone must do by hand, and that every request it sends succeeds: a benchmark
that broke would otherwise be found only by the next person who needs its figures. They drop and make their own
databases (`gatehouse_bench*`) and use Redis databases 2 and 3, none of which the other tests touch.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
BENCH_TIMEOUT = 900  # seconds: each migrates a database of its own and starts servers, on a busy CI host too


def _run(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=BENCH_TIMEOUT)
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"{args[0]} exited {result.returncode}:\n{output}"
    return result


def test_the_sign_in_benchmark_signs_in_and_completes_flows(tmp_path):
    rows_file = tmp_path / "rows.json"
    _run("bench/login.py", "--servers", "production", "--users", "3", "--signins", "4", "--flows", "4",
         "--argon2-seconds", "0.2", "--json", str(rows_file))

    rows = json.loads(rows_file.read_text())
    assert [row["kind"] for row in rows] == ["hosted", "signin", "flow"]
    for row in rows:
        assert (row["done"], row["errors"]) == (4, {}), row
        assert row["server_cpu_s"] > 0
        assert row["argon2_ms"] > 0


def test_the_floor_benchmark_runs_gatehouse_and_stock_django_side_by_side():
    result = _run("bench/login_floor.py", "--rounds", "2", "--round-signins", "3", "--round-flows", "3",
                  "--users", "3", "--argon2-seconds", "0.2")

    # Both kinds' tables, each with its two rounds and their median; an error anywhere would have exited 1.
    assert result.stdout.count("| **median** |") == 2
    assert "3 sign-ins a round" in result.stdout
    assert "3 flows a round" in result.stdout
    assert result.stdout.count("\n| 2 | ") == 2
