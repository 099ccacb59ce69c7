"""The WebAuthn ceremonies around py_webauthn: who the relying party is, the single-use challenges kept in
the session, the options sent to the browser, and checking what the browser sends back.

Nothing here writes to the database; services.py stores what a verified ceremony proves.
"""

import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from config.exceptions import DomainError

# How long a challenge may be answered; the browser is told the same (in milliseconds).
CHALLENGE_SECONDS = 5 * 60
CHALLENGE_SESSION_KEY = "gatehouse.passkeys.challenges"
# Whatever the browser sends is parsed only below this size: a real response is a few kilobytes.
MAX_RESPONSE_BYTES = 64 * 1024
NAME_MAX_LENGTH = 100  # Passkey.name


class Purpose:
    REGISTER = "register"
    PASSWORDLESS = "passwordless"
    SECOND_FACTOR = "second_factor"
    ENROL = "enrol"  # a passkey set up during sign-in, when a policy requires a second factor and there is none
    STEP_UP = "step_up"  # a signed-in person confirming it is them before a sensitive action (identity/step_up.py)


class PasskeyError(DomainError):
    """A passkey ceremony refused; `code` names the reason for the JSON answer and the audit row."""

    def __init__(self, message: str, *, code: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


# ------------------------------------------------------------------ the relying party, from the issuer


def rp_id() -> str:
    return urlsplit(settings.GATEHOUSE_ISSUER).hostname or ""


def rp_origin() -> str:
    parts = urlsplit(settings.GATEHOUSE_ISSUER)
    return f"{parts.scheme}://{parts.netloc}"


def unavailable_reason() -> str:
    """Why passkeys cannot work on this issuer, or "" when they can.

    Browsers refuse WebAuthn on an IP address (Chromium: "This is an invalid domain"): the RP ID must be a
    host name, and the origin must be https or http://localhost."""
    host = rp_id()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return _("Passkeys need Gatehouse to be served on a host name, not an IP address (%(host)s): "
                 "browsers refuse them there. Set GATEHOUSE_ISSUER to a name such as http://localhost:8000.") % {
            "host": host}
    if not host:
        return _("Passkeys need GATEHOUSE_ISSUER to name a host.")
    return ""


def _require_available() -> None:
    if reason := unavailable_reason():
        raise PasskeyError(reason, code="passkeys_unavailable", status=409)


# ------------------------------------------------------------------ challenges: in the session, single-use


@dataclass(frozen=True)
class Challenge:
    value: bytes
    user_id: int | None


def _challenge_issue(session: SessionBase, purpose: str, value: bytes, user_id: int | None) -> None:
    challenges = session.get(CHALLENGE_SESSION_KEY)
    challenges = dict(challenges) if isinstance(challenges, dict) else {}
    # One open challenge per purpose: asking again replaces the previous one.
    challenges[purpose] = {"value": bytes_to_base64url(value), "user_id": user_id,
                           "expires": time.time() + CHALLENGE_SECONDS}
    session[CHALLENGE_SESSION_KEY] = challenges


def challenge_take(session: SessionBase, purpose: str) -> Challenge:
    """The open challenge for `purpose`, used up by this call whatever the answer turns out to be:
    a response can be checked once, so a replayed one finds nothing."""
    challenges = session.get(CHALLENGE_SESSION_KEY)
    entry = challenges.pop(purpose, None) if isinstance(challenges, dict) else None
    if entry is not None:
        session[CHALLENGE_SESSION_KEY] = challenges
    if not isinstance(entry, dict) or entry.get("expires", 0) < time.time():
        raise PasskeyError(_("This passkey request expired or was already used. Try again."),
                           code="challenge_expired")
    return Challenge(value=base64url_to_bytes(entry["value"]), user_id=entry.get("user_id"))


# ------------------------------------------------------------------ options


def _descriptors(credentials: list[tuple[str, list[str]]]) -> list[PublicKeyCredentialDescriptor]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential_id),
        transports=[AuthenticatorTransport(t) for t in transports if t in known] or None,
    ) for credential_id, transports in credentials]


