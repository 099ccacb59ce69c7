"""bench/passkey_login.py's seeder and software authenticator agree with the server: a seeded user's
passkey signs in through the real endpoints (so the lead's benchmark measures sign-ins, not errors)."""

import importlib.util
from pathlib import Path

import pytest

from identity.models import UserSession
from identity.passkeys.tests.support import ISSUER, post_json

pytestmark = pytest.mark.django_db

BENCH = Path(__file__).resolve().parents[3] / "bench" / "passkey_login.py"


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_passkey_login", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_seeded_bench_user_signs_in_with_the_bench_authenticator(client, org, bench, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["seed", "2", bench.PASSWORD])
    exec(bench.SEED_USERS, {})  # noqa: S102 (the seeder's own code, as the benchmark runs it)
    email = "passkey-1@acme.test"

    options = post_json(client, "/passkeys/login/options").json()
    response = post_json(client, "/passkeys/login/verify", {"credential": bench.assertion(email, options, ISSUER)})

    assert response.status_code == 200, response.content
    assert response.json() == {"redirect": "/account/"}
    assert UserSession.objects.get(user__email=email).amr == ["swk", "mfa"]
    assert client.post("/login", {"email": "password-1@acme.test", "password": bench.PASSWORD}).status_code == 302
