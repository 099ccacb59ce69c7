"""Helpers of the MFA tests: an enrolled authenticator app (its secret for pyotp) and the sign-in steps."""

import base64
import time

import pyotp

from directory.tests.factories import DEFAULT_PASSWORD
from identity.mfa.models import TotpDevice
from identity.mfa.services import recovery_codes_generate


def enrol_totp(user, name: str = "Phone") -> tuple[TotpDevice, pyotp.TOTP]:
    """A confirmed authenticator app for `user`, and a pyotp TOTP computing its codes."""
    device = TotpDevice.with_new_key(user=user, name=name)
    device.confirmed = True
    device.save()
    return device, pyotp.TOTP(base64.b32encode(device.bin_key).decode())


def enrol_with_recovery(user) -> tuple[pyotp.TOTP, list[str]]:
    _, totp = enrol_totp(user)
    return totp, recovery_codes_generate(user=user)


def code_at(totp: pyotp.TOTP, steps: int = 0) -> str:
    """The code of the time step `steps` away from now."""
    return totp.at(time.time() + steps * 30)


def post_password(client, email: str, password: str = DEFAULT_PASSWORD, next_url: str = ""):
    data = {"email": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/login", data)


def shows_second_factor_step(response) -> bool:
    """The password step answered with the second-factor step's page itself (not a redirect to it)."""
    return (response.status_code == 200 and "mfa/login_verify.html" in {t.name for t in response.templates}
            and "Two-step verification" in response.content.decode())


def post_code(client, code: str, kind: str = "totp"):
    return client.post("/login/verify", {"kind": kind, "code": code})


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")
