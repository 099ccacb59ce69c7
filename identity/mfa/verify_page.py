"""The second-factor step's page, shown by /login/verify and straight from the password step (identity/views/
login.py) so that a user with an authenticator app goes from password to code in one round trip.

It reads nothing from the database: the user's kinds of factor come with the flow (LoginFlow.factors)."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render

from identity.flows import LoginFlow
from identity.mfa.forms import CodeForm
from identity.mfa.selectors import FACTOR_PASSKEY, FACTOR_RECOVERY, FACTOR_TOTP
from identity.mfa.services import CodeKind
from identity.oidc.csp import allow_form_action, source_for_authorize_url

# Which second factor this browser used last ("totp", "recovery" or "passkey"): the second-factor step
# offers it first. Not a secret, and only a preference: it lives in a cookie of its own for a year.
LAST_FACTOR_COOKIE = "gatehouse_mfa_last"
LAST_FACTOR_VALUES = (FACTOR_TOTP, FACTOR_RECOVERY, FACTOR_PASSKEY)


def remember_factor(response: HttpResponse, factor: str) -> HttpResponse:
    if factor in LAST_FACTOR_VALUES:
        response.set_cookie(LAST_FACTOR_COOKIE, factor, max_age=365 * 24 * 3600, secure=settings.SESSION_COOKIE_SECURE,
                            httponly=True, samesite="Lax")
    return response


def _kind_wanted(request, factors: list[str]) -> str:
    """The kind chosen by link, else this browser's last, else an authenticator app's code."""
    wanted = request.GET.get("method") or request.COOKIES.get(LAST_FACTOR_COOKIE, "")
    if wanted == FACTOR_RECOVERY and FACTOR_RECOVERY in factors:
        return CodeKind.RECOVERY
    if FACTOR_PASSKEY in factors and (wanted == FACTOR_PASSKEY or FACTOR_TOTP not in factors):
        return FACTOR_PASSKEY
    return CodeKind.TOTP


def verify_page(request, flow: LoginFlow, user, form: CodeForm | None = None, kind: str | None = None,
                status: int = 200) -> HttpResponse:
    """The step's page: a code form (`kind` totp or recovery) or the passkey prompt. With no `form`, the kind
    is the one this browser prefers. When the sign-in ends at an application, CSP's form-action must allow
    that application's redirect origin, or Chromium blocks the last redirect of the code's POST."""
    factors = flow.user_factors(user)
    if form is None:
        kind = _kind_wanted(request, factors)
        form = CodeForm(kind=kind if kind != FACTOR_PASSKEY else CodeKind.TOTP)
    response = render(request, "mfa/login_verify.html", {
        "form": form, "kind": kind, "has_totp": FACTOR_TOTP in factors, "has_passkey": FACTOR_PASSKEY in factors,
        "has_recovery": FACTOR_RECOVERY in factors, "account_email": user.email,
    }, status=status)
    return allow_form_action(response, source_for_authorize_url(flow.next_url) if flow.next_url else None)