def registration_options(*, session: SessionBase, user_id: int, user_handle: str, user_name: str,
                         display_name: str, existing: list[tuple[str, list[str]]],
                         purpose: str = Purpose.REGISTER) -> dict[str, Any]:
    """Options for navigator.credentials.create(): a discoverable credential (a passkey) with user
    verification, so it can later sign in alone; `existing` (id, transports) go to excludeCredentials
    so an authenticator that already holds one of this account's passkeys says so instead of adding another."""
    _require_available()
    options = generate_registration_options(
        rp_id=rp_id(), rp_name="Gatehouse", user_name=user_name, user_id=user_handle.encode(),
        user_display_name=display_name, timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=_descriptors(existing),
    )
    _challenge_issue(session, purpose, options.challenge, user_id)
    return json.loads(options_to_json(options))


def authentication_options(*, session: SessionBase, purpose: str, user_id: int | None = None,
                           allowed: list[tuple[str, list[str]]] | None = None) -> dict[str, Any]:
    """Options for navigator.credentials.get(). Passwordless: no allowCredentials (the authenticator
    offers its discoverable passkeys) and user verification required, as the passkey is both factors.
    Second factor: the account's passkeys, user verification preferred (the password was the first)."""
    _require_available()
    options = generate_authentication_options(
        rp_id=rp_id(), timeout=CHALLENGE_SECONDS * 1000, allow_credentials=_descriptors(allowed or []),
        user_verification=(UserVerificationRequirement.REQUIRED if purpose == Purpose.PASSWORDLESS
                           else UserVerificationRequirement.PREFERRED),
    )
    _challenge_issue(session, purpose, options.challenge, user_id)
    return json.loads(options_to_json(options))


# ------------------------------------------------------------------ responses


def _parse_error() -> PasskeyError:
    return PasskeyError(_("The passkey response could not be read. Try again."), code="malformed_response")


def registration_parse(raw: Any) -> RegistrationCredential:
    try:
        return parse_registration_credential_json(raw)
    except (WebAuthnException, ValueError, TypeError) as exc:
        raise _parse_error() from exc


def authentication_parse(raw: Any) -> AuthenticationCredential:
    try:
        credential = parse_authentication_credential_json(raw)
    except (WebAuthnException, ValueError, TypeError) as exc:
        raise _parse_error() from exc
    if not credential.raw_id or bytes_to_base64url(credential.raw_id) != credential.id:
        raise _parse_error()
    return credential


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    backup_eligible: bool
    backed_up: bool
    transports: list[str]


def registration_verify(*, credential: RegistrationCredential, challenge: Challenge) -> NewCredential:
    """Check an attestation (format "none" is all we ask for) against the challenge, RP ID and origin."""
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge.value, expected_rp_id=rp_id(),
            expected_origin=rp_origin(), require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyError(_("Your browser's passkey response did not check out (%(why)s). Try again.")
                           % {"why": str(exc)[:200]}, code="invalid_response") from exc
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        transports=[t.value for t in credential.response.transports or []][:10],
    )


@dataclass(frozen=True)
class Assertion:
    new_sign_count: int
    user_verified: bool
    backed_up: bool


def authentication_verify(*, credential: AuthenticationCredential, challenge: Challenge, public_key: bytes,
                          require_user_verification: bool) -> Assertion:
    """Check an assertion's client data, RP ID hash, flags and signature. The sign counter is left to the
    caller (passed as 0 here): only a correctly signed assertion may count as a counter regression."""
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge.value, expected_rp_id=rp_id(),
            expected_origin=rp_origin(), credential_public_key=public_key, credential_current_sign_count=0,
            require_user_verification=require_user_verification)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise PasskeyError(_("Your browser's passkey response did not check out (%(why)s). Try again.")
                           % {"why": str(exc)[:200]}, code="invalid_response") from exc
    return Assertion(new_sign_count=verified.new_sign_count, user_verified=verified.user_verified,
                     backed_up=verified.credential_backed_up)
