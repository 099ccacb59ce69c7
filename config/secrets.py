"""Where the SECRET_KEY and encryption keys come from: generated once into var/ on the embedded
default, required from the environment everywhere else."""

import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet


@dataclass(frozen=True)
class EmbeddedSecrets:
    secret_key: str
    encryption_keys: list[str]


def embedded_secrets(var_dir: Path) -> EmbeddedSecrets:
    """Read var/secrets.json, creating it (mode 0600) on first use.

    The file is created with O_EXCL so two processes starting together agree on one set of keys.
    """
    path = var_dir / "secrets.json"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {
                "secret_key": secrets.token_urlsafe(50),
                "encryption_keys": [Fernet.generate_key().decode()],
            }
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(payload)
    data = json.loads(path.read_text())
    return EmbeddedSecrets(secret_key=data["secret_key"], encryption_keys=list(data["encryption_keys"]))


def require_production_secrets(env) -> None:
    """Refuse to start, with one line, when a real deployment lacks its secrets."""
    missing = [name for name in ("SECRET_KEY", "GATEHOUSE_ENCRYPTION_KEYS") if not env.str(name, default="")]
    if missing:
        sys.exit(
            f"gatehouse: refusing to start: DATABASE_URL is set but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not; set them in the environment "
            "(only the embedded default generates them into var/)."
        )
    for key in env.list("GATEHOUSE_ENCRYPTION_KEYS"):
        try:
            Fernet(key)
        except ValueError:
            sys.exit(
                "gatehouse: refusing to start: GATEHOUSE_ENCRYPTION_KEYS must be comma-separated Fernet "
                "keys (32 url-safe base64-encoded bytes each)."
            )
