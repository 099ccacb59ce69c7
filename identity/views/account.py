"""The account page: profile, organizations, sessions and consents of the signed-in user, and the
forms that change their password and email address and end their other sessions."""

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from applications.selectors import consent_get, consent_list
from applications.services import consent_withdraw
from config.exceptions import AlreadyExists, DomainError, NotAllowed
from directory.email_change_services import email_change_confirm, email_change_get, email_change_request
from directory.email_verification_services import email_verification_needed
from directory.services import password_change
from identity.forms import EmailChangeForm, PasswordChangeForm, TimeZoneForm, form_add_domain_error
from identity.models import OneTimeToken
from identity.selectors import user_session_get, user_sessions_listed
from identity.services import SessionEndCause, user_session_end, user_sessions_end_all
from identity.throttle import throttle_hit
from identity.time_zone import user_time_zone_update
from identity.tokens import InvalidLink
from identity.views.links import link_invalid_page, refused_page, throttled_page
from orgs.models import Membership

# Forms that check the current password: a borrowed session must not be able to guess it at leisure.
CURRENT_PASSWORD_LIMIT = (10, 3600)
# Sessions the account page lists; "Sign out everywhere else" ends the rest too.
SESSIONS_LISTED = 20


def _pending_email_change(user) -> OneTimeToken | None:
    return (OneTimeToken.objects.for_purpose(OneTimeToken.Purpose.EMAIL_CHANGE).live()
            .filter(user=user).order_by("-created_at").first())


@never_cache
@login_required
def account_view(request):
    memberships = Membership.objects.filter(user=request.user).select_related("org").order_by("org__name")
    current = getattr(request, "user_session", None)
    sessions, sessions_total = user_sessions_listed(user=request.user, current_pk=current.pk if current else None,
                                                    limit=SESSIONS_LISTED)
    return render(request, "identity/account.html", {
        "memberships": memberships,
        "sessions": sessions,
        "sessions_total": sessions_total,
        "sessions_unlisted": sessions_total - len(sessions),
        "consents": consent_list(user=request.user),
        "pending_email_change": _pending_email_change(request.user),
        "email_verification_needed": email_verification_needed(request.user),
    })


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def time_zone_view(request):
    """Change the zone times are shown in; a name that is not a zone gets the form back, the error beside the
    field and the choice kept. A page of its own: its list of some 600 zones costs ~40 ms to render, too much
    for /account/, where every sign-in lands."""
    if request.method == "GET":
        form = TimeZoneForm(initial={"time_zone": request.user.time_zone})
        return render(request, "identity/account_time_zone.html", {"form": form})
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return render(request, "identity/account_time_zone.html", {"form": form})
    user_time_zone_update(user=request.user, time_zone=form.cleaned_data["time_zone"], request=request)
    messages.success(request, _("Times are now shown in %(zone)s.") % {"zone": form.cleaned_data["time_zone"]})
    return redirect("identity:account")


@never_cache
@login_required
@require_POST
def session_end_view(request, pk: int):
    """Sign out one of your sessions (another device, or this one); anyone else's, or an ended one, is a 404."""
    user_session = user_session_get(user=request.user, pk=pk)
    user_session_end(user_session=user_session, actor=request.user, reason=SessionEndCause.BY_USER, request=request)
    if request.user_session is not None and user_session.pk == request.user_session.pk:
        logout(request)
        messages.info(request, _("You have been signed out."))
        return redirect("identity:login")
    messages.success(request, _("%(device)s has been signed out.") % {"device": user_session.device or _("The device")})
    return redirect("identity:account")


@never_cache
@login_required
@require_POST
def sessions_end_others_view(request):
    """Sign out every session of yours but this one."""
    ended = user_sessions_end_all(user=request.user, actor=request.user, reason=SessionEndCause.BY_USER,
                                  except_session=request.user_session, request=request)
    messages.success(request, ngettext("Signed out %(count)d other session.", "Signed out %(count)d other sessions.",
                                       ended) % {"count": ended})
    return redirect("identity:account")


@never_cache
@login_required
@require_POST
def consent_withdraw_view(request, pk: int):
    """Withdraw one of your own consents; anyone else's id is a 404."""
    consent = consent_get(user=request.user, pk=pk)
    consent_withdraw(consent=consent, actor=request.user, request=request)
    messages.success(request, _("%(app)s will ask for your permission again next time.")
                     % {"app": consent.application.name})
    return redirect("identity:account")


def _current_password_throttled(request) -> int:
    limit, window = CURRENT_PASSWORD_LIMIT
    decision = throttle_hit(key=f"account_current_password:{request.user.pk}", limit=limit, window_seconds=window)
    return 0 if decision.allowed else decision.retry_after


@never_cache
@login_required
@sensitive_post_parameters("current_password", "new_password1", "new_password2")
@csrf_protect
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    """Change your password: the current one is required, and every other session is signed out."""
    form = PasswordChangeForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        if retry_after := _current_password_throttled(request):
            return throttled_page(request, retry_after)
        try:
            user = password_change(user=request.user, current_password=form.cleaned_data["current_password"],
                                   new_password=form.cleaned_data["new_password1"], request=request)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            # Keeps this browser signed in; every other session ended in the service.
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed. Your other sessions have been signed out."))
            return redirect("identity:account")
    return render(request, "identity/account_password.html", {"form": form})


@never_cache
@login_required
@sensitive_post_parameters("current_password")
@csrf_protect
@require_http_methods(["GET", "POST"])
def email_change_view(request):
    """Ask to change your email address; it changes only when the new address confirms."""
    form = EmailChangeForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        if retry_after := _current_password_throttled(request):
            return throttled_page(request, retry_after)
        new_email = form.cleaned_data["new_email"]
        try:
            email_change_request(user=request.user, new_email=new_email,
                                 current_password=form.cleaned_data["current_password"], request=request)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("We sent a confirmation link to %(email)s. Your address changes when you "
                                        "open it and confirm.") % {"email": new_email})
            return redirect("identity:account")
    return render(request, "identity/account_email.html",
                  {"form": form, "pending_email_change": _pending_email_change(request.user)})


def _email_link_invalid(request, exc: InvalidLink):
    return link_invalid_page(request, exc, how_to=_("You can ask for a new confirmation link on your account page."),
                             action_url=reverse("identity:email-change"), action_label=_("Change email address"))


@never_cache
@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def email_change_confirm_view(request, token: str):
    """Confirm the new address. Only the account that asked may: opening the link signed out leads
    through sign-in first, and another signed-in account is refused."""
    try:
        link = email_change_get(raw_token=token, user=request.user)
    except InvalidLink as exc:
        return _email_link_invalid(request, exc)
    except NotAllowed as exc:
        return refused_page(request, title=_("This link is for another account"), message=exc.message)
    if request.method == "POST":
        try:
            user = email_change_confirm(raw_token=token, user=request.user, request=request)
        except InvalidLink as exc:
            return _email_link_invalid(request, exc)
        except (NotAllowed, AlreadyExists) as exc:
            return refused_page(request, title=_("Your email address was not changed"), message=exc.message)
        messages.success(request, _("Your email address is now %(email)s.") % {"email": user.email})
        return redirect("identity:account")
    return render(request, "identity/account_email_confirm.html",
                  {"new_email": link.email, "expires_at": link.expires_at})
