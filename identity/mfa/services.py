"""Writes of second factors: enrolling and removing authenticator apps, recovery codes, checking a code
at sign-in (throttled, audited) and stepping a signed-in session up to MFA.

`mfa_verify_code` is the one place a code is checked: the second-factor sign-in step uses it, and a
step-up page for sensitive actions can call it the same way.
"""

import enum
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from config.exceptions import DomainError
from directory.models import User
from directory.selectors import user_mail_org
from emailqueue.services import email_enqueue
from identity.mfa.models import (
    RECOVERY_CODE_COUNT,
    RecoveryCode,
    RecoveryCodeSet,
    TotpDevice,
    recovery_code_new,
)
from identity.mfa.selectors import user_factor_count, user_mfa_requirement, user_totp_devices
from identity.models import UserSession
from security.throttle import throttle_forgive, throttle_hit

NAME_MAX_LENGTH = 64


class CodeOutcome(enum.Enum):
    OK = "ok"
    INVALID = "invalid"  # wrong, malformed, already used, or replayed: the same answer for each
    THROTTLED = "throttled"


class CodeKind(enum.StrEnum):
    TOTP = "totp"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class CodeCheck:
    outcome: CodeOutcome
    kind: CodeKind
    retry_after: int = 0
    recovery_codes_left: int | None = None
    # THROTTLED by django-otp's short back-off after a wrong code, not by the guess limit: the answer is
    # "wait a few seconds", whatever the guess limit's window has left (which can be seconds too).
    back_off: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome is CodeOutcome.OK


def _throttle_key(user: User) -> str:
    return f"mfa-user:{user.pk}"


def mfa_verify_code(*, user: User, code: str, kind: CodeKind, request=None, org=None) -> CodeCheck:
    """Check a code the user typed: an authenticator app's (any of their apps) or an unused recovery code.

    Every attempt is counted before the code is checked and forgiven when it is right, so parallel
    guesses cannot test more codes than GATEHOUSE_MFA_THROTTLE_LIMIT per window. A wrong code is
    audited (`mfa.failed`); the attempt that reaches the limit is audited once (`mfa.throttled`). A
    used recovery code is audited and mailed to the user with how many are left. A TOTP code is
    accepted once (its time step is remembered), within one step of clock drift either way.
    """
    window = settings.GATEHOUSE_MFA_THROTTLE_WINDOW_SECONDS
    decision = throttle_hit(key=_throttle_key(user), limit=settings.GATEHOUSE_MFA_THROTTLE_LIMIT,
                            window_seconds=window)
    if not decision.allowed:
        if decision.count == settings.GATEHOUSE_MFA_THROTTLE_LIMIT + 1:
            audit_record(action="mfa.throttled", actor=None, org=org, target=user, request=request,
                         metadata={"kind": kind.value, "retry_after": decision.retry_after})
        return CodeCheck(CodeOutcome.THROTTLED, kind, retry_after=decision.retry_after)
    if kind is CodeKind.TOTP:
        verified, wait = _totp_verify(user=user, code=code)
        if wait:
            # django-otp's own back-off (seconds, capped in models.py) after wrong codes: say so rather
            # than call a possibly right code wrong; this attempt was not a guess, so it is not counted.
            throttle_forgive(key=_throttle_key(user), window_seconds=window)
            return CodeCheck(CodeOutcome.THROTTLED, kind, retry_after=wait, back_off=True)
        left = None
    else:
        verified, left = _recovery_code_use(user=user, code=code, request=request, org=org)
    if not verified:
        audit_record(action="mfa.failed", actor=None, org=org, target=user, request=request,
                     metadata={"kind": kind.value})
        return CodeCheck(CodeOutcome.INVALID, kind)
    throttle_forgive(key=_throttle_key(user), window_seconds=window)
    return CodeCheck(CodeOutcome.OK, kind, recovery_codes_left=left)


