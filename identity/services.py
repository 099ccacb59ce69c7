"""Sign-in and sign-out: checking a password, starting and ending a signed-in session."""

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from importlib import import_module

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from applications.tokens import tokens_revoke_for_sessions
from audit.fanout import audit_record_with_org_copies
from audit.services import audit_record
from directory.models import User
from directory.selectors import user_get_by_email, user_mail_org
from emailqueue.services import email_enqueue
from identity.backchannel.services import backchannel_logout_enqueue
from identity.devices import describe_device
from identity.middleware import SESSION_SID_KEY
from identity.models import UserSession
from orgs.models import Membership, Organization
from orgs.selectors import member_org_ids, membership_in_force, memberships_remember, user_memberships
from security.services import (
    login_ip_forgive,
    login_ip_hit,
    signin_attempt_begin,
    signin_attempt_failed,
    signin_attempt_succeeded,
)


class PasswordOutcome(enum.Enum):
    OK = "ok"
    INVALID = "invalid"  # unknown email or wrong password: the same answer for both
    DISABLED = "disabled"
    SUSPENDED = "suspended"
    LOCKED = "locked"  # too many failures for this email, known or not: the same answer for both
    THROTTLED = "throttled"  # too many failures from this client IP


@dataclass(frozen=True)
class PasswordCheck:
    outcome: PasswordOutcome
    user: User | None = None
    suspended_orgs: tuple[str, ...] = ()
    retry_after: int = 0  # seconds, for LOCKED and THROTTLED


def _suspended_orgs(user: User) -> tuple[str, ...]:
    """Org names when every membership of `user` is suspended (or in a suspended org).

    Users with no membership (operators, or people between invitations) are not refused here;
    invited memberships let the user in so they can accept.
    """
    memberships = memberships_remember(user=user)  # the rest of the sign-in reads them again
    if not memberships:
        return ()
    in_force = [
        m for m in memberships
        if m.status != Membership.Status.SUSPENDED and m.org.status == Organization.Status.ACTIVE
    ]
    return () if in_force else tuple(sorted(m.org.name for m in memberships))


def _password_verify(*, email: str, password: str) -> PasswordCheck:
    user = user_get_by_email(email=email)
    if user is None:
        User().set_password(password)
        return PasswordCheck(PasswordOutcome.INVALID)
    if not user.check_password(password):
        return PasswordCheck(PasswordOutcome.INVALID, user=user)
    if not user.is_active:
        return PasswordCheck(PasswordOutcome.DISABLED, user=user)
    if not user.is_superuser and (suspended := _suspended_orgs(user)):
        return PasswordCheck(PasswordOutcome.SUSPENDED, user=user, suspended_orgs=suspended)
    return PasswordCheck(PasswordOutcome.OK, user=user)


def password_check(
    *, email: str, password: str, request=None, now: datetime | None = None, lockout_threshold: int | None = None,
) -> PasswordCheck:
    """Verify an email and password at sign-in, under the per-IP throttle and the per-email lockout.

    The client IP (request.client_ip, trusted-proxy aware) is throttled first, so a throttled
    client cannot push anyone toward a lockout; then the email's lockout is consulted. Both count
    the attempt before the password is checked, and forgive it when the password is right.
    While locked even the right password is refused, and the hasher does not run.

    An unknown email still runs the password hasher once, so the answer takes about as long as a
    wrong password and reveals nothing; it counts toward a lockout exactly like a known one.
    Disabled and suspended are only told after a correct password. `lockout_threshold` is the
    sign-in flow's org's own threshold (None: the platform's), the same for every email typed.
    """
    now = now or timezone.now()
    ip = getattr(request, "client_ip", None) if request is not None else None
    if ip is not None and not (throttle := login_ip_hit(ip=ip, now=now)).allowed:
        return PasswordCheck(PasswordOutcome.THROTTLED, retry_after=throttle.retry_after)
    if (gate := signin_attempt_begin(email=email, now=now, threshold=lockout_threshold)).locked:
        return PasswordCheck(PasswordOutcome.LOCKED, retry_after=gate.retry_after)
    check = _password_verify(email=email, password=password)
    if check.outcome is PasswordOutcome.INVALID:
        lock = signin_attempt_failed(email=email, user=check.user, request=request, now=now,
                                     threshold=lockout_threshold)
        if lock.locked:
            return PasswordCheck(PasswordOutcome.LOCKED, user=check.user, retry_after=lock.retry_after)
        return check
    # The password was right (even if the account may not sign in): not a failure to count.
    if (lock := signin_attempt_succeeded(email=email, now=now)).locked:
        return PasswordCheck(PasswordOutcome.LOCKED, user=check.user, retry_after=lock.retry_after)
    if ip is not None:
        login_ip_forgive(ip=ip, now=now)
    return check


