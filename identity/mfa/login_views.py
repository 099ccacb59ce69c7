"""The second-factor steps of sign-in: answering with a code (/login/verify) and setting up a first factor
when a policy or an application requires one (/login/enrol). Both continue the login flow (identity/flows.py)."""

import math

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from audit.services import audit_record
from config.exceptions import DomainError
from directory.models import User
from directory.time_zones import format_day
from identity.flows import LoginFlow, flow_clear, flow_load, flow_org, flow_save
from identity.forms import form_add_domain_error
from identity.mfa.assurance import ACR_PWD
from identity.mfa.forms import CodeForm, TotpEnrolForm
from identity.mfa.qr import totp_qr_svg, totp_setup_key
from identity.mfa.selectors import user_factor_kinds, user_mfa_requirement
from identity.mfa.services import CodeKind, CodeOutcome, mfa_verify_code, totp_enrol_begin, totp_enrol_confirm
from identity.mfa.verify_page import remember_factor, verify_page
from identity.mfa.views import PENDING_TOTP_KEY, pending_totp, recovery_codes_context
from identity.views.links import refused_page
from identity.views.login import login_flow_continue


def _pending_flow(request) -> tuple[LoginFlow, User] | None:
    """The sign-in in progress past its first factor, and its user; None when there is none (never
    started, finished, timed out, or the user was disabled meanwhile)."""
    flow = flow_load(request.session)
    if flow is None or not flow.methods or not flow.user_id:
        return None
    user = User.objects.filter(pk=flow.user_id, status=User.Status.ACTIVE).first()
    return (flow, user) if user is not None else None


def _start_again(request) -> HttpResponse:
    flow_clear(request.session)
    messages.info(request, _("Sign in to continue."))
    return redirect("identity:login")


# ---------------------------------------------------------------------- /login/verify


@never_cache
@sensitive_post_parameters("code")
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_verify_view(request):
    pending = _pending_flow(request)
    if pending is None:
        return _start_again(request)
    flow, user = pending
    if flow.remaining_steps(user)[:1] != ["mfa"]:
        return login_flow_continue(request, flow, user)
    if request.method == "GET":
        return verify_page(request, flow, user)

    form = CodeForm(request.POST)
    if not form.is_valid():
        return verify_page(request, flow, user, form, request.POST.get("kind") or CodeKind.TOTP, status=400)
    kind = CodeKind(form.cleaned_data["kind"])
    check = mfa_verify_code(user=user, code=form.cleaned_data["code"], kind=kind, request=request,
                            org=flow_org(flow))
    if check.outcome is CodeOutcome.THROTTLED:
        if check.back_off:
            form.add_error(None, _("Wait %(seconds)s seconds after a wrong code, then enter the code your app "
                                   "shows.") % {"seconds": check.retry_after})
        else:
            minutes = max(1, math.ceil(check.retry_after / 60))
            form.add_error(None, ngettext("Too many wrong codes. Try again in %(minutes)s minute.",
                                          "Too many wrong codes. Try again in %(minutes)s minutes.", minutes)
                           % {"minutes": minutes})
        response = verify_page(request, flow, user, form, kind, status=429)
        response["Retry-After"] = str(check.retry_after)
        return response
    if not check.ok:
        # Read the factors again: one may have been removed meanwhile, and the page must not offer it.
        flow.factors = user_factor_kinds(user=user)
        flow_save(request.session, flow)
        form.add_error("code", _("That code is not right, or it was already used. Enter the code your app shows "
                                 "now.") if kind is CodeKind.TOTP else
                       _("That recovery code is not right, or it was already used."))
        return verify_page(request, flow, user, form, kind, status=400)
    flow.methods.append("otp")
    if check.recovery_codes_left is not None:
        messages.warning(request, ngettext(
            "You used a recovery code: %(count)s is left. Make new ones on your account's security page.",
            "You used a recovery code: %(count)s are left. Make new ones on your account's security page.",
            check.recovery_codes_left) % {"count": check.recovery_codes_left})
    return remember_factor(login_flow_continue(request, flow, user), kind.value)