@transaction.atomic
def _totp_verify(*, user: User, code: str) -> tuple[bool, int]:
    """Whether any of the user's apps accepts the code, and the seconds of django-otp's back-off that keep
    every app from checking one now (0: none). The rows are locked, so two requests racing with the same
    code cannot both pass: the second sees the first's time step and is refused as a replay."""
    devices = list(TotpDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk"))
    if devices and (wait := _totp_back_off(devices)):
        return False, wait
    return any(device.verify_token(code) for device in devices), 0


def _totp_back_off(devices: list[TotpDevice]) -> int:
    """Seconds until one of the devices accepts a code again (0: one does now)."""
    waits = []
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if allowed:
            return 0
        locked_until = (details or {}).get("locked_until")
        waits.append(max(1, math.ceil((locked_until - timezone.now()).total_seconds())) if locked_until else 1)
    return min(waits)


@transaction.atomic
def _recovery_code_use(*, user: User, code: str, request, org) -> tuple[bool, int | None]:
    code_set = RecoveryCodeSet.objects.filter(user=user).first()
    # Recovery codes stand in for a factor the user has; left behind without one they open nothing.
    if code_set is None or user_factor_count(user=user) == 0 or not code_set.verify_token(code):
        return False, None
    left = code_set.codes.filter(used_at__isnull=True).count()
    audit_record(action="mfa.recovery_code_used", actor=user, org=org, target=user, request=request,
                 metadata={"left": left})
    email_enqueue(to=user.email, template="mfa_recovery_code_used", kind="mfa_recovery_code_used",
                  org=user_mail_org(user), context={"user": user, "left": left, "when": timezone.now()})
    return True, left


# ---------------------------------------------------------------------- authenticator apps


def totp_enrol_begin(*, user: User) -> TotpDevice:
    """A new secret for an authenticator app, waiting for its first code. An earlier enrolment left
    unfinished is replaced (one pending per user), so its secret, shown once, is never confirmable."""
    TotpDevice.objects.filter(user=user, confirmed=False).delete()
    device = TotpDevice.with_new_key(user=user, name="")
    device.save()
    return device


def _name_clean(name: str, user: User) -> str:
    name = " ".join((name or "").split())
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(f"Give the authenticator a name of at most {NAME_MAX_LENGTH} characters.", field="name")
    return name or f"Authenticator app {user_totp_devices(user=user).count() + 1}"


@dataclass(frozen=True)
class Enrolled:
    device: TotpDevice
    # The codes of a set made because this is the user's first factor: shown once, now.
    recovery_codes: list[str] | None


@transaction.atomic
def totp_enrol_confirm(*, user: User, device: TotpDevice, code: str, name: str, request=None) -> Enrolled:
    """Confirm a pending authenticator app with a code it shows, and name it.

    The user's first factor also gets a set of recovery codes. A wrong code raises DomainError and
    changes nothing (the enrolment stays pending, so the same QR code can be tried again).
    """
    name = _name_clean(name, user)
    device = TotpDevice.objects.select_for_update().filter(pk=device.pk, user=user, confirmed=False).first()
    if device is None:
        raise DomainError("This authenticator is not waiting to be set up any more. Start again.")
    if not device.verify_token(code):
        raise DomainError("That code is not right. Check the time on your device and enter the code it shows now.",
                          field="code")
    device.confirmed = True
    device.name = name
    device.save(update_fields=["confirmed", "name"])
    audit_record(action="mfa.totp_added", actor=user, target=user, request=request,
                 metadata={"device": device.pk, "name": name})
    codes = None
    if not RecoveryCodeSet.objects.filter(user=user).exists():
        codes = _recovery_codes_replace(user=user)
        audit_record(action="mfa.recovery_codes_generated", actor=user, target=user, request=request,
                     metadata={"count": len(codes)})
    email_enqueue(to=user.email, template="mfa_factor_added", kind="mfa_factor_added", org=user_mail_org(user),
                  context={"user": user, "name": name, "when": timezone.now()})
    return Enrolled(device=device, recovery_codes=codes)


def mfa_factor_removal_refusal(*, user: User) -> str | None:
    """Why the user may not remove a factor now (their last one, while a policy requires one), or None."""
    if user_factor_count(user=user) > 1:
        return None
    requirement = user_mfa_requirement(user=user)
    if not requirement.required:
        return None
    if requirement.orgs:
        return (f"{', '.join(requirement.orgs)} requires a second factor, and this is your last one. Add another "
                "authenticator app or a passkey first, then remove this one.")
    return ("Platform operators must have a second factor, and this is your last one. Add another authenticator "
            "app or a passkey first, then remove this one.")


@transaction.atomic
def totp_device_remove(*, user: User, device: TotpDevice, request=None) -> None:
    """Remove one of the user's authenticator apps (the caller has re-checked their password).

    Refused (DomainError, nothing changed) when it is their last factor and a policy requires one.
    When no factor is left, their recovery codes go too: alone they would be a password-strength secret.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()  # one removal at a time per user
    if not TotpDevice.objects.filter(pk=device.pk, user=user, confirmed=True).exists():
        raise DomainError("This authenticator app is already removed.")
    if refusal := mfa_factor_removal_refusal(user=user):
        raise DomainError(refusal)
    TotpDevice.objects.filter(pk=device.pk).delete()
    audit_record(action="mfa.totp_removed", actor=user, target=user, request=request,
                 metadata={"device": device.pk, "name": device.name})
    if user_factor_count(user=user) == 0:
        RecoveryCodeSet.objects.filter(user=user).delete()


# ---------------------------------------------------------------------- recovery codes


def _recovery_codes_replace(*, user: User) -> list[str]:
    RecoveryCodeSet.objects.filter(user=user).delete()
    code_set = RecoveryCodeSet.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = recovery_code_new()
        if code not in codes:
            codes.append(code)
    RecoveryCode.objects.bulk_create([RecoveryCode(code_set=code_set, code_hash=code_set.code_hash(code))
                                      for code in codes])
    return codes


@transaction.atomic
def recovery_codes_generate(*, user: User, request=None) -> list[str]:
    """A new set of recovery codes, returned once (only their hashes are kept); the old set stops working.
    Only for a user with a factor: recovery codes stand in for one."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    if user_factor_count(user=user) == 0:
        raise DomainError("Set up an authenticator app or a passkey first: recovery codes stand in for one.")
    codes = _recovery_codes_replace(user=user)
    audit_record(action="mfa.recovery_codes_generated", actor=user, target=user, request=request,
                 metadata={"count": len(codes)})
    return codes


# ---------------------------------------------------------------------- step-up


@transaction.atomic
def user_session_step_up(*, request, amr: list[str]) -> UserSession | None:
    """Record on the signed-in session that it has now proved more (an app asked for MFA with acr_values,
    or its org's policy does): new amr and auth_time, and a new session key (privilege went up). The
    session's sid stays, so the apps already using it are not signed out."""
    user_session = getattr(request, "user_session", None)
    if user_session is None:
        return None
    now = timezone.now()
    UserSession.objects.filter(pk=user_session.pk).update(amr=amr, auth_time=now)
    user_session.amr, user_session.auth_time = amr, now
    request.session.cycle_key()
    audit_record(action="session.stepped_up", actor=request.user, target=request.user, request=request,
                 metadata={"amr": amr, "sid": user_session.sid})
    return user_session
