"""Running Gatehouse code in a fresh interpreter, with a clean configuration environment."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
# Everything that would change how settings load, so the parent's environment (.ci/run sets
# several of these) cannot leak in.
CONFIG_VARS = (
    "ALLOWED_HOSTS", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "CONN_MAX_AGE", "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL", "DEBUG", "DEFAULT_FROM_EMAIL", "EMAIL_URL", "GATEHOUSE_ENCRYPTION_KEYS",
    "GATEHOUSE_HSTS_SECONDS", "GATEHOUSE_ISSUER", "GATEHOUSE_SESSION_AGE", "GATEHOUSE_TRUSTED_PROXIES",
    "GATEHOUSE_VAR_DIR", "LOG_LEVEL", "PORT", "REDIS_URL", "SECRET_KEY",
)


def run_python(args: list[str], tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in CONFIG_VARS}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", GATEHOUSE_VAR_DIR=str(tmp_path / "var"), **variables)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
