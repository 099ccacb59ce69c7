"""Passkey writes: registering, signing in with one (alone or after a password), renaming, removing.

Every write is audited in its own transaction. Sign-in attempts count on the per-IP sign-in throttle
(security/), like passwords, and a correct one takes its attempt back.
"""

from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn.helpers import bytes_to_base64url

from audit.fanout import audit_record_with_org_copies
from audit.services import audit_record
from config.exceptions import DomainError
from directory.models import User
from directory.selectors import user_mail_org
from emailqueue.services import email_enqueue
from identity.devices import describe_device
from identity.mfa.models import RecoveryCodeSet
from identity.mfa.selectors import user_factor_count
from identity.mfa.services import mfa_factor_removal_refusal
from identity.passkeys.ceremonies import (
    NAME_MAX_LENGTH,
    PasskeyError,
    Purpose,
    authentication_options,
    authentication_parse,
    authentication_verify,
    challenge_take,
    registration_options,
    registration_parse,
    registration_verify,
)
from identity.passkeys.models import Passkey, PasskeyUser
from identity.passkeys.selectors import passkey_sign_in_refusal
from identity.services import member_sign_in_org_ids
from security.services import login_ip_forgive, login_ip_hit
from security.throttle import throttle_forgive, throttle_hit

# Registrations an account may attempt per window: a person adds a few passkeys, a script adds many.
REGISTER_LIMIT, REGISTER_WINDOW_SECONDS = 20, 15 * 60


def _descriptors(user: User) -> list[tuple[str, list[str]]]:
    return list(Passkey.objects.filter(user=user).values_list("credential_id", "transports"))


def passkey_user_handle(*, user: User) -> str:
    """The account's WebAuthn user handle, made on first use (random; never the pk or the email)."""
    handle, _created = PasskeyUser.objects.get_or_create(user=user)
    return handle.handle


def passkey_registration_options(*, user: User, session: SessionBase,
                                  purpose: str = Purpose.REGISTER) -> dict[str, Any]:
    """Options to create a passkey for `user`; the account's passkeys are excluded, so the same
    authenticator cannot be registered twice. `purpose` ENROL: set up during sign-in (its own challenge)."""
    return registration_options(session=session, user_id=user.pk, user_handle=passkey_user_handle(user=user),
                                user_name=user.email, display_name=user.display_name, existing=_descriptors(user),
                                purpose=purpose)


