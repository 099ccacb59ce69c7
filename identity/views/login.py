"""Hosted pages: sign-in and sign-out."""

import math

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from identity.flows import (
    LoginFlow,
    flow_acr_of_next,
    flow_clear,
    flow_load,
    flow_origin_note,
    flow_save,
    flow_step_url,
)
from identity.forms import PasswordStepForm
from identity.mfa.assurance import PASSKEY_METHODS, amr_for
from identity.mfa.services import user_session_step_up
from identity.mfa.verify_page import remember_factor, verify_page
from identity.oidc.authorize import authorize_inline
from identity.oidc.csp import allow_form_action, source_for_authorize_url
from identity.redirects import landing_url, safe_next_url
from identity.services import (
    PasswordCheck,
    PasswordOutcome,
    login_failed_record,
    password_check,
    session_end,
    session_start,
)
from identity.signin_page import signin_page, wear_origin_brand

INVALID_CREDENTIALS = gettext_lazy("Incorrect email or password.")


def csrf_failure(request, reason=""):
    """A form posted without a valid CSRF token (often: the page sat open past the session)."""
    return render(request, "errors/csrf.html", status=403)


def start(request):
    """The site root: signed-in people go to their landing page, others to sign-in."""
    if request.user.is_authenticated:
        return redirect(landing_url(request.user))
    return redirect("identity:login")


def _login_page(request, form, next_url: str, origin=None):
    """The sign-in form. When it will end at an application, CSP's form-action must allow that
    application's redirect origin, or Chromium blocks the last redirect. `form`: a bound form (its values
    and errors shown), or None for the empty form of a GET. `origin`: flow_origin_org(next_url), when the
    caller has it; the page wears that org's branding."""
    wear_origin_brand(request, next_url, origin)
    response = signin_page(request, next_url, form)
    return allow_form_action(response, source_for_authorize_url(next_url) if next_url else None)


def login_flow_continue(request, flow: LoginFlow, user, steps: list[str] | None = None, *,
                        answer_authorize: bool = True) -> HttpResponse:
    """After a step has added its method to `flow.methods`: save the flow and go to the next step's page,
    or, when no step is left, sign in (login(), or stepping up the session already signed in as `user`)
    and go where the flow was going. The passkey step calls this too, after appending "hwk" or "swk".
    `steps`: flow.remaining_steps(user) when the caller has just worked them out (each costs queries).

    When the flow was going to /oauth/authorize, that endpoint's answer (the application's code) is given
    right away (authorize_inline), unless `answer_authorize` is False: the passkey step's script wants an
    address to go to, and /oauth/authorize's answer may be a page (response_mode=form_post)."""
    if steps is None:
        steps = flow.remaining_steps(user)
    if steps:
        flow_save(request.session, flow)
        return redirect(flow_step_url(steps[0]))
    next_url = flow.next_url
    flow_clear(request.session)
    amr = amr_for(flow.methods)
    if flow.step_up and request.user.is_authenticated and request.user.pk == user.pk \
            and getattr(request, "user_session", None) is not None:
        user_session_step_up(request=request, amr=amr)
    else:
        session_start(request=request, user=user, amr=amr)
    response = authorize_inline(request, next_url) if answer_authorize and next_url else None
    if response is None:
        response = redirect(next_url or landing_url(user))
    if set(flow.methods) & PASSKEY_METHODS:
        remember_factor(response, "passkey")
    return response


def _refused_page(request, form, check: PasswordCheck, origin):
    """The sign-in form again, saying why. A lockout reads the same whether or not the email has an
    account; it and the per-IP throttle answer 429 with Retry-After."""
    minutes = max(1, math.ceil(check.retry_after / 60))
    if check.outcome is PasswordOutcome.THROTTLED:
        form.add_error(None, _("Too many failed sign-in attempts from your network. "
                               "Try again in %(minutes)s minutes.") % {"minutes": minutes})
    elif check.outcome is PasswordOutcome.LOCKED:
        form.add_error(None, _("Too many failed sign-in attempts for this email address, so signing in "
                               "with it is paused. Try again in %(minutes)s minutes, or contact your "
                               "administrator.") % {"minutes": minutes})
    elif check.outcome is PasswordOutcome.DISABLED:
        form.add_error(None, _("This account is disabled. Contact your administrator."))
    elif check.outcome is PasswordOutcome.SUSPENDED:
        form.add_error(None, _("Your access to %(orgs)s is suspended. Contact your administrator.")
                       % {"orgs": ", ".join(check.suspended_orgs)})
    else:
        form.add_error(None, INVALID_CREDENTIALS)
    response = _login_page(request, form, form.cleaned_data.get("next", ""), origin)
    if check.outcome in (PasswordOutcome.THROTTLED, PasswordOutcome.LOCKED):
        response.status_code = 429
        response["Retry-After"] = str(check.retry_after)
    return response


@never_cache
@sensitive_post_parameters("password")
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET":
        next_url = safe_next_url(request, request.GET.get("next"))
        # prompt=login (sent by /oauth/authorize for prompt=login or max_age) asks even a signed-in
        # browser for its password again.
        if request.user.is_authenticated and request.GET.get("prompt") != "login":
            return redirect(next_url or landing_url(request.user))
        # An org's application sent the browser here: its branding, and at the POST its lockout threshold.
        # Noted in the session by the POST, not here: a page view alone writes no session.
        origin = flow_origin_note(request.session, next_url, start=False)
        return _login_page(request, None, next_url, origin)

    form = PasswordStepForm(request.POST)
    if not form.is_valid():
        return _login_page(request, form, safe_next_url(request, request.POST.get("next")))
    email = form.cleaned_data["email"]
    origin_org = flow_origin_note(request.session, safe_next_url(request, form.cleaned_data.get("next")))
    check = password_check(email=email, password=form.cleaned_data["password"], request=request,
                           lockout_threshold=origin_org.lockout_threshold if origin_org else None)
    if check.outcome is not PasswordOutcome.OK:
        login_failed_record(request=request, email=email, check=check, org=origin_org)
        return _refused_page(request, form, check, origin_org)

    flow = flow_load(request.session) or LoginFlow()
    flow.next_url = safe_next_url(request, form.cleaned_data.get("next"))
    flow.user_id = check.user.pk
    flow.methods = ["pwd"]
    flow.enrol_skipped = flow.step_up = False
    flow.acr = flow_acr_of_next(flow.next_url)
    flow.factors = None  # another account's may be left from an earlier attempt in this browser
    steps = flow.remaining_steps(check.user)
    if steps[:1] == ["mfa"]:
        # The second-factor step's page right away rather than a redirect to it: a round trip less, which
        # is most of what an authenticator app adds to a sign-in (bench/login.py --totp, issue #11).
        flow_save(request.session, flow)
        return verify_page(request, flow, check.user)
    return login_flow_continue(request, flow, check.user, steps)


@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request):
    """POST signs out. GET only asks: a link or an image must never be able to sign someone out."""
    if request.method == "GET":
        return render(request, "identity/logout_confirm.html")
    if request.user.is_authenticated:
        session_end(request=request)
    messages.info(request, _("You have been signed out."))
    return redirect("identity:login")
