"""The embedded default's secrets: generated once into var/, then reused."""

import json
import os

from cryptography.fernet import Fernet

from config.secrets import embedded_secrets


def test_generated_on_first_use_and_reused(tmp_path):
    var_dir = tmp_path / "var"
    first = embedded_secrets(var_dir)
    path = var_dir / "secrets.json"
    assert path.stat().st_mode & 0o777 == 0o600
    Fernet(first.encryption_keys[0])
    assert len(first.secret_key) >= 50

    second = embedded_secrets(var_dir)
    assert second == first
    assert json.loads(path.read_text()) == {
        "secret_key": first.secret_key, "encryption_keys": first.encryption_keys,
    }


def test_each_var_dir_gets_its_own_secrets(tmp_path):
    one = embedded_secrets(tmp_path / "one")
    two = embedded_secrets(tmp_path / "two")
    assert one.secret_key != two.secret_key
    assert one.encryption_keys != two.encryption_keys


def test_an_existing_file_is_never_overwritten(tmp_path):
    key = Fernet.generate_key().decode()
    (tmp_path / "secrets.json").write_text(json.dumps({"secret_key": "kept", "encryption_keys": [key, "older"]}))
    secrets = embedded_secrets(tmp_path)
    assert secrets.secret_key == "kept"
    assert secrets.encryption_keys == [key, "older"]


def test_lost_race_reads_the_winners_file(tmp_path, monkeypatch):
    """Two processes start together: the one whose O_EXCL create fails reads the other's keys."""
    winner = {"secret_key": "winner", "encryption_keys": [Fernet.generate_key().decode()]}
    real_open = os.open

    def open_after_the_other_process(path, flags, mode=0o777):
        if str(path).endswith("secrets.json") and flags & os.O_EXCL:
            (tmp_path / "secrets.json").write_text(json.dumps(winner))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_after_the_other_process)
    secrets = embedded_secrets(tmp_path)
    assert secrets.secret_key == "winner"