def _active_memberships(user: User) -> list[tuple[int, bool]]:
    """(org id, whether the org emails about new devices) for each active membership of `user` in an active
    org: orgs.selectors.member_org_ids with the email flag."""
    return [(m.org_id, m.org.notify_new_device_sign_in) for m in user_memberships(user=user) if membership_in_force(m)]


def member_sign_in_org_ids(user: User) -> list[int]:
    """The orgs that see `user`'s sign-ins and failed sign-ins: those of its active memberships in active orgs."""
    return member_org_ids(user=user)


def login_failed_record(*, request, email: str, check: PasswordCheck, org=None) -> None:
    """Audit a refused sign-in. Unknown emails are recorded too. `org` is the org whose application
    started the sign-in (its failed sign-ins chart and audit log show it); otherwise platform-level.

    A request refused by the per-IP throttle is `login.throttled`; every other refusal is
    `login.failed` with its reason. A refusal for an existing account (wrong password, locked, disabled)
    is also its orgs' business: each org where it is an active member gets a `login.member_failed` copy.
    An unknown address belongs to no org but the one whose app started the sign-in, and that org is never
    told which account an address it does not have as a member belongs to (no target, exactly as unknown).
    """
    metadata = {"email": email[:254], "reason": check.outcome.value}
    if check.retry_after:
        metadata["retry_after"] = check.retry_after
    user = check.user
    if user is None and check.outcome is PasswordOutcome.LOCKED:
        user = user_get_by_email(email=email)  # locked before the password was looked at
    member_orgs = member_sign_in_org_ids(user) if user is not None else []
    target, origin_metadata = user, metadata
    if org is not None and org.pk not in member_orgs:
        # The app's org must learn nothing it could not learn from an unknown address: no account named, and
        # "disabled"/"suspended" (told only after a right password) read as a wrong password would.
        target = None
        if check.outcome in (PasswordOutcome.DISABLED, PasswordOutcome.SUSPENDED):
            origin_metadata = {**metadata, "reason": PasswordOutcome.INVALID.value}
    audit_record_with_org_copies(
        action="login.throttled" if check.outcome is PasswordOutcome.THROTTLED else "login.failed",
        copy_action="login.member_failed",
        copy_org_ids=member_orgs,
        actor=None,
        org=org,
        target=target,
        request=request,
        metadata=origin_metadata,
        copy_target=user,
        copy_metadata=metadata,
    )


def _new_user_session(*, request, user: User, amr: list[str]) -> UserSession:
    now = timezone.now()
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:500]
    return UserSession.objects.create(
        user=user,
        session_key=request.session.session_key or "",
        user_agent=user_agent,
        device=describe_device(user_agent),
        ip=getattr(request, "client_ip", None) or None,
        amr=amr,
        auth_time=now,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.SESSION_COOKIE_AGE),
    )


