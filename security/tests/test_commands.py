"""`manage.py account_unlock EMAIL`: an operator lifts a lock from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from directory.tests.factories import UserFactory
from security.selectors import account_locked_until
from security.services import signin_attempt_begin, signin_attempt_failed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counter_backend")]


def _lock(user, threshold=10):
    for _ in range(threshold):
        signin_attempt_begin(email=user.email)
        signin_attempt_failed(email=user.email, user=user)


def _run(*args) -> str:
    out = StringIO()
    call_command("account_unlock", *args, stdout=out)
    return out.getvalue()


def test_unlocks_a_locked_account_by_email_in_any_case_and_audits_it():
    user = UserFactory(email="locked@example.test")
    _lock(user)
    assert account_locked_until(user=user) is not None

    assert _run("LOCKED@example.test") == "locked@example.test unlocked.\n"

    assert account_locked_until(user=user) is None
    event = AuditEvent.objects.get(action="account.unlocked")
    assert event.actor is None
    assert event.target_id == str(user.pk)


def test_an_account_without_failures_is_left_alone():
    UserFactory(email="fine@example.test")

    assert "nothing changed" in _run("fine@example.test")
    assert not AuditEvent.objects.filter(action="account.unlocked").exists()


def test_an_unknown_email_is_an_error():
    with pytest.raises(CommandError, match="No account has the email"):
        _run("nobody@example.test")
