"""Start, kill and stop a real `celery worker` process against a given database and broker (tests, bench)."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def start_worker(*, queue: str, env: dict[str, str], log_path: Path, pool: str = "solo",
                 concurrency: int | None = None) -> subprocess.Popen:
    """A worker consuming only `queue`, in a process group of its own (so a kill takes its children too)."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", f"--pool={pool}", "-Q", queue,
        "-n", f"{queue}-{os.urandom(3).hex()}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel=INFO",
    ]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    with log_path.open("a") as log:
        return subprocess.Popen(command, cwd=BASE_DIR, env={**os.environ, **env}, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0)


def kill_worker(process: subprocess.Popen) -> None:
    """SIGKILL to the worker and every process it forked: no shutdown, no acks, as if the machine died."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_worker(process)
