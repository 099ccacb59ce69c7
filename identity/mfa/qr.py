"""The otpauth:// URI an authenticator app reads, and its QR code as inline SVG (segno: no CDN, no script)."""

import base64
from urllib.parse import quote, urlencode, urlsplit

import segno
from django.conf import settings

from identity.mfa.models import TotpDevice


def totp_issuer() -> str:
    """The name the authenticator app shows above the code: this deployment's host name."""
    return urlsplit(settings.GATEHOUSE_ISSUER).hostname or "Gatehouse"


def totp_setup_key(device: TotpDevice) -> str:
    """The secret as base32 in groups of four, for typing into an app that cannot scan."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


def totp_config_url(device: TotpDevice) -> str:
    """Key URI Format (Google Authenticator wiki): otpauth://totp/issuer:account?secret=…&issuer=…"""
    issuer = totp_issuer().replace(":", "")
    label = quote(f"{issuer}:{device.user.email}")
    params = {"secret": base64.b32encode(device.bin_key).decode().rstrip("="), "issuer": issuer,
              "algorithm": "SHA1", "digits": device.digits, "period": device.step}
    return f"otpauth://totp/{label}?{urlencode(params, quote_via=quote)}"


def totp_qr_svg(device: TotpDevice) -> str:
    """Dark modules on white, whatever the page's colour scheme: scanners need the contrast."""
    return segno.make(totp_config_url(device), error="m").svg_inline(scale=4, dark="#000", light="#fff",
                                                                      title="QR code of the setup key")
