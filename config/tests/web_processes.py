"""Start and stop real Gatehouse processes for services tests: web servers (config/server.py) and manage.py commands.

Each process runs in a process group of its own, so stopping it takes its children (the server's worker)
too; its output goes to a log file that a failing assertion can quote.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from config.tests.helpers import BASE_DIR, CONFIG_VARS

START_SECONDS = 60


def process_env(**variables: str) -> dict[str, str]:
    """The parent's environment without any configuration variable (.ci/run sets several), plus `variables`."""
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARS}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **variables)
    return env


def log_tail(log_path: Path, chars: int = 3000) -> str:
    return log_path.read_text(errors="replace")[-chars:] if log_path.exists() else "(no log)"


def start_web(*, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """`python -m config.server` on 127.0.0.1:`port` with one worker, as production runs it (README); its
    access log and errors go to `log_path`."""
    with log_path.open("a") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "config.server", "--port", str(port), "--workers", "1"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0,
        )


def wait_ready(*, url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Wait until /health/ready answers 200 (database, Redis and broker reachable), or fail with the log."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited with {process.returncode} while starting:\n{log_tail(log_path)}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} was not ready in {START_SECONDS}s:\n{log_tail(log_path)}")


def stop_process(process: subprocess.Popen, *, timeout: float = 10) -> None:
    """SIGTERM to the process group, then SIGKILL to it if it has not exited within `timeout`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    # Exited, or did not in time: whatever it forked goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """`manage.py <args>` in a fresh interpreter with `env`, as an operator would run it."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
