"""Passkey endpoints: JSON options/verify pairs for registering and signing in (the browser's WebAuthn
calls sit between each pair), and plain form POSTs to rename and remove.

Every JSON answer is `{"error": code, "message": text}` with a 4xx status when refused, so the page can
say why; a verified sign-in answers `{"redirect": url}` for the next step or the landing page.
"""

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from directory.models import User
from identity.flows import LoginFlow, flow_load
from identity.mfa.selectors import user_recovery_codes_left
from identity.passkeys.ceremonies import MAX_RESPONSE_BYTES, PasskeyError, Purpose
from identity.passkeys.selectors import passkey_get
from identity.passkeys.services import (
    passkey_authenticate,
    passkey_register,
    passkey_registration_options,
    passkey_remove,
    passkey_rename,
    passkey_second_factor_options,
    passkey_sign_in_options,
)
from identity.redirects import safe_next_url
from identity.views.account import CURRENT_PASSWORD_LIMIT
from identity.views.links import throttled_page
from identity.views.login import login_flow_continue
from security.throttle import throttle_forgive, throttle_hit


def _error(exc: PasskeyError) -> JsonResponse:
    return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object, refused before parsing when it is larger than any real response."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_RESPONSE_BYTES:
        raise PasskeyError(_("The passkey response is too large."), code="too_large", status=413)
    try:
        body = json.loads(request.body[:MAX_RESPONSE_BYTES + 1] or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or len(request.body) > MAX_RESPONSE_BYTES:
        raise PasskeyError(_("The passkey response could not be read. Try again."), code="malformed_response")
    return body


def _account(request: HttpRequest) -> User:
    """The signed-in account (the views check that first; anyone else finds nothing here)."""
    if not isinstance(request.user, User):
        raise Http404
    return request.user


def _signed_in_required() -> JsonResponse:
    return JsonResponse({"error": "not_signed_in", "message": _("Sign in to manage your passkeys.")}, status=401)


def _flow_continue(request: HttpRequest, flow: LoginFlow, user: User) -> JsonResponse:
    """The sign-in flow's next stop as JSON for the page's script: the flow decides (identity/views/login.py),
    and its cookies (e.g. the remembered factor) travel with the answer."""
    response = login_flow_continue(request, flow, user, answer_authorize=False)
    answer = JsonResponse({"redirect": response["Location"]})
    for morsel in response.cookies.values():
        answer.cookies[morsel.key] = morsel
    return answer


# ------------------------------------------------------------------ registration (signed in)


@never_cache
@csrf_protect
@require_POST
def register_options_view(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return _signed_in_required()
    try:
        return JsonResponse(passkey_registration_options(user=_account(request), session=request.session))
    except PasskeyError as exc:
        return _error(exc)


@never_cache
@csrf_protect
@require_POST
def register_verify_view(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return _signed_in_required()
    try:
        body = _json_body(request)
        name = body.get("name")
        passkey = passkey_register(user=_account(request), raw_credential=body.get("credential"),
                                   name=name if isinstance(name, str) else "",
                                   session=request.session, request=request)
    except PasskeyError as exc:
        return _error(exc)
    added = _("Passkey “%(name)s” added. You can sign in with it now.") % {"name": passkey.name}
    if user_recovery_codes_left(user=passkey.user) is None:
        added += " " + _("Make recovery codes below, so you can still sign in if you lose it.")
    messages.success(request, added)
    return JsonResponse({"passkey": {"id": passkey.pk, "name": passkey.name, "synced": passkey.synced}}, status=201)


# ------------------------------------------------------------------ sign-in: passwordless


@never_cache
@csrf_protect
@require_POST
def login_options_view(request: HttpRequest) -> JsonResponse:
    try:
        return JsonResponse(passkey_sign_in_options(session=request.session))
    except PasskeyError as exc:
        return _error(exc)


@never_cache
@csrf_protect
@require_POST
def login_verify_view(request: HttpRequest) -> JsonResponse:
    """A passkey alone signs in: it is something you have, unlocked by something you know or are (user
    verification is required). The flow records `hwk`/`swk`; the flow decides what is left."""
    try:
        body = _json_body(request)
        passkey = passkey_authenticate(raw_credential=body.get("credential"), session=request.session,
                                       purpose=Purpose.PASSWORDLESS, request=request)
    except PasskeyError as exc:
        return _error(exc)
    flow = flow_load(request.session) or LoginFlow()
    flow.next_url = safe_next_url(request, body.get("next") if isinstance(body.get("next"), str) else "")
    flow.user_id = passkey.user_id
    flow.methods = [passkey.amr]
    return _flow_continue(request, flow, passkey.user)


# ------------------------------------------------------------------ sign-in: second factor after a password


def _flow_after_password(request: HttpRequest) -> tuple[LoginFlow, User] | None:
    flow = flow_load(request.session)
    if flow is None or "pwd" not in flow.methods or not flow.user_id:
        return None
    user = User.objects.filter(pk=flow.user_id).first()
    return (flow, user) if user is not None and user.is_active else None


def _sign_in_again() -> JsonResponse:
    return JsonResponse({"error": "sign_in_expired", "message": _("Your sign-in timed out. Start again."),
                         "redirect": reverse("identity:login")}, status=400)


@never_cache
@csrf_protect
@require_POST
def second_factor_options_view(request: HttpRequest) -> JsonResponse:
    if (pending := _flow_after_password(request)) is None:
        return _sign_in_again()
    try:
        return JsonResponse(passkey_second_factor_options(session=request.session, user=pending[1]))
    except PasskeyError as exc:
        return _error(exc)


@never_cache
@csrf_protect
@require_POST
def second_factor_verify_view(request: HttpRequest) -> JsonResponse:
    if (pending := _flow_after_password(request)) is None:
        return _sign_in_again()
    flow, user = pending
    try:
        body = _json_body(request)
        passkey = passkey_authenticate(raw_credential=body.get("credential"), session=request.session,
                                       purpose=Purpose.SECOND_FACTOR, request=request, user=user)
    except PasskeyError as exc:
        return _error(exc)
    if passkey.amr not in flow.methods:
        flow.methods.append(passkey.amr)
    return _flow_continue(request, flow, user)


# ------------------------------------------------------------------ sign-in: setting up a passkey as the missing factor


def _flow_enrolling(request: HttpRequest) -> tuple[LoginFlow, User] | None:
    """A sign-in whose next step is setting up a second factor: the password was right, the account has
    none, and a policy or the application asks for one. Only then may a passkey be added before signing in;
    an account that has a factor must use it, never add another with the password alone."""
    pending = _flow_after_password(request)
    if pending is None or pending[0].remaining_steps(pending[1])[:1] != ["mfa_enrol"]:
        return None
    return pending


@never_cache
@csrf_protect
@require_POST
def enrol_options_view(request: HttpRequest) -> JsonResponse:
    if (pending := _flow_enrolling(request)) is None:
        return _sign_in_again()
    try:
        return JsonResponse(passkey_registration_options(user=pending[1], session=request.session,
                                                         purpose=Purpose.ENROL))
    except PasskeyError as exc:
        return _error(exc)


@never_cache
@csrf_protect
@require_POST
def enrol_verify_view(request: HttpRequest) -> JsonResponse:
    """The new passkey, created with user verification right after the password, is the second factor of
    this sign-in (as a confirmed authenticator app's first code is)."""
    if (pending := _flow_enrolling(request)) is None:
        return _sign_in_again()
    flow, user = pending
    try:
        body = _json_body(request)
        name = body.get("name")
        passkey = passkey_register(user=user, raw_credential=body.get("credential"),
                                   name=name if isinstance(name, str) else "", session=request.session,
                                   request=request, purpose=Purpose.ENROL)
    except PasskeyError as exc:
        return _error(exc)
    if passkey.amr not in flow.methods:
        flow.methods.append(passkey.amr)
    messages.success(request, _("Passkey “%(name)s” added. Make recovery codes on the security page, so you can "
                                "still sign in if you lose it.") % {"name": passkey.name})
    return _flow_continue(request, flow, user)


# ------------------------------------------------------------------ rename and remove (forms)


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(safe_next_url(request, request.POST.get("next")) or reverse("mfa:security"))


@never_cache
@login_required
@require_POST
def rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    passkey = passkey_get(user=_account(request), pk=pk)
    before = passkey.name
    try:
        passkey_rename(user=_account(request), passkey=passkey, name=request.POST.get("name", ""), request=request)
    except PasskeyError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Passkey “%(before)s” is now called “%(name)s”.")
                         % {"before": before, "name": passkey.name})
    return _back(request)


@never_cache
@login_required
@sensitive_post_parameters("password")
@require_POST
def remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove one of your passkeys after typing your password, as an authenticator app is removed: a borrowed
    session must not be able to strip a factor. The password checks share the account's budget."""
    user = _account(request)
    passkey = passkey_get(user=user, pk=pk)
    limit, window = CURRENT_PASSWORD_LIMIT
    key = f"account_current_password:{user.pk}"
    if not (decision := throttle_hit(key=key, limit=limit, window_seconds=window)).allowed:
        return throttled_page(request, decision.retry_after)
    if not user.check_password(request.POST.get("password", "")):
        messages.error(request, _("That is not your password, so the passkey “%(name)s” was not removed.")
                       % {"name": passkey.name})
        return _back(request)
    throttle_forgive(key=key, window_seconds=window)
    try:
        passkey_remove(user=user, passkey=passkey, request=request)
    except PasskeyError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Passkey “%(name)s” removed. It can no longer sign in to this account.")
                         % {"name": passkey.name})
    return _back(request)


@require_GET
def manage_view(request: HttpRequest) -> HttpResponse:
    """Passkeys are managed with the other second factors, on the account security page."""
    return redirect("mfa:security")