@transaction.atomic
def session_start(*, request, user: User, amr: list[str], org=None) -> UserSession:
    """Sign `user` in: cycle the session key, record the UserSession and the audit event.

    A browser that was already signed in (as anyone) gives up that session first, so its old
    UserSession row does not linger as if still in use.
    """
    previous = getattr(request, "user_session", None)
    if previous is not None:
        backchannel_logout_enqueue(sessions=UserSession.objects.live().filter(pk=previous.pk),
                                   reason=UserSession.EndReason.LOGOUT)
        UserSession.objects.filter(pk=previous.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=UserSession.EndReason.LOGOUT
        )
    login(request, user, backend=settings.SESSION_AUTH_BACKEND)
    user_session = _new_user_session(request=request, user=user, amr=amr)
    request.session[SESSION_SID_KEY] = user_session.sid
    request.user_session = user_session
    # One membership query serves both the orgs that see this sign-in and the new-device email.
    member_orgs = _active_memberships(user)
    audit_record_with_org_copies(action="login.succeeded", copy_action="login.member_succeeded",
                                 copy_org_ids=[org_id for org_id, _ in member_orgs], actor=user, org=org,
                                 target=user, request=request, metadata={"amr": amr, "sid": user_session.sid})
    if any(notify for _, notify in member_orgs):
        _notify_if_new_device(user=user, user_session=user_session)
    return user_session


# A device (browser and system) not seen in this long counts as new again.
NEW_DEVICE_MEMORY = timedelta(days=90)


def _notify_if_new_device(*, user: User, user_session: UserSession) -> None:
    """Email the user about a sign-in from a device they have not used lately, when one of their
    organizations asks for it (session_start checks that). A first-ever sign-in is not news, so it sends nothing."""
    earlier = UserSession.objects.filter(user=user, created_at__gte=user_session.created_at - NEW_DEVICE_MEMORY)
    earlier = earlier.exclude(pk=user_session.pk)
    if not earlier.exists() or earlier.filter(device=user_session.device).exists():
        return

    email_enqueue(to=user.email, template="new_device_sign_in", kind="new_device_sign_in", org=user_mail_org(user),
                  context={"user": user, "device": user_session.device, "ip": user_session.ip,
                           "when": user_session.created_at})


@transaction.atomic
def session_end(*, request, reason: str = UserSession.EndReason.LOGOUT) -> None:
    """Sign the browser out: close its UserSession row as every ending does (user_session_end), then log out."""
    user = request.user if request.user.is_authenticated else None
    user_session = getattr(request, "user_session", None)
    tokens_revoked = 0
    if user_session is not None:
        _, tokens_revoked = _sessions_close(sessions=UserSession.objects.filter(pk=user_session.pk), reason=reason)
    if user is not None:
        audit_record(action="session.ended", actor=user, target=user, request=request,
                     metadata={"reason": reason, "sid": user_session.sid if user_session else "",
                               "tokens_revoked": tokens_revoked})
    logout(request)


# Why a session was ended, as audit metadata and back-channel logout reasons say it (at most 32 characters).
class SessionEndCause:
    BY_USER = "ended_by_user"  # from the user's account page, one or "everywhere else"
    BY_ADMIN = "ended_by_admin"  # an org admin's "End all sessions"
    MEMBERSHIP_SUSPENDED = "membership.suspended"
    MEMBERSHIP_REMOVED = "membership.removed"
    USER_DISABLED = "user.disabled"
    PASSWORD_CHANGED = "password.changed"


