"""The per-email lockout as services: threshold, growth, fading, unknown emails, unlock, pruning.

Time is passed in as `now=`; nothing sleeps. Every test runs with the attempts counted in database
rows and in Redis (`services`); the lock itself is a database row on both.
"""

from datetime import UTC, datetime, timedelta

import pytest

from audit.models import AuditEvent
from config.exceptions import DomainError, NotAllowed
from directory.tests.factories import MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from security import services
from security.models import SignInLock
from security.selectors import account_locked_until
from security.services import (
    LockDecision,
    account_unlock,
    lock_period,
    signin_attempt_begin,
    signin_attempt_failed,
    signin_attempt_succeeded,
    signin_failures_count,
    signin_locks_prune,
)
from security.tests.counter_support import stored

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counter_backend")]

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
UNKNOWN = "nobody@example.test"


@pytest.fixture
def user(org):
    return MembershipFactory(org=org, user=UserFactory(email="victim@example.test")).user


def fail(email: str, now: datetime, user=None) -> LockDecision:
    """One attempt with a wrong password, as password_check runs it."""
    if (gate := signin_attempt_begin(email=email, now=now)).locked:
        return gate
    return signin_attempt_failed(email=email, user=user, now=now)


def fail_until_locked(email, now, user=None, threshold=10) -> LockDecision:
    results = [fail(email, now, user) for _ in range(threshold)]
    assert not any(r.locked for r in results[:-1])
    assert results[-1].locked
    return results[-1]


def test_defaults_are_ten_failures_in_fifteen_minutes_locking_for_fifteen_minutes(settings):
    assert settings.GATEHOUSE_LOCKOUT_THRESHOLD == 10
    assert settings.GATEHOUSE_LOCKOUT_WINDOW_SECONDS == 15 * 60
    assert settings.GATEHOUSE_LOCKOUT_BASE_SECONDS == 15 * 60
    assert settings.GATEHOUSE_LOCKOUT_MAX_SECONDS == 24 * 3600
    assert settings.GATEHOUSE_LOCKOUT_RESET_SECONDS == 24 * 3600


def test_nine_failures_leave_the_account_open_and_success_forgets_them(user):
    for _ in range(9):
        assert fail(user.email, T0, user) == LockDecision(False)

    assert signin_attempt_begin(email=user.email, now=T0) == LockDecision(False)
    assert signin_attempt_succeeded(email=user.email, now=T0) == LockDecision(False)
    assert signin_failures_count(email=user.email, now=T0) == 0
    assert SignInLock.objects.get().locked_until is None
    # Nine more failures are again not enough.
    for _ in range(9):
        assert not fail(user.email, T0, user).locked


def test_a_sign_in_without_earlier_failures_leaves_nothing_counted_and_writes_no_row(user):
    signin_attempt_begin(email=user.email, now=T0)
    assert signin_attempt_succeeded(email=user.email, now=T0) == LockDecision(False)

    assert signin_failures_count(email=user.email, now=T0) == 0
    assert not SignInLock.objects.exists()
    # The next ten failures lock, as for an address that never signed in.
    assert fail_until_locked(user.email, T0, user) == LockDecision(True, 15 * 60)


def test_the_tenth_failure_locks_and_then_every_attempt_is_refused(user):
    decision = fail_until_locked(user.email, T0, user)

    assert decision == LockDecision(True, 15 * 60)
    assert signin_attempt_begin(email=user.email, now=T0 + 14 * MIN) == LockDecision(True, 60)
    assert account_locked_until(user=user, now=T0) == T0 + 15 * MIN
    # Once the lock ends, a fresh set of attempts is allowed.
    assert signin_attempt_begin(email=user.email, now=T0 + 15 * MIN) == LockDecision(False)
    assert account_locked_until(user=user, now=T0 + 15 * MIN) is None


def test_failures_older_than_the_window_do_not_count(user):
    for _ in range(9):
        fail(user.email, T0, user)
    assert not SignInLock.objects.exists()  # failures below the threshold write no row

    assert not fail(user.email, T0 + 15 * MIN, user).locked
    assert signin_failures_count(email=user.email, now=T0 + 15 * MIN) == 1


def test_any_letter_case_counts_toward_the_same_lock(user):
    for i in range(9):
        fail(user.email.upper() if i % 2 else user.email, T0, user)

    assert fail(" Victim@Example.TEST ", T0, user).locked


