"""Mint token pools for the userinfo and refresh scenarios, directly in the benchmark database.

    DATABASE_URL=... (the bench environment) python bench/mint_tokens.py OUT.json USERINFO_COUNT REFRESH_COUNT

Rows are written the way DOT writes them after an authorization code flow (identity.oidc.validator
and oauth2_provider.oauth2_validators._save_bearer_token): an AccessToken per userinfo token; for each
refresh token an AccessToken + RefreshToken pair sharing a new token_family, with token_checksum the
SHA-256 hex of the raw value, plus the AuthorizationRecord our validator reads for auth_time/amr/sid
on refresh. Tokens belong to bob@acme.test (an active member of acme, in the engineering group) and
the seeded `hr-portal` web client, scope `openid profile email`, so userinfo and the refreshed ID
token carry profile, email, org and groups claims. Writes the raw tokens to OUT.json.
"""

import sys
from pathlib import Path

# Run as `python bench/<name>.py`, bench/ comes first on sys.path, where a benchmark's module may
# shadow the standard library (bench/email.py shadows `email`, which urllib and Django import).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import uuid  # noqa: E402
from datetime import timedelta  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import get_access_token_model, get_refresh_token_model  # noqa: E402

from applications.models import Application, AuthorizationRecord  # noqa: E402
from directory.models import User  # noqa: E402

USER_EMAIL = "bob@acme.test"
CLIENT_ID = "hr-portal"
SCOPE = "openid profile email"


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(30)  # DOT's generator makes 30-character tokens; length is not measured here


@transaction.atomic
def mint(userinfo_count: int, refresh_count: int) -> dict:
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    user = User.objects.get(email__iexact=USER_EMAIL)
    app = Application.objects.get(client_id=CLIENT_ID)
    now = timezone.now()
    expires = now + timedelta(days=1)

    userinfo = [new_token() for _ in range(userinfo_count)]
    AccessToken.objects.bulk_create(
        AccessToken(user=user, application=app, scope=SCOPE, expires=expires, token=value,
                    token_checksum=checksum(value))
        for value in userinfo
    )

    refresh = [new_token() for _ in range(refresh_count)]
    access_values = [new_token() for _ in range(refresh_count)]
    families = [uuid.uuid4() for _ in range(refresh_count)]
    access_rows = AccessToken.objects.bulk_create(
        AccessToken(user=user, application=app, scope=SCOPE, expires=expires, token=value,
                    token_checksum=checksum(value))
        for value in access_values
    )
    RefreshToken.objects.bulk_create(
        RefreshToken(user=user, application=app, access_token=access, token=value, token_checksum=checksum(value),
                     token_family=family)
        for access, value, family in zip(access_rows, refresh, families, strict=True)
    )
    AuthorizationRecord.objects.bulk_create(
        AuthorizationRecord(code_checksum=checksum(new_token()), application=app, user=user,
                            sid=secrets.token_urlsafe(16), amr=["pwd"], auth_time=now, token_family=family,
                            redeemed_at=now)
        for family in families
    )
    return {"userinfo": userinfo, "refresh": refresh}


def main() -> None:
    out, userinfo_count, refresh_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    Path(out).write_text(json.dumps(mint(userinfo_count, refresh_count)))


if __name__ == "__main__":
    main()
