"""/account/confirm: a signed-in person confirms it is them before a sensitive action (identity/step_up.py),
with a passkey, an authenticator or recovery code, or — only when they have no second factor — their
password; then goes back to the action's page. The action itself is never replayed from here."""

import json
import math
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from directory.models import User
from identity.mfa.forms import CodeForm, ConfirmPasswordForm
from identity.mfa.selectors import user_recovery_codes_left, user_totp_devices
from identity.mfa.services import CodeKind, CodeOutcome, mfa_verify_code
from identity.passkeys.ceremonies import MAX_RESPONSE_BYTES, PasskeyError, Purpose, unavailable_reason
from identity.passkeys.selectors import user_passkey_count
from identity.passkeys.services import passkey_authenticate, passkey_step_up_options
from identity.redirects import landing_url
from identity.services import PasswordOutcome, password_check
from identity.step_up import (
    Method,
    action_phrase,
    signed_in_user,
    step_up_confirm,
    step_up_failed_record,
    step_up_pending,
    step_up_recent,
    step_up_seconds,
)
from orgs.models import Organization


def _methods(user: User) -> list[str]:
    """The ways `user` may confirm, strongest first. Someone with a second factor confirms with it: the
    session already holds their password, so asking for it again would prove nothing a stolen session
    plus a phished password could not. The password is offered only to people without a usable factor."""
    methods = []
    if user_passkey_count(user=user) and not unavailable_reason():
        methods.append(Method.PASSKEY)
    if user_totp_devices(user=user).exists():
        methods.append(Method.TOTP)
    if methods and user_recovery_codes_left(user=user):
        methods.append(Method.RECOVERY)
    return methods or [Method.PASSWORD]


def _pending_org(request: HttpRequest) -> Organization | None:
    pending = step_up_pending(request)
    org_id = pending.get("org_id") if pending else None
    return Organization.objects.filter(pk=org_id).first() if isinstance(org_id, int) else None