def test_lock_period_doubles_with_each_lockout_in_a_row_up_to_a_day(user):
    now, periods = T0, []
    for _ in range(9):
        decision = fail_until_locked(user.email, now, user)
        periods.append(decision.retry_after // 60)
        now += timedelta(seconds=decision.retry_after)  # the moment this lock ends

    assert periods == [15, 30, 60, 120, 240, 480, 960, 1440, 1440]
    assert SignInLock.objects.get().level == 9
    assert [lock_period(level).total_seconds() // 60 for level in (1, 2, 3, 100)] == [15, 30, 60, 1440]


def test_a_successful_sign_in_does_not_shorten_the_next_lock(user):
    first = fail_until_locked(user.email, T0, user)
    after = T0 + timedelta(seconds=first.retry_after)
    signin_attempt_begin(email=user.email, now=after)
    signin_attempt_succeeded(email=user.email, now=after)

    assert fail_until_locked(user.email, after, user).retry_after == 30 * 60


def test_a_day_without_lockouts_starts_the_doubling_over(user):
    first = fail_until_locked(user.email, T0, user)
    lock_ended = T0 + timedelta(seconds=first.retry_after)
    assert fail_until_locked(user.email, lock_ended + timedelta(hours=23), user).retry_after == 30 * 60
    second_ended = lock_ended + timedelta(hours=23, minutes=30)

    assert fail_until_locked(user.email, second_ended + timedelta(hours=24), user).retry_after == 15 * 60
    assert SignInLock.objects.get().level == 1


def test_an_unknown_email_locks_exactly_like_a_known_one(user):
    known = [fail(user.email, T0, user) for _ in range(11)]
    unknown = [fail(UNKNOWN, T0) for _ in range(11)]

    assert known == unknown
    assert unknown[-2:] == [LockDecision(True, 900), LockDecision(True, 900)]


def test_a_lockout_is_audited_and_the_owner_is_emailed(user, org, settings):
    fail_until_locked(user.email, T0, user)

    event = AuditEvent.objects.get(action="account.locked")
    assert event.target_id == str(user.pk)
    assert event.actor is None
    assert event.org == org  # a user of one org only: that org's admins see it (and can unlock)
    assert event.metadata == {"email": user.email, "level": 1, "seconds": 900,
                              "locked_until": (T0 + 15 * MIN).isoformat(), "threshold": 10}
    mail = OutboundEmail.objects.get()
    assert mail.recipient == user.email
    assert mail.org == org
    assert mail.kind == "account_locked"
    assert mail.template == "account_locked"
    assert "signing in is paused" in mail.subject
    assert "10 times" in mail.body_text
    assert "2030-01-01 12:15 UTC" in mail.body_text
    assert f"Sign in: {settings.GATEHOUSE_ISSUER}/login" in mail.body_text
    assert "2030-01-01 12:15 UTC" in mail.body_html


def test_a_user_of_several_orgs_is_locked_at_platform_level(user, org, other_org):
    MembershipFactory(org=other_org, user=user)
    fail_until_locked(user.email, T0, user)

    assert AuditEvent.objects.get(action="account.locked", org=None).target_id == str(user.pk)
    # Each org where the account is an active member gets the event too (its log and webhooks).
    copies = AuditEvent.objects.filter(action="account.locked", org__isnull=False)
    assert sorted(copy.org_id for copy in copies) == sorted([org.pk, other_org.pk])
    assert OutboundEmail.objects.get().org is None


def test_an_unknown_email_lockout_is_audited_without_target_and_mails_nobody(db):
    fail_until_locked(UNKNOWN, T0)

    event = AuditEvent.objects.get(action="account.locked")
    assert event.org is None
    assert event.target_id == ""
    assert event.metadata["email"] == UNKNOWN
    assert not OutboundEmail.objects.exists()


def test_parallel_attempts_already_locked_do_not_lock_twice(user):
    # Ten attempts counted (in flight), then all ten fail: one lockout, one mail.
    for _ in range(10):
        assert not signin_attempt_begin(email=user.email, now=T0).locked
    assert signin_attempt_begin(email=user.email, now=T0) == LockDecision(True, 900)  # the 11th waits
    results = [signin_attempt_failed(email=user.email, user=user, now=T0) for _ in range(10)]

    assert [r.locked for r in results] == [True] + [False] * 9  # only the first to finish locked it
    assert signin_attempt_begin(email=user.email, now=T0) == LockDecision(True, 900)
    assert SignInLock.objects.get().level == 1
    assert AuditEvent.objects.filter(action="account.locked").count() == 1
    assert OutboundEmail.objects.count() == 1


def test_a_right_password_that_finishes_after_a_parallel_lockout_is_refused(user):
    for _ in range(10):
        signin_attempt_begin(email=user.email, now=T0)
    signin_attempt_failed(email=user.email, user=user, now=T0)

    assert signin_attempt_succeeded(email=user.email, now=T0).locked


def test_a_mail_that_cannot_be_queued_does_not_undo_the_lock(user, monkeypatch):
    def refuse(**kwargs):
        raise DomainError("not an address")

    monkeypatch.setattr(services, "email_enqueue", refuse)
    assert fail_until_locked(user.email, T0, user).locked
    assert AuditEvent.objects.filter(action="account.locked").exists()


def test_unlock_lifts_the_lock_forgets_the_history_and_is_audited(user, operator, org):
    now = T0
    for _ in range(3):
        now += timedelta(seconds=fail_until_locked(user.email, now, user).retry_after)
    fail_until_locked(user.email, now, user)  # level 4: a two-hour lock

    assert account_unlock(user=user, actor=operator, org=org) is True

    assert account_locked_until(user=user) is None
    lock = SignInLock.objects.get()
    assert (lock.level, lock.locked_until) == (0, None)
    assert signin_failures_count(email=user.email, now=now) == 0
    event = AuditEvent.objects.get(action="account.unlocked")
    assert event.actor == operator
    assert event.org == org
    assert event.target_id == str(user.pk)
    assert event.metadata["email"] == user.email
    assert event.metadata["locked_until"] == (now + timedelta(hours=2)).isoformat()
    # The next lockout starts again at fifteen minutes.
    assert fail_until_locked(user.email, now + MIN, user).retry_after == 15 * 60


def test_an_org_admin_unlocks_a_user_of_their_org_alone(user, org, org_admin):
    fail_until_locked(user.email, T0, user)

    assert account_unlock(user=user, actor=org_admin, org=org)

    event = AuditEvent.objects.get(action="account.unlocked")
    assert (event.actor, event.org) == (org_admin, org)


def test_a_user_who_also_belongs_elsewhere_is_an_operators_to_unlock(user, org, org_admin, other_org, operator):
    MembershipFactory(org=other_org, user=user)
    fail_until_locked(user.email, T0, user)

    with pytest.raises(NotAllowed, match="also belongs to another organization"):
        account_unlock(user=user, actor=org_admin, org=org)
    with pytest.raises(NotAllowed, match="also belongs to another organization"):
        account_unlock(user=user, actor=org_admin, org=other_org)
    with pytest.raises(NotAllowed, match="Only a platform operator"):
        account_unlock(user=user, actor=org_admin)
    assert SignInLock.objects.get().locked_until is not None
    assert not AuditEvent.objects.filter(action="account.unlocked").exists()

    assert account_unlock(user=user, actor=operator)


def test_an_org_admin_cannot_unlock_someone_outside_their_org(org, org_admin):
    outsider = UserFactory(email="elsewhere@example.test")
    fail_until_locked(outsider.email, T0, outsider)

    with pytest.raises(NotAllowed):
        account_unlock(user=outsider, actor=org_admin, org=org)


def test_unlocking_an_account_with_nothing_to_lift_writes_nothing(user, operator):
    assert account_unlock(user=user, actor=operator) is False
    signin_attempt_begin(email=user.email, now=T0)
    signin_attempt_succeeded(email=user.email, now=T0)

    assert account_unlock(user=user, actor=operator) is False
    assert not AuditEvent.objects.filter(action="account.unlocked").exists()


def test_a_lockout_consumes_the_counted_attempts_and_unlock_forgets_a_partial_count(user, operator):
    fail_until_locked(user.email, T0, user)
    assert signin_failures_count(email=user.email, now=T0) == 0
    assert SignInLock.objects.get().level == 1

    # In real time, as account_unlock takes it.
    assert account_unlock(user=user, actor=operator) is True
    for _ in range(4):
        signin_attempt_begin(email=user.email)
        signin_attempt_failed(email=user.email, user=user)
    assert signin_failures_count(email=user.email) == 4
    assert account_unlock(user=user, actor=operator) is True  # four failures are something to lift
    assert signin_failures_count(email=user.email) == 0
    assert AuditEvent.objects.filter(action="account.unlocked", org=None).count() == 2
    assert AuditEvent.objects.filter(action="account.unlocked").count() == 4  # and a copy each in the user's org


def test_attempts_refused_during_a_lock_do_not_count_against_the_next_window(user):
    fail_until_locked(user.email, T0, user)
    for _ in range(25):
        assert signin_attempt_begin(email=user.email, now=T0 + MIN).locked

    assert signin_failures_count(email=user.email, now=T0 + MIN) == 0
    assert not signin_attempt_begin(email=user.email, now=T0 + 15 * MIN).locked


def test_no_raw_email_is_stored(user, counter_backend):
    fail(user.email, T0, user)
    fail_until_locked(UNKNOWN, T0)
    fail(UNKNOWN, T0 + 15 * MIN)

    counter_keys = [name.rpartition(":")[0] for name in stored(counter_backend)]
    lock_keys = list(SignInLock.objects.values_list("key", flat=True))
    assert (len(counter_keys), len(lock_keys)) == (3, 1)  # the unknown address: before and after its lockout
    assert all(len(key) == 64 and "example" not in key for key in counter_keys + lock_keys)


def test_prune_keeps_rows_that_still_matter(user):
    fail(UNKNOWN, T0)  # a lone failure: a counter, no lock row
    fail_until_locked(user.email, T0, user)  # a lockout: counts toward doubling for a day after it ends
    assert SignInLock.objects.count() == 1

    assert signin_locks_prune(now=T0 + 10 * MIN) == 0
    assert signin_locks_prune(now=T0 + 16 * MIN) == 0
    assert signin_locks_prune(now=T0 + 15 * MIN + timedelta(hours=24) - MIN) == 0
    assert signin_locks_prune(now=T0 + 15 * MIN + timedelta(hours=24, minutes=1)) == 1
    assert not SignInLock.objects.exists()
