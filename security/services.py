"""Sign-in protection: the per-IP throttle, the per-email lockout, and unlocking an account.

Lockout is platform-wide and keyed by the email address typed, whether or not an account has it,
so its answer reveals nothing. Every attempt is counted *before* its password is checked and
forgiven once the password proves correct: parallel requests cannot test more passwords than the
limits allow. See settings GATEHOUSE_LOCKOUT_* and GATEHOUSE_THROTTLE_LOGIN_IP_*. A sign-in flow
started from an org's application uses that org's threshold (Organization.lockout_threshold) when it
is stricter than the platform's, for every email typed in it.

Where things live: the attempts are a counter on the shared counters (security/counters.py: Redis,
or database rows on the embedded default), one per email, fixed window and generation; the lock
itself (its end, its level for the doubling, the generation) is a SignInLock row, because the
console shows it, the audit refers to it and it must outlast any counter store. A failed attempt
below the threshold writes no row.

Why the gate stays exact with the two in different stores: an attempt reads the row (not locked,
generation g) and then counts in generation g. A lockout moves the row to g + 1 in the same
transaction that sets the lock and never clears g's count. So an attempt that read the row before
the lockout committed counts on top of the THRESHOLD attempts the lockout was decided on, and is
refused; one that read it after sees the lock. As with one row, no attempt slips in at the switch.
"""

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from audit.fanout import audit_record_with_org_copies
from config.compiled_queries import CompiledQuery
from config.exceptions import DomainError, NotAllowed
from directory.selectors import user_mail_org
from emailqueue.services import email_enqueue
from orgs.models import Membership
from orgs.selectors import member_org_ids
from security.keys import counter_key, ip_bucket
from security.models import SignInLock
from security.throttle import (
    ThrottleDecision,
    throttle_count,
    throttle_forgive,
    throttle_hit,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockDecision:
    locked: bool
    retry_after: int = 0  # seconds until the lock ends (0 when not locked)


UNLOCKED = LockDecision(False)


def lockout_threshold(threshold: int | None = None) -> int:
    """The threshold in force: an org's own threshold can only make the platform's stricter.

    The org is the one whose application started the sign-in, and the client picks that by its
    client_id: were an org allowed a looser threshold, an attacker would start every guess from the
    most lenient org's app to get more tries per address.
    """
    platform = settings.GATEHOUSE_LOCKOUT_THRESHOLD
    return min(threshold, platform) if threshold else platform


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def signin_key(email: str) -> str:
    """The SignInLock key for an email address as typed, in any letter case."""
    return counter_key("signin-email", email.strip().lower())


def _failures_key(row_key: str, generation: int) -> str:
    """The throttle key counting an email's attempts in one generation (hashed again when stored)."""
    return f"signin-email:{row_key}:{generation}"


def _window_seconds() -> int:
    return settings.GATEHOUSE_LOCKOUT_WINDOW_SECONDS


@dataclass(frozen=True)
class _Row:
    """What an attempt reads of the email's SignInLock row (defaults when there is none)."""

    key: str
    locked_until: datetime | None = None
    generation: int = 0


# Read twice at every sign-in: its SQL is built once (config/compiled_queries.py).
_LOCK_OF_KEY = CompiledQuery(lambda key: SignInLock.objects.filter(key=key).order_by("pk")
                             .values_list("locked_until", "generation")[:1], "stand-in:signin-key")


def _row(email: str) -> _Row:
    """One plain SELECT; creates nothing."""
    key = signin_key(email)
    found = _LOCK_OF_KEY.first(key)
    return _Row(key, *found) if found else _Row(key)


def _lock_of(locked_until: datetime | None, now: datetime) -> LockDecision:
    if locked_until is not None and locked_until > now:
        return LockDecision(True, _seconds(locked_until - now))
    return UNLOCKED


def _failures(row_key: str, generation: int, now: datetime) -> int:
    return throttle_count(key=_failures_key(row_key, generation), window_seconds=_window_seconds(), now=now)


def signin_failures_count(*, email: str, now: datetime | None = None) -> int:
    """The attempts counted for `email` in the current window and generation: not yet forgotten by a
    success, consumed by a lockout or lifted by an unlock."""
    row = _row(email)
    return _failures(row.key, row.generation, now or timezone.now())


def _lock_row(email: str, now: datetime) -> SignInLock:
    """The email's row, created on first use and held (SELECT … FOR UPDATE) until the transaction ends."""
    lock, _ = SignInLock.objects.select_for_update().get_or_create(key=signin_key(email),
                                                                    defaults={"updated_at": now})
    return lock


def lock_period(level: int) -> timedelta:
    """The length of the `level`-th lockout in a row: BASE, doubling each time, at most MAX."""
    base = settings.GATEHOUSE_LOCKOUT_BASE_SECONDS
    seconds = min(base * 2 ** min(max(level, 1) - 1, 32), settings.GATEHOUSE_LOCKOUT_MAX_SECONDS)
    return timedelta(seconds=seconds)


# ---------------------------------------------------------------- per IP


def _ip_key(ip: str) -> str:
    return f"login-ip:{ip_bucket(ip)}"


def login_ip_hit(*, ip: str, now: datetime | None = None) -> ThrottleDecision:
    """Count a sign-in attempt from `ip`; refused past GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT per window."""
    return throttle_hit(key=_ip_key(ip), limit=settings.GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT,
                        window_seconds=settings.GATEHOUSE_THROTTLE_LOGIN_IP_WINDOW_SECONDS, now=now)


def login_ip_forgive(*, ip: str, now: datetime | None = None) -> None:
    """An attempt counted by login_ip_hit had the right password: it is not a failure."""
    throttle_forgive(key=_ip_key(ip), window_seconds=settings.GATEHOUSE_THROTTLE_LOGIN_IP_WINDOW_SECONDS, now=now)


# ---------------------------------------------------------------- per email


def signin_attempt_begin(*, email: str, now: datetime | None = None, threshold: int | None = None) -> LockDecision:
    """Count an attempt for `email` before its password is checked, or refuse it as locked.

    Refused while a lock is in force, and also when more than THRESHOLD attempts of the current
    window are counted (some may still be in flight): the limit holds for parallel requests too.
    One SELECT and one counter increment (none while locked).
    """
    now = now or timezone.now()
    row = _row(email)
    if (lock := _lock_of(row.locked_until, now)).locked:
        return lock
    counted = throttle_hit(key=_failures_key(row.key, row.generation), limit=lockout_threshold(threshold),
                           window_seconds=_window_seconds(), now=now)
    return UNLOCKED if counted.allowed else LockDecision(True, counted.retry_after)


def signin_attempt_failed(
    *, email: str, user=None, request=None, now: datetime | None = None, threshold: int | None = None,
) -> LockDecision:
    """A counted attempt had a wrong password (or an unknown email). Once THRESHOLD attempts are
    counted, the first of them to fail locks the address; the lock doubles with each lockout in a
    row, and the account's owner is emailed. Unknown addresses lock the same way, without mail.

    Answers locked only for the failure that set the lock: one that was in flight while a parallel
    attempt locked the address was simply a wrong password. Below the threshold this is one SELECT
    and one counter read, and writes nothing.
    """
    now = now or timezone.now()
    threshold = lockout_threshold(threshold)
    row = _row(email)
    if _lock_of(row.locked_until, now).locked or _failures(row.key, row.generation, now) < threshold:
        return UNLOCKED
    with transaction.atomic():
        lock = _lock_row(email, now)
        if _lock_of(lock.locked_until, now).locked:
            return UNLOCKED
        # Read again while holding the row: a success may have moved to a new generation meanwhile.
        if _failures(lock.key, lock.generation, now) < threshold:
            return UNLOCKED
        reset = timedelta(seconds=settings.GATEHOUSE_LOCKOUT_RESET_SECONDS)
        if lock.locked_until is not None and now - lock.locked_until >= reset:
            lock.level = 0
        lock.level += 1
        period = lock_period(lock.level)
        lock.locked_until = now + period
        lock.generation += 1  # the attempts this lock consumed stay behind (see the module docstring)
        lock.updated_at = now
        lock.save(update_fields=["level", "locked_until", "generation", "updated_at"])
        # A user of one org only is that org's to see (audit and email queue), as other mail about
        # them is; anyone else, and every unknown address, is platform-level. Each org where the account
        # is an active member gets the event too; an unknown address concerns no org.
        org = user_mail_org(user) if user is not None else None
        audit_record_with_org_copies(action="account.locked", copy_action="account.locked",
                                     copy_org_ids=member_org_ids(user=user) if user is not None else [],
                                     actor=None, org=org, target=user, request=request,
                                     metadata={"email": email[:254], "level": lock.level,
                                               "seconds": int(period.total_seconds()),
                                               "locked_until": lock.locked_until.isoformat(), "threshold": threshold})
        if user is not None:
            _lockout_email(user=user, org=org, locked_until=lock.locked_until, period=period, threshold=threshold)
    return LockDecision(True, _seconds(period))


def _lockout_email(*, user, org, locked_until: datetime, period: timedelta, threshold: int) -> None:
    try:
        _lockout_email_enqueue(user=user, org=org, locked_until=locked_until, period=period, threshold=threshold)
    except DomainError as exc:
        # An address mail cannot go to (say, an old import) must not undo the lock itself.
        logger.warning("Lockout notice for user %s not queued: %s", user.pk, exc)


def _lockout_email_enqueue(*, user, org, locked_until: datetime, period: timedelta, threshold: int) -> None:
    email_enqueue(
        to=user.email,
        template="account_locked",
        # Plain values only: the context must survive being stored with the outbox row.
        context={
            "name": user.full_name or user.email,
            "email": user.email,
            "locked_until": f"{locked_until.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            "minutes": _seconds(period) // 60,
            "threshold": threshold,
            "login_url": f"{settings.GATEHOUSE_ISSUER}{reverse('identity:login')}",
        },
        kind="account_locked",
        org=org,
    )


def signin_attempt_succeeded(*, email: str, now: datetime | None = None) -> LockDecision:
    """A counted attempt had the right password: the failures so far are forgotten.

    The lockout level is kept (it fades after GATEHOUSE_LOCKOUT_RESET_SECONDS), so an attacker
    cannot shorten the next lock. If a parallel attempt locked the address meanwhile, the lock wins.
    Writes the row only when there are failures to forget.
    """
    now = now or timezone.now()
    row = _row(email)
    if (decision := _lock_of(row.locked_until, now)).locked:
        return decision
    counted = _failures(row.key, row.generation, now)
    if not counted:
        return UNLOCKED
    if counted == 1:
        # Only this attempt is counted (signin_attempt_begin's): taking it back forgets the same
        # as a new generation, without a row per person who ever signed in and a locked write on
        # every sign-in. An attempt counted after the read stays counted, so this is never looser.
        throttle_forgive(key=_failures_key(row.key, row.generation), window_seconds=_window_seconds(), now=now)
        return UNLOCKED
    with transaction.atomic():
        lock = _lock_row(email, now)
        if (decision := _lock_of(lock.locked_until, now)).locked:
            return decision
        lock.generation += 1
        lock.updated_at = now
        lock.save(update_fields=["generation", "updated_at"])
    return UNLOCKED


def _unlock_allowed_check(*, user, actor, org) -> None:
    """DESIGN.md: an org admin may unlock only users who belong to that org alone; anyone else is a
    platform operator's action. `actor=None` is the system (manage.py account_unlock)."""
    if org is None:
        if actor is not None and not getattr(actor, "is_superuser", False):
            raise NotAllowed("Only a platform operator can unlock an account outside an organization.")
        return
    memberships = Membership.objects.filter(user=user)
    if user.is_superuser or not memberships.filter(org=org).exists() or memberships.exclude(org=org).exists():
        raise NotAllowed(f"{user.email} also belongs to another organization; ask a platform operator.")


@transaction.atomic
def account_unlock(*, user, actor, request=None, org=None) -> bool:
    """Lift `user`'s sign-in lock and forget its failures and lockout history. Audited (in `org`
    when an org admin did it). Returns False, writing nothing, when there was nothing to lift.

    The org admin's permission is the view's check; the cross-org rule is enforced here (raises
    NotAllowed, see _unlock_allowed_check).
    """
    _unlock_allowed_check(user=user, actor=actor, org=org)
    now = timezone.now()
    lock = SignInLock.objects.select_for_update().filter(key=signin_key(user.email)).first()
    if lock is None:
        if not signin_failures_count(email=user.email, now=now):
            return False
        lock = _lock_row(user.email, now)
    elif not (lock.level or lock.locked_until or _failures(lock.key, lock.generation, now)):
        return False
    was_locked = _lock_of(lock.locked_until, now).locked
    before = lock.locked_until.isoformat() if lock.locked_until else None
    lock.attempts = 0  # a column from before the counters moved (security/models.py)
    lock.window_started_at = None
    lock.level = 0
    lock.locked_until = None
    lock.generation += 1  # the failures counted so far stay behind
    lock.updated_at = now
    lock.save()
    audit_record_with_org_copies(action="account.unlocked", copy_action="account.unlocked",
                                 copy_org_ids=member_org_ids(user=user), actor=actor, org=org, target=user,
                                 request=request,
                                 metadata={"email": user.email, "was_locked": was_locked, "locked_until": before})
    return True


def signin_locks_prune(*, now: datetime | None = None) -> int:
    """Delete lock rows that no longer matter: no lock recent enough to count toward the doubling,
    unchanged for a window, and no attempts counted in their generation (deleting the row restarts
    the generation at 0, which would forget them). Returns how many went."""
    now = now or timezone.now()
    window = timedelta(seconds=settings.GATEHOUSE_LOCKOUT_WINDOW_SECONDS)
    reset = timedelta(seconds=settings.GATEHOUSE_LOCKOUT_RESET_SECONDS)
    candidates = SignInLock.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now - reset),
        updated_at__lt=now - window,
    ).values_list("pk", "key", "generation")
    idle = [pk for pk, key, generation in candidates.iterator() if not _failures(key, generation, now)]
    deleted, _ = SignInLock.objects.filter(pk__in=idle).delete() if idle else (0, {})
    return deleted
