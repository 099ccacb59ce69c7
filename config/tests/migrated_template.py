"""One migrated embedded default, made once per set of migrations and shared by every test process.

Migrating from nothing takes ~5 s. Without this, each pytest-xdist worker paid it for its in-memory test
database, and each worker that ran a command-line test paid it again for the subprocess's database. Now
the first process to need one runs `manage.py migrate` into `var/test-cache/<digest>/` under a file lock;
the digest covers every installed app's migration files and Django's version, so a new or edited
migration makes a new template and removes the stale ones.
"""

import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from django.apps import apps
from django.conf import settings

CACHE_DIR = Path(settings.BASE_DIR) / "var" / "test-cache"
DATABASE_FILE = "gatehouse.sqlite3"
# Variables that would point a subprocess away from the embedded default.
NON_EMBEDDED_ENV = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL")


def embedded_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NON_EMBEDDED_ENV}
    return {**env, **extra}


def run_manage(*args: str, env: dict[str, str], stdin: str | None = None,
               timeout: int = 120) -> subprocess.CompletedProcess[str]:
    """`manage.py ARGS` in a subprocess of its own, with `env` as its whole environment."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def _digest() -> str:
    import django

    sha = hashlib.sha256(django.get_version().encode())
    for app in sorted(apps.get_app_configs(), key=lambda config: config.label):
        for path in sorted(Path(app.path, "migrations").glob("*.py")):
            sha.update(f"{app.label}/{path.name}\0".encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def migrated_var_dir() -> Path:
    """A var directory holding a migrated embedded default (and its generated secrets). Copy it; never
    write to it."""
    template = CACHE_DIR / _digest()
    if (template / "ready").exists():
        return template
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process migrates; the others wait, then find it ready
        if not (template / "ready").exists():
            for stale in CACHE_DIR.iterdir():
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
            template.mkdir()
            result = run_manage("migrate", "-v0", env=embedded_env(GATEHOUSE_VAR_DIR=str(template)), timeout=300)
            if result.returncode != 0:
                shutil.rmtree(template, ignore_errors=True)
                raise RuntimeError(f"manage.py migrate failed:\n{result.stderr}")
            (template / "ready").touch()
    return template


def migrate_in_background() -> None:
    """Start making the template in a thread of this process, when it is missing. Called by the first
    pytest process, before collection: pytest-xdist's workers then spend their ~10 s of collecting (a
    fresh clone's first run rewrites every test module's asserts) while it migrates, instead of one
    migrating after collection while the other waits on the lock. A worker that gets there first takes
    the lock itself, and this thread then finds the template ready."""
    if not (CACHE_DIR / _digest() / "ready").exists():
        threading.Thread(target=migrated_var_dir, name="migrated-template", daemon=True).start()


def copy_into(connection) -> None:
    """Fill `connection`'s (empty, in-memory) database with the migrated template's tables and rows."""
    source = sqlite3.connect(f"file:{migrated_var_dir() / DATABASE_FILE}?mode=ro", uri=True)
    try:
        connection.ensure_connection()
        source.backup(connection.connection)
    finally:
        source.close()
