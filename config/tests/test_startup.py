"""Start-up refusal: a deployment that names a real database must name its secrets too.

Each test starts `manage.py` in a fresh interpreter, since the refusal happens while settings load.
"""

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config.tests.helpers import run_python

# Never connected to: settings refuse before any database work.
UNREACHABLE_POSTGRES = "postgres://gatehouse@127.0.0.1:1/gatehouse"


def manage_check(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    return run_python(["manage.py", "check"], tmp_path, **variables)


def test_refuses_to_start_without_secret_key_or_encryption_keys(tmp_path):
    result = manage_check(tmp_path, DATABASE_URL=UNREACHABLE_POSTGRES)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "gatehouse: refusing to start: DATABASE_URL is set but SECRET_KEY and GATEHOUSE_ENCRYPTION_KEYS are not; "
        "set them in the environment (only the embedded default generates them into var/)."
    ]
    assert not (tmp_path / "var").exists(), "nothing may be generated into var/ outside the embedded default"


def test_refuses_to_start_without_secret_key(tmp_path):
    result = manage_check(
        tmp_path, DATABASE_URL=UNREACHABLE_POSTGRES, GATEHOUSE_ENCRYPTION_KEYS=Fernet.generate_key().decode()
    )
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("gatehouse: refusing to start: DATABASE_URL is set but SECRET_KEY is not;")


def test_refuses_to_start_without_encryption_keys(tmp_path):
    result = manage_check(tmp_path, DATABASE_URL=UNREACHABLE_POSTGRES, SECRET_KEY="x" * 50)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "GATEHOUSE_ENCRYPTION_KEYS is not" in line


@pytest.mark.parametrize(
    "keys",
    [
        "not-a-fernet-key",
        "c2hvcnQ=",  # base64, but 5 bytes
        f"{Fernet.generate_key().decode()},garbage",  # the second of two keys is bad
    ],
    # Fixed ids: a generated key in the id would differ between pytest-xdist workers, which then refuse to run.
    ids=["not-base64", "five-bytes", "second-key-bad"],
)
def test_refuses_to_start_with_a_malformed_encryption_key(tmp_path, keys):
    result = manage_check(
        tmp_path, DATABASE_URL=UNREACHABLE_POSTGRES, SECRET_KEY="x" * 50, GATEHOUSE_ENCRYPTION_KEYS=keys
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "gatehouse: refusing to start: GATEHOUSE_ENCRYPTION_KEYS must be comma-separated Fernet keys "
        "(32 url-safe base64-encoded bytes each)."
    ]


def test_starts_when_database_and_secrets_are_all_set(tmp_path):
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    result = manage_check(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SECRET_KEY="x" * 50,
        GATEHOUSE_ENCRYPTION_KEYS=keys,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_embedded_default_generates_its_secrets_into_var(tmp_path):
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    secrets_file = tmp_path / "var" / "secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    data = json.loads(secrets_file.read_text())
    Fernet(data["encryption_keys"][0])
    assert len(data["secret_key"]) >= 50
