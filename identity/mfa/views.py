"""/account/security/: the signed-in user's authenticator apps, recovery codes and (embedded) passkeys."""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from config.exceptions import DomainError
from directory.models import User
from identity.forms import form_add_domain_error
from identity.mfa.forms import ConfirmRemovalForm, TotpEnrolForm
from identity.mfa.models import RECOVERY_CODE_COUNT, TotpDevice
from identity.mfa.qr import totp_issuer, totp_qr_svg, totp_setup_key
from identity.mfa.selectors import (
    user_factor_count,
    user_mfa_requirement,
    user_recovery_codes_left,
    user_totp_devices,
)
from identity.mfa.services import (
    CodeKind,
    CodeOutcome,
    mfa_factor_removal_refusal,
    mfa_verify_code,
    recovery_codes_generate,
    totp_device_remove,
    totp_enrol_begin,
    totp_enrol_confirm,
)
from identity.views.links import throttled_page
from security.throttle import throttle_forgive, throttle_hit

# The enrolment this browser started (a TotpDevice id): a secret shown on one page is confirmed only from
# the session that saw it, never one another sign-in of the same account started.
PENDING_TOTP_KEY = "gatehouse.mfa.pending_totp"
# Shared with the account page's own password checks: a borrowed session cannot guess the password at leisure.
CURRENT_PASSWORD_LIMIT = (10, 3600)


def pending_totp(request, user: User) -> TotpDevice | None:
    pk = request.session.get(PENDING_TOTP_KEY)
    if not isinstance(pk, int):
        return None
    return TotpDevice.objects.filter(pk=pk, user=user, confirmed=False).first()


def recovery_codes_context(codes: list[str]) -> dict:
    """The codes shown once, and the same as a text file to download (a data: link: nothing kept server-side)."""
    text = _("Recovery codes for %(issuer)s. Each works once, in place of a code from your authenticator app.") % {
        "issuer": totp_issuer()} + "\n\n" + "\n".join(codes) + "\n"
    return {"codes": codes, "download_href": "data:text/plain;charset=utf-8," + quote(text)}


@never_cache
@login_required
def security_view(request):
    user = request.user
    requirement = user_mfa_requirement(user=user)
    return render(request, "mfa/security.html", {
        "totp_devices": user_totp_devices(user=user), "codes_left": user_recovery_codes_left(user=user),
        "code_count": RECOVERY_CODE_COUNT, "has_factor": user_factor_count(user=user) > 0,
        "requirement": requirement,
    })


@never_cache
@login_required
@sensitive_post_parameters("code")
@csrf_protect
@require_http_methods(["GET", "POST"])
def totp_add_view(request):
    user = request.user
    device = pending_totp(request, user)
    form = TotpEnrolForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if device is None:
            messages.error(request, _("That setup had expired, so here is a new QR code. Add it to your app again."))
            return redirect("mfa:totp-add")
        if form.is_valid():
            try:
                enrolled = totp_enrol_confirm(user=user, device=device, code=form.cleaned_data["code"],
                                              name=form.cleaned_data["name"], request=request)
            except DomainError as exc:
                form_add_domain_error(form, exc)
            else:
                request.session.pop(PENDING_TOTP_KEY, None)
                messages.success(request, _("Added the authenticator app “%(name)s”.") % {"name": enrolled.device.name})
                if enrolled.recovery_codes:
                    return render(request, "mfa/recovery_codes.html", recovery_codes_context(enrolled.recovery_codes))
                return redirect("mfa:security")
    else:
        device = totp_enrol_begin(user=user)
        request.session[PENDING_TOTP_KEY] = device.pk
    return render(request, "mfa/totp_add.html", {"form": form, "qr_svg": totp_qr_svg(device),
                                                 "setup_key": totp_setup_key(device)},
                  status=400 if form.is_bound else 200)


def _password_key(request) -> str:
    return f"account_current_password:{request.user.pk}"


def _password_throttled(request) -> int:
    limit, window = CURRENT_PASSWORD_LIMIT
    decision = throttle_hit(key=_password_key(request), limit=limit, window_seconds=window)
    return 0 if decision.allowed else decision.retry_after


def _identity_confirmed(request, form: ConfirmRemovalForm) -> bool | HttpResponse:
    """The password (under the account page's password throttle) or a code from one of the user's
    authenticator apps (under the code throttle, mfa_verify_code): True, False with the form's error, or the
    429 page."""
    if form.cleaned_data["password"]:
        if retry_after := _password_throttled(request):
            return throttled_page(request, retry_after)
        if not request.user.check_password(form.cleaned_data["password"]):
            form.add_error("password", _("That is not your password."))
            return False
        throttle_forgive(key=_password_key(request), window_seconds=CURRENT_PASSWORD_LIMIT[1])
        return True
    check = mfa_verify_code(user=request.user, code=form.cleaned_data["code"], kind=CodeKind.TOTP, request=request)
    if check.outcome is CodeOutcome.THROTTLED:
        return throttled_page(request, check.retry_after)
    if not check.ok:
        form.add_error("code", _("That code is not right, or it was already used."))
    return check.ok


@never_cache
@login_required
@sensitive_post_parameters("password", "code")
@csrf_protect
@require_http_methods(["GET", "POST"])
def totp_remove_view(request, pk: int):
    """Removing an authenticator app asks for the password or a code from an authenticator app."""
    device = user_totp_devices(user=request.user).filter(pk=pk).first()
    if device is None:
        raise Http404
    form = ConfirmRemovalForm(request.POST if request.method == "POST" else None)
    refusal = mfa_factor_removal_refusal(user=request.user)
    if request.method == "POST" and refusal is None and form.is_valid():
        confirmed = _identity_confirmed(request, form)
        if isinstance(confirmed, HttpResponse):
            return confirmed
        if confirmed:
            try:
                totp_device_remove(user=request.user, device=device, request=request)
            except DomainError as exc:
                refusal = exc.message
            else:
                messages.success(request, _("Removed the authenticator app “%(name)s”.") % {"name": device.name})
                return redirect("mfa:security")
    status = 200 if request.method == "GET" else (409 if refusal else 400)
    return render(request, "mfa/totp_remove.html", {"device": device, "form": form, "refusal": refusal},
                  status=status)


@never_cache
@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def recovery_codes_view(request):
    """POST makes a new set and shows it once. A GET (a bookmark, a reload) shows nothing: the codes are
    only ever shown when made."""
    if request.method == "GET":
        return redirect("mfa:security")
    try:
        codes = recovery_codes_generate(user=request.user, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("mfa:security")
    return render(request, "mfa/recovery_codes.html", recovery_codes_context(codes))