def _django_sessions_delete(session_keys: Iterable[str]) -> None:
    """Delete Django sessions by key, through the configured engine (cached_db: the cache entry and the row)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in session_keys:
        store().delete(key)


def _sessions_close(*, sessions: QuerySet[UserSession], reason: str, org=None) -> tuple[list[UserSession], int]:
    """End the live rows among `sessions`: tell the apps used in them (back-channel logout, after commit),
    revoke the tokens issued in them, mark them ended and delete their Django sessions after commit.
    With `org`, only that org's apps are told and lose their tokens; the browser is signed out all the same.

    The rows are locked first, so two requests ending the same session end it (and count it) once.
    Returns the rows ended and how many token rows were revoked.
    """
    # Rows past their expiry but not yet closed are the sweep's (expired_sessions_purge): not counted here.
    rows = list(sessions.live().filter(expires_at__gt=timezone.now()).select_for_update()
                .only("pk", "sid", "session_key", "device", "ip"))
    if not rows:
        return [], 0
    ended = UserSession.objects.filter(pk__in=[row.pk for row in rows])
    backchannel_logout_enqueue(sessions=ended, reason=reason, org=org)
    tokens_revoked = tokens_revoke_for_sessions(sids=[row.sid for row in rows], reason=reason, org=org)
    end_reason = UserSession.EndReason.LOGOUT if reason == UserSession.EndReason.LOGOUT \
        else UserSession.EndReason.REVOKED
    ended.update(ended_at=timezone.now(), end_reason=end_reason)
    # The middleware already refuses an ended row; deleting the session too leaves the cookie worth nothing
    # even to a request that reaches no middleware, and frees the row at once.
    transaction.on_commit(partial(_django_sessions_delete, [row.session_key for row in rows if row.session_key]))
    return rows, tokens_revoked


@transaction.atomic
def user_session_end(*, user_session: UserSession, actor, reason: str, request=None, org=None) -> bool:
    """End one signed-in session of a user: the browser is signed out at its next request, the tokens
    issued in it are revoked, the apps used in it are told (back-channel logout). Audited as
    `session.ended` with the acting user and the user whose session it was. A session already ended
    changes nothing and returns False.

    `org` is the org on whose behalf it is done (its admin, or a change to the membership): the browser
    session is one sign-in for every org, so it ends; but only that org's apps lose what they got in it
    and are told. One org has no say over another org's apps.
    """
    rows, tokens_revoked = _sessions_close(sessions=UserSession.objects.filter(pk=user_session.pk), reason=reason,
                                           org=org)
    if not rows:
        return False
    ended = rows[0]
    audit_record(action="session.ended", actor=actor, org=org, target=user_session.user, request=request,
                 metadata={"reason": reason, "sid": ended.sid, "device": ended.device,
                           "ip": ended.ip or "", "tokens_revoked": tokens_revoked})
    return True


@transaction.atomic
def user_sessions_end_all(
    *, user: User, actor, reason: str, except_session: UserSession | None = None, request=None, org=None,
) -> int:
    """End every live session of `user` (but `except_session`, the one asking "everywhere else"), as
    user_session_end ends one. Audited once, as `sessions.ended`, when any ended. Returns how many ended.
    """
    sessions = UserSession.objects.filter(user=user)
    if except_session is not None:
        sessions = sessions.exclude(pk=except_session.pk)
    rows, tokens_revoked = _sessions_close(sessions=sessions, reason=reason, org=org)
    if rows:
        metadata = {"reason": reason, "count": len(rows), "sids": [row.sid for row in rows],
                    "tokens_revoked": tokens_revoked}
        if except_session is not None:
            metadata["kept_sid"] = except_session.sid
        audit_record(action="sessions.ended", actor=actor, org=org, target=user, request=request, metadata=metadata)
    return len(rows)


def session_sign_in_for_tests(*, client, user: User) -> UserSession:
    """Give a Django test client a signed-in session with its UserSession row, as session_start does."""
    client.force_login(user, backend=settings.SESSION_AUTH_BACKEND)
    now = timezone.now()
    user_session = UserSession.objects.create(
        user=user, device="Test client", amr=["pwd"], auth_time=now,
        expires_at=now + timedelta(seconds=settings.SESSION_COOKIE_AGE),
    )
    session = client.session
    session[SESSION_SID_KEY] = user_session.sid
    session.save()
    UserSession.objects.filter(pk=user_session.pk).update(session_key=session.session_key)
    user_session.session_key = session.session_key
    return user_session