def passkey_name_clean(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise PasskeyError(_("Give the passkey a name."), code="invalid_name")
    if len(name) > NAME_MAX_LENGTH:
        raise PasskeyError(_("A passkey name has at most %(max)s characters.") % {"max": NAME_MAX_LENGTH},
                           code="invalid_name")
    return name


def _register_throttle_key(user: User) -> str:
    return f"passkey-register:{user.pk}"


def passkey_register(*, user: User, raw_credential: Any, name: str, session: SessionBase, request=None,
                     purpose: str = Purpose.REGISTER) -> Passkey:
    """Store the passkey `user`'s browser just created, once its attestation checks out against the open
    challenge (used up whatever the outcome). A credential id already registered, to any account, is
    refused: excludeCredentials asks the browser not to, and this makes sure."""
    name = passkey_name_clean(name or _("Passkey on %(device)s") % {
        "device": describe_device(request.META.get("HTTP_USER_AGENT", "") if request else "")})
    decision = throttle_hit(key=_register_throttle_key(user), limit=REGISTER_LIMIT,
                            window_seconds=REGISTER_WINDOW_SECONDS)
    if not decision.allowed:
        raise PasskeyError(_("Too many passkey registrations. Try again in %(minutes)s minutes.")
                           % {"minutes": max(1, decision.retry_after // 60)}, code="throttled", status=429)
    challenge = challenge_take(session, purpose)
    if challenge.user_id != user.pk:
        raise PasskeyError(_("This passkey request expired or was already used. Try again."),
                           code="challenge_expired")
    new = registration_verify(credential=registration_parse(raw_credential), challenge=challenge)
    duplicate = PasskeyError(_("This passkey is already registered. Use it to sign in, or register another one."),
                             code="duplicate_credential", status=409)
    if Passkey.objects.filter(credential_id=new.credential_id).exists():
        raise duplicate
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user, name=name, credential_id=new.credential_id, public_key=new.public_key,
                sign_count=new.sign_count, transports=new.transports, aaguid=new.aaguid,
                backup_eligible=new.backup_eligible, backed_up=new.backed_up)
            audit_record(action="passkey.registered", actor=user, target=user, request=request,
                         metadata={"passkey": passkey.pk, "name": name, "aaguid": new.aaguid,
                                   "synced": new.backup_eligible})
            # The owner hears of it: a passkey added from a borrowed session would sign in for good.
            email_enqueue(to=user.email, template="passkey_added", kind="passkey_added", org=user_mail_org(user),
                          context={"user": user, "name": name, "when": passkey.created_at})
    except IntegrityError as exc:  # the same credential registered by a parallel request
        raise duplicate from exc
    throttle_forgive(key=_register_throttle_key(user), window_seconds=REGISTER_WINDOW_SECONDS)
    return passkey


def passkey_sign_in_options(*, session: SessionBase) -> dict[str, Any]:
    """Options for a passwordless sign-in: any discoverable passkey of this site, user verification required."""
    return authentication_options(session=session, purpose=Purpose.PASSWORDLESS)


def passkey_second_factor_options(*, session: SessionBase, user: User) -> dict[str, Any]:
    """Options for a passkey as the second factor of `user`, who already gave their password."""
    return authentication_options(session=session, purpose=Purpose.SECOND_FACTOR, user_id=user.pk,
                                  allowed=_descriptors(user))


def passkey_step_up_options(*, session: SessionBase, user: User) -> dict[str, Any]:
    """Options for the signed-in `user` to confirm it is them with one of their passkeys (identity/step_up.py)."""
    return authentication_options(session=session, purpose=Purpose.STEP_UP, user_id=user.pk,
                                  allowed=_descriptors(user))


def _failed(*, request, reason: str, passkey: Passkey | None, purpose: str) -> None:
    # A known passkey's refusal is its account's failed sign-in: its orgs see it too (identity/services.py).
    user = passkey.user if passkey else None
    audit_record_with_org_copies(action="login.failed", copy_action="login.member_failed",
                                 copy_org_ids=member_sign_in_org_ids(user) if user else [], actor=None, target=user,
                                 request=request, metadata={"method": "passkey", "purpose": purpose, "reason": reason,
                                                            **({"passkey": passkey.pk} if passkey else {})})


def _counter_advance(*, passkey: Passkey, new_count: int, backed_up: bool) -> bool:
    """Record a use: the new sign count, last use and backup state, but only while the count moves forward
    (WebAuthn §7.2 step 21: when either count is non-zero, the new one must be greater; authenticators that
    keep no counter always send 0). One conditional UPDATE, so two parallel assertions with the same count
    (a copied authenticator racing the real one) cannot both pass. False: the counter went back."""
    rows = Passkey.objects.filter(pk=passkey.pk)
    if new_count or passkey.sign_count:
        rows = rows.filter(sign_count__lt=new_count)
    return rows.update(sign_count=new_count, backed_up=backed_up, last_used_at=timezone.now()) == 1


def passkey_authenticate(*, raw_credential: Any, session: SessionBase, purpose: str, request=None,
                         user: User | None = None) -> Passkey:
    """Check a passkey assertion for a sign-in and return the passkey it proves.

    Passwordless: any account's discoverable passkey, user verification required, and the response's
    user handle must be that account's. Second factor: one of `user`'s passkeys. The open challenge is
    used up first, so a replayed response is refused. A correctly signed assertion whose counter did not
    grow (a cloned authenticator?) is refused and audited as `passkey.counter_regressed`. Refusals are
    audited as `login.failed` and count toward the per-IP sign-in throttle.
    """
    ip = getattr(request, "client_ip", None) if request is not None else None
    if ip is not None and not (throttle := login_ip_hit(ip=ip)).allowed:
        raise PasskeyError(_("Too many failed sign-in attempts from your network. Try again in %(minutes)s minutes.")
                           % {"minutes": max(1, throttle.retry_after // 60)}, code="throttled", status=429)
    passkey = None
    try:
        challenge = challenge_take(session, purpose)
        credential = authentication_parse(raw_credential)
        passkey = (Passkey.objects.select_related("user")
                   .filter(credential_id=bytes_to_base64url(credential.raw_id)).first())
        if passkey is None or (user is not None and passkey.user_id != user.pk) or challenge.user_id != (
                user.pk if user is not None else None):
            raise PasskeyError(_("This passkey is not registered for this sign-in. Use another one, or your password."),
                               code="unknown_credential")
        if purpose == Purpose.PASSWORDLESS:
            handle = credential.response.user_handle
            expected = PasskeyUser.objects.filter(user_id=passkey.user_id).values_list("handle", flat=True).first()
            if handle is None or expected is None or handle != expected.encode():
                raise PasskeyError(_("This passkey belongs to another account."), code="user_mismatch")
        assertion = authentication_verify(credential=credential, challenge=challenge, public_key=passkey.public_key,
                                          require_user_verification=purpose == Purpose.PASSWORDLESS)
        if purpose == Purpose.PASSWORDLESS and (refusal := passkey_sign_in_refusal(user=passkey.user)):
            raise PasskeyError(refusal, code="account_refused", status=403)
        if not _counter_advance(passkey=passkey, new_count=assertion.new_sign_count, backed_up=assertion.backed_up):
            stored = Passkey.objects.filter(pk=passkey.pk).values_list("sign_count", flat=True).first()
            if stored is None:  # removed meanwhile
                raise PasskeyError(_("This passkey is not registered for this sign-in. Use another one, or your "
                                     "password."), code="unknown_credential")
            audit_record(action="passkey.counter_regressed", actor=None, target=passkey.user, request=request,
                         metadata={"passkey": passkey.pk, "stored": stored, "received": assertion.new_sign_count})
            raise PasskeyError(_("This passkey's signature counter went backwards, which a copied authenticator "
                                 "would do, so it was refused. Use another passkey or your password, and tell "
                                 "your administrator."), code="counter_regression")
    except DomainError as exc:
        _failed(request=request, reason=getattr(exc, "code", "refused"), passkey=passkey, purpose=purpose)
        raise
    if ip is not None:
        login_ip_forgive(ip=ip)
    passkey.refresh_from_db()
    return passkey


@transaction.atomic
def passkey_rename(*, user: User, passkey: Passkey, name: str, request=None) -> Passkey:
    """Rename one of `user`'s own passkeys."""
    name = passkey_name_clean(name)
    before = passkey.name
    if name == before:
        return passkey
    passkey.name = name
    passkey.save(update_fields=["name"])
    audit_record(action="passkey.renamed", actor=user, target=user, request=request,
                 metadata={"passkey": passkey.pk, "before": {"name": before}, "after": {"name": name}})
    return passkey


@transaction.atomic
def passkey_remove(*, user: User, passkey: Passkey, request=None) -> None:
    """Remove one of `user`'s passkeys (the caller has re-checked their password), as an authenticator app is
    removed (identity/mfa): refused, nothing changed, when it is the last factor a policy requires; when no
    factor is left, the recovery codes go too, since alone they would be a password-strength secret."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one removal at a time per user
    if not Passkey.objects.filter(pk=passkey.pk, user=user).exists():
        raise PasskeyError(_("This passkey is already removed."), code="not_found", status=404)
    if refusal := mfa_factor_removal_refusal(user=user):
        raise PasskeyError(refusal, code="last_factor", status=409)
    audit_record(action="passkey.removed", actor=user, target=user, request=request,
                 metadata={"passkey": passkey.pk, "name": passkey.name})
    Passkey.objects.filter(pk=passkey.pk).delete()
    if user_factor_count(user=user) == 0:
        RecoveryCodeSet.objects.filter(user=user).delete()
