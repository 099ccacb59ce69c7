"""Verifying your email address: asking for a link from the account page, and the page the link opens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from config.exceptions import NotAllowed
from directory.email_verification_services import (
    email_verification_confirm,
    email_verification_get,
    email_verification_send,
)
from identity.throttle import throttle_hit
from identity.tokens import InvalidLink
from identity.views.links import link_invalid_page, refused_page, throttled_page

# Each request sends a mail: a few an hour is plenty for someone waiting for one, and caps what a
# borrowed session could send.
SEND_LIMIT = (3, 3600)


@never_cache
@login_required
@require_POST
def email_verification_send_view(request):
    """Send (again) the link that verifies your address; throttled per account."""
    limit, window = SEND_LIMIT
    decision = throttle_hit(key=f"email_verification_send:{request.user.pk}", limit=limit, window_seconds=window)
    if not decision.allowed:
        return throttled_page(request, decision.retry_after)
    if email_verification_send(user=request.user, actor=request.user, request=request) is None:
        messages.info(request, _("Your email address is already verified."))
    else:
        messages.success(request, _("We sent a verification link to %(email)s. Open it and confirm to verify "
                                    "your address.") % {"email": request.user.email})
    return redirect("identity:account")


def _link_invalid(request, exc: InvalidLink):
    return link_invalid_page(request, exc, how_to=_("Sign in and ask for a new link on your account page."),
                             action_url=reverse("identity:account"), action_label=_("Go to your account"))


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def email_verification_confirm_view(request, token: str):
    """GET asks (mail scanners open links), POST verifies. No sign-in needed: the link proves the mailbox."""
    try:
        link = email_verification_get(raw_token=token)
    except InvalidLink as exc:
        return _link_invalid(request, exc)
    except NotAllowed as exc:
        return refused_page(request, title=_("This link cannot be used"), message=exc.message, status=410)
    if request.method == "POST":
        try:
            user = email_verification_confirm(raw_token=token, request=request)
        except InvalidLink as exc:
            return _link_invalid(request, exc)
        except NotAllowed as exc:
            return refused_page(request, title=_("This link cannot be used"), message=exc.message, status=410)
        if request.user.is_authenticated and request.user.pk == user.pk:
            messages.success(request, _("Your email address %(email)s is verified.") % {"email": user.email})
            return redirect("identity:account")
        return render(request, "identity/email_verified.html", {"email": user.email})
    return render(request, "identity/email_verification_confirm.html", {"email": link.user.email})
