"""Password reset: ask for a link (the same answer for every address), then set a new password with it."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from config.exceptions import DomainError, NotAllowed
from directory.services import password_reset_confirm, password_reset_request
from identity.forms import PasswordResetRequestForm, SetPasswordForm, form_add_domain_error
from identity.models import OneTimeToken
from identity.redirects import landing_url, safe_next_url
from identity.signin_page import next_query, wear_origin_brand
from identity.throttle import throttle_hit
from identity.tokens import InvalidLink, token_get
from identity.views.links import link_invalid_page, refused_page, throttled_page

# (hits, window in seconds), from settings (docs/configuration.md).
RESET_LIMIT_PER_EMAIL = (settings.GATEHOUSE_RESET_LIMIT_PER_EMAIL, settings.GATEHOUSE_RESET_WINDOW_SECONDS)
RESET_LIMIT_PER_IP = (settings.GATEHOUSE_RESET_LIMIT_PER_IP, settings.GATEHOUSE_RESET_WINDOW_SECONDS)


def _throttled(request, email: str) -> int:
    """Seconds to wait when this IP or this address asked too often, else 0. The address is counted
    only when the IP is allowed, so one noisy IP cannot use up a victim's quota by itself."""
    for key, (limit, window) in (
        (f"password_reset:ip:{request.client_ip}", RESET_LIMIT_PER_IP),
        (f"password_reset:email:{email.strip().lower()}", RESET_LIMIT_PER_EMAIL),
    ):
        decision = throttle_hit(key=key, limit=limit, window_seconds=window)
        if not decision.allowed:
            return decision.retry_after
    return 0


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def password_reset_request_view(request):
    """The answer never depends on whether the address has an account: either way the request writes
    one outbox row (a link, or a notice that no account uses the address) and shows the same page."""
    # Reached from a sign-in an application started (the sign-in page's link carries its `next`): the pages
    # wear that app's org's branding, and their way back to sign-in still ends at the app.
    next_url = safe_next_url(request, request.GET.get("next"))
    wear_origin_brand(request, next_url)
    query = next_query(next_url) if next_url else ""
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "GET" or not form.is_valid():
        return render(request, "identity/password_reset_request.html", {"form": form, "next_query": query})
    email = form.cleaned_data["email"]
    if retry_after := _throttled(request, email):
        return throttled_page(request, retry_after)
    # Written here, in its own transaction, rather than by a task that carries the address: the broker
    # gets only the row's id after commit, and if it is down the row waits for the outbox sweeper.
    password_reset_request(email=email, request=request)
    return render(request, "identity/password_reset_sent.html", {"email": email, "next_query": query})


def _invalid(request, exc: InvalidLink):
    return link_invalid_page(request, exc, how_to=_("You can ask for a new link; it is valid for one hour."),
                             action_url=reverse("identity:password-reset"), action_label=_("Request a new link"))


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@require_http_methods(["GET", "POST"])
def password_reset_confirm_view(request, token: str):
    try:
        link = token_get(purpose=OneTimeToken.Purpose.PASSWORD_RESET, raw=token)
    except InvalidLink as exc:
        return _invalid(request, exc)
    user = link.user
    form = SetPasswordForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset_confirm(raw_token=token, password=form.cleaned_data["new_password1"], request=request)
        except InvalidLink as exc:
            return _invalid(request, exc)
        except NotAllowed as exc:
            return refused_page(request, title=_("The password cannot be reset"), message=exc.message)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Your password has been changed."))
            if request.user.is_authenticated and request.user.pk == user.pk:
                user.refresh_from_db()
                update_session_auth_hash(request, user)
                return redirect(landing_url(user))
            return redirect("identity:login")
    return render(request, "identity/password_reset_confirm.html", {"form": form, "account_email": user.email})
