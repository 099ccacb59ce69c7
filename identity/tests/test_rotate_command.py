"""`manage.py rotate_signing_key`: output, refusal with exit status 2, --force, --overlap-seconds, --status."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import base, call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditEvent
from identity import signing
from identity.management.commands.rotate_signing_key import Command
from identity.models import SigningKey
from identity.signing import published_jwks, signing_key_ensure


@pytest.fixture(autouse=True)
def _fresh_caches():
    signing.signing_key_cache_clear()
    yield
    signing.signing_key_cache_clear()


def _run(*args: str) -> str:
    out = StringIO()
    call_command("rotate_signing_key", *args, stdout=out)
    return out.getvalue()


def _age_next_key() -> None:
    """Pretend the next key has been in JWKS for longer than any RP may cache it."""
    SigningKey.objects.filter(state=SigningKey.State.NEXT).update(
        published_at=timezone.now() - timedelta(seconds=signing.next_key_min_published_seconds() + 1)
    )


@pytest.mark.django_db
def test_refuses_a_fresh_next_key_with_one_line_and_status_2(capsys, monkeypatch):
    signing_key_ensure()
    upcoming = SigningKey.objects.get(state=SigningKey.State.NEXT)

    with pytest.raises(CommandError) as refused:
        _run()
    assert refused.value.returncode == 2
    assert "can be promoted in 1 h" in str(refused.value)

    # As manage.py runs it; run_from_argv closes connections on the way out, which would end the test's.
    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "rotate_signing_key"])
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert len(stderr.strip().splitlines()) == 1
    assert upcoming.kid in stderr
    assert SigningKey.objects.get(state=SigningKey.State.NEXT).pk == upcoming.pk
    assert not AuditEvent.objects.filter(action="signing_key.rotated").exists()


@pytest.mark.django_db
def test_fresh_install_makes_the_first_keys_then_refuses_to_rotate_them():
    with pytest.raises(CommandError) as refused:
        _run()
    assert refused.value.returncode == 2
    assert SigningKey.objects.filter(state=SigningKey.State.ACTIVE).count() == 1


@pytest.mark.django_db
def test_rotates_and_prints_old_and_new_kid():
    signing_key_ensure()
    old = SigningKey.objects.get(state=SigningKey.State.ACTIVE)
    upcoming = SigningKey.objects.get(state=SigningKey.State.NEXT)
    _age_next_key()

    out = _run("--overlap-seconds", "100000")

    lines = out.splitlines()
    assert lines[0].startswith(f"old kid: {old.kid} (retired, in JWKS until ")
    assert lines[1] == f"new kid: {upcoming.kid} (active)"
    new_next = SigningKey.objects.get(state=SigningKey.State.NEXT)
    assert lines[2] == f"next kid: {new_next.kid} (published)"
    old.refresh_from_db()
    assert old.verify_until == old.retired_at + timedelta(seconds=100000)
    event = AuditEvent.objects.get(action="signing_key.rotated")
    assert event.actor is None
    assert event.metadata["overlap_seconds"] == 100000
    assert event.metadata["forced"] is False


@pytest.mark.django_db
def test_force_rotates_at_once_and_drops_the_old_key():
    signing_key_ensure()
    old = SigningKey.objects.get(state=SigningKey.State.ACTIVE)

    out = _run("--force")

    assert out.startswith(f"old kid: {old.kid} (retired and removed from JWKS; revoked 0 refresh")
    assert old.kid not in [key["kid"] for key in published_jwks()["keys"]]
    assert AuditEvent.objects.get(action="signing_key.rotated").metadata["forced"] is True
    assert f"retired  {old.kid}" in _run("--status")
    assert "out of JWKS since" in _run("--status")


@pytest.mark.django_db
def test_force_with_overlap_is_refused_with_status_2():
    signing_key_ensure()
    with pytest.raises(CommandError) as refused:
        _run("--force", "--overlap-seconds", "60")
    assert refused.value.returncode == 2
    assert not SigningKey.objects.filter(state=SigningKey.State.RETIRED).exists()


@pytest.mark.django_db
def test_status_lists_keys_and_changes_nothing():
    assert "No signing keys yet" in _run("--status")
    assert not SigningKey.objects.exists()

    signing_key_ensure()
    _age_next_key()
    _run()
    out = _run("--status")

    states = [line.split()[0] for line in out.splitlines()]
    assert states == ["active", "next", "retired"]
    for key in SigningKey.objects.all():
        assert key.kid in out
    assert "may be promoted from" in out
    assert "in JWKS until" in out
