"""Template pieces that other pages embed: the passkey section of /account/security/, the passkey
choice of the second-factor sign-in step, and the passkey button and autofill of /login."""

from typing import Any

from django import template
from django.forms import BoundField
from webauthn.helpers import bytes_to_base64url

from directory.models import User
from identity.passkeys.ceremonies import NAME_MAX_LENGTH, rp_id, unavailable_reason
from identity.passkeys.selectors import passkey_list, passkey_user_handle_get

register = template.Library()


@register.inclusion_tag("passkeys/_account_section.html", takes_context=True)
def passkey_account_section(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    passkeys = list(passkey_list(user=user)) if isinstance(user, User) else []
    handle = passkey_user_handle_get(user=user) if isinstance(user, User) else None
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "passkeys": passkeys,
        "unavailable": unavailable_reason(),
        "name_max_length": NAME_MAX_LENGTH,
        # For the browser's Signal API: the passkeys this account still accepts, so a device or password
        # manager can drop one removed here (WebAuthn user.id is the handle's text, base64url-encoded).
        "signal": {"rpId": rp_id(), "userId": bytes_to_base64url(handle.encode()),
                   "credentialIds": [p.credential_id for p in passkeys]} if handle else None,
    }


@register.inclusion_tag("passkeys/_second_factor_choice.html", takes_context=True)
def passkey_second_factor_choice(context: template.Context) -> dict[str, Any]:
    """Offered only when the account signing in has a passkey (the page's `has_passkey`, from the sign-in
    flow) and this issuer can use them."""
    return {
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "offered": bool(context.get("has_passkey")) and not unavailable_reason(),
    }


@register.inclusion_tag("passkeys/_enrol_choice.html", takes_context=True)
def passkey_enrol_choice(context: template.Context) -> dict[str, Any]:
    """On the sign-in step that sets up a missing second factor: set up a passkey instead of an app."""
    return {"request": context.get("request"), "csrf_token": context.get("csrf_token"),
            "unavailable": unavailable_reason(), "name_max_length": NAME_MAX_LENGTH}


@register.inclusion_tag("passkeys/_login.html", takes_context=True)
def passkey_login(context: template.Context, next_url: str = "") -> dict[str, Any]:
    """The "Sign in with a passkey" button of /login (and the autofill it shares the options with)."""
    return {"request": context.get("request"), "csrf_token": context.get("csrf_token"),
            "next_url": next_url or "", "unavailable": unavailable_reason()}


@register.filter
def webauthn_autofill(field: BoundField) -> BoundField:
    """The email field, marked so the browser offers this site's passkeys in its autofill (conditional
    UI needs `webauthn` as the last autocomplete token)."""
    attrs = field.field.widget.attrs
    tokens = (attrs.get("autocomplete") or "username").split()
    if "webauthn" not in tokens:
        attrs["autocomplete"] = " ".join([*tokens, "webauthn"])
    return field