# ---------------------------------------------------------------------- /login/enrol


def _enrol_context(request, flow: LoginFlow, user) -> dict:
    requirement = user_mfa_requirement(user=user)
    app_asked = bool(flow.acr and flow.acr != ACR_PWD)
    can_skip = requirement.required and requirement.in_grace() and not app_asked
    return {"requirement": requirement, "can_skip": can_skip, "app_asked": app_asked,
            "grace_ends": requirement.grace_ends, "account_email": user.email}


def _enrol_page(request, flow, user, form, status: int = 200) -> HttpResponse:
    device = pending_totp(request, user)
    if device is None or request.method == "GET":
        device = totp_enrol_begin(user=user)
        request.session[PENDING_TOTP_KEY] = device.pk
    return render(request, "mfa/login_enrol.html", {
        **_enrol_context(request, flow, user), "form": form, "qr_svg": totp_qr_svg(device),
        "setup_key": totp_setup_key(device)}, status=status)


@never_cache
@sensitive_post_parameters("code")
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_enrol_view(request):
    pending = _pending_flow(request)
    if pending is None:
        return _start_again(request)
    flow, user = pending
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "continue" or flow.remaining_steps(user)[:1] != ["mfa_enrol"]:
        # Done here (or never needed, e.g. a factor was added elsewhere meanwhile): on to the next step.
        return login_flow_continue(request, flow, user)
    if request.method == "GET":
        return _enrol_page(request, flow, user, TotpEnrolForm())
    if action == "skip":
        return _skip(request, flow, user)

    form = TotpEnrolForm(request.POST)
    if not form.is_valid():
        return _enrol_page(request, flow, user, form, status=400)
    device = pending_totp(request, user)
    if device is None:
        messages.error(request, _("That setup had expired, so here is a new QR code. Add it to your app again."))
        return redirect("identity:login-enrol")
    try:
        enrolled = totp_enrol_confirm(user=user, device=device, code=form.cleaned_data["code"],
                                      name=form.cleaned_data["name"], request=request)
    except DomainError as exc:
        form_add_domain_error(form, exc)
        return _enrol_page(request, flow, user, form, status=400)
    request.session.pop(PENDING_TOTP_KEY, None)
    flow.methods.append("otp")
    flow_save(request.session, flow)
    return remember_factor(render(request, "mfa/login_enrolled.html", {
        **recovery_codes_context(enrolled.recovery_codes or []), "device": enrolled.device}), CodeKind.TOTP)


def _skip(request, flow: LoginFlow, user) -> HttpResponse:
    context = _enrol_context(request, flow, user)
    if not context["can_skip"]:
        requirement = context["requirement"]
        if context["app_asked"]:
            message = _("The application you are signing in to asks for two-step verification. Set up an "
                        "authenticator app to continue.")
        else:
            message = _("%(orgs)s requires two-step verification%(since)s. You cannot finish signing in until you "
                        "set up an authenticator app or a passkey.") % {
                "orgs": ", ".join(requirement.orgs) or _("This platform"),
                "since": (_(", and the time to set it up ended on %(date)s") % {
                    "date": format_day(requirement.grace_ends)})
                if requirement.grace_ends else ""}
        audit_record(action="mfa.enrolment_refused", actor=None, org=flow_org(flow), target=user, request=request,
                     metadata={"orgs": list(requirement.orgs), "app_asked": context["app_asked"]})
        return refused_page(request, title=_("Two-step verification is required"), message=message)
    flow.enrol_skipped = True
    audit_record(action="mfa.enrolment_skipped", actor=None, org=flow_org(flow), target=user, request=request,
                 metadata={"grace_ends": context["grace_ends"].isoformat(), "orgs": list(context["requirement"].orgs)})
    request.session.pop(PENDING_TOTP_KEY, None)
    return login_flow_continue(request, flow, user)