def _page(request: HttpRequest, *, method: str, form=None, status: int = 200, error: str = "") -> HttpResponse:
    user = signed_in_user(request)
    pending = step_up_pending(request)
    if form is None:
        form = ConfirmPasswordForm() if method == Method.PASSWORD else CodeForm(kind=method)
    return render(request, "identity/step_up.html", {
        "form": form, "method": method, "methods": _methods(user), "account_email": user.email, "error": error,
        "action": action_phrase(pending["action"]) if pending else "",
        "minutes": max(1, step_up_seconds() // 60), "stale": not step_up_recent(request),
        "cancel_url": (pending or {}).get("return_to") or landing_url(user),
    }, status=status)


def _done(request: HttpRequest, method: str) -> str:
    next_url = step_up_confirm(request=request, method=method, org=_pending_org(request))
    return next_url or landing_url(signed_in_user(request))


@never_cache
@sensitive_post_parameters("password", "code")
@csrf_protect
@login_required
@require_http_methods(["GET", "POST"])
def step_up_view(request: HttpRequest) -> HttpResponse:
    methods = _methods(signed_in_user(request))
    if request.method == "GET":
        chosen = request.GET.get("method")
        return _page(request, method=chosen if chosen in methods else methods[0])

    method = request.POST.get("method", "")
    if method == Method.PASSKEY or method not in methods:  # a passkey answers through its JSON endpoints
        # E.g. a password from someone who has a second factor: refused, nothing counted or recorded.
        return _page(request, method=methods[0], status=400, error=(
            _("You have two-step verification: confirm with it, not your password.") if method == Method.PASSWORD
            else _("Choose one of the ways shown to confirm it's you.")))
    if method == Method.PASSWORD:
        return _password(request)
    return _code(request, CodeKind(method))


def _too_many_wrong_codes(minutes: int) -> str:
    return ngettext("Too many wrong codes. Try again in %(minutes)s minute.",
                    "Too many wrong codes. Try again in %(minutes)s minutes.", minutes) % {"minutes": minutes}


def _too_many(request: HttpRequest, method: str, form, retry_after: int, message: str) -> HttpResponse:
    form.add_error(None, message)
    response = _page(request, method=method, form=form, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _password(request: HttpRequest) -> HttpResponse:
    form = ConfirmPasswordForm(request.POST)
    if not form.is_valid():
        return _page(request, method=Method.PASSWORD, form=form, status=400)
    # The sign-in's own check: the per-IP throttle and the per-email lockout count this attempt too.
    check = password_check(email=signed_in_user(request).email, password=form.cleaned_data["password"], request=request)
    if check.outcome is PasswordOutcome.OK:
        return redirect(_done(request, Method.PASSWORD))
    step_up_failed_record(request=request, method=Method.PASSWORD, reason=check.outcome.value,
                          org=_pending_org(request))
    if check.outcome in (PasswordOutcome.LOCKED, PasswordOutcome.THROTTLED):
        minutes = max(1, math.ceil(check.retry_after / 60))
        return _too_many(request, Method.PASSWORD, form, check.retry_after,
                         _("Too many wrong passwords. Try again in %(minutes)s minutes.") % {"minutes": minutes})
    form.add_error("password", _("That password is not right.") if check.outcome is PasswordOutcome.INVALID
                   else _("This account may not do this now. Contact your administrator."))
    return _page(request, method=Method.PASSWORD, form=form, status=400 if check.outcome is PasswordOutcome.INVALID
                 else 403)


def _code(request: HttpRequest, kind: CodeKind) -> HttpResponse:
    # The method posted is the kind of code (CodeForm's own hidden field is not rendered here).
    form = CodeForm({"kind": kind.value, "code": request.POST.get("code", "")}, kind=kind.value)
    if not form.is_valid():
        return _page(request, method=kind.value, form=form, status=400)
    org = _pending_org(request)
    check = mfa_verify_code(user=signed_in_user(request), code=form.cleaned_data["code"], kind=kind, request=request,
                            org=org)
    if check.ok:
        return redirect(_done(request, kind.value))
    step_up_failed_record(request=request, method=kind.value, reason=check.outcome.value, org=org)
    if check.outcome is CodeOutcome.THROTTLED:
        message = (_("Wait %(seconds)s seconds after a wrong code, then enter the code your app shows.")
                   % {"seconds": check.retry_after} if check.back_off else
                   _too_many_wrong_codes(max(1, math.ceil(check.retry_after / 60))))
        return _too_many(request, kind.value, form, check.retry_after, message)
    form.add_error("code", _("That code is not right, or it was already used. Enter the code your app shows now.")
                   if kind is CodeKind.TOTP else _("That recovery code is not right, or it was already used."))
    return _page(request, method=kind.value, form=form, status=400)


# ---------------------------------------------------------------------- with a passkey (JSON, passkeys.js)


def _json_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _passkey_refused(request: HttpRequest) -> JsonResponse | None:
    if not request.user.is_authenticated:
        return _json_error("not_signed_in", _("Sign in again to continue."), 401)
    if Method.PASSKEY not in _methods(signed_in_user(request)):
        return _json_error("no_passkey", _("This account has no passkey to confirm with."), 400)
    return None


def _credential(request: HttpRequest) -> Any:
    if len(request.body) > MAX_RESPONSE_BYTES:
        raise PasskeyError(_("The passkey response is too large."), code="too_large", status=413)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise PasskeyError(_("The passkey response could not be read. Try again."), code="malformed_response")
    return body.get("credential")


@never_cache
@csrf_protect
@require_POST
def step_up_passkey_options_view(request: HttpRequest) -> JsonResponse:
    if (refused := _passkey_refused(request)) is not None:
        return refused
    try:
        return JsonResponse(passkey_step_up_options(session=request.session, user=signed_in_user(request)))
    except PasskeyError as exc:
        return _json_error(exc.code, exc.message, exc.status)


@never_cache
@csrf_protect
@require_POST
def step_up_passkey_verify_view(request: HttpRequest) -> JsonResponse:
    if (refused := _passkey_refused(request)) is not None:
        return refused
    try:
        passkey_authenticate(raw_credential=_credential(request), session=request.session, purpose=Purpose.STEP_UP,
                             request=request, user=signed_in_user(request))
    except PasskeyError as exc:
        step_up_failed_record(request=request, method=Method.PASSKEY, reason=exc.code, org=_pending_org(request))
        return _json_error(exc.code, exc.message, exc.status)
    return JsonResponse({"redirect": _done(request, Method.PASSKEY)})
