"""The account page: profile, organizations, sessions and consents of the signed-in user."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from applications.selectors import consent_get, consent_list
from applications.services import consent_withdraw
from identity.selectors import user_session_list
from orgs.models import Membership


@never_cache
@login_required
def account_view(request):
    memberships = Membership.objects.filter(user=request.user).select_related("org").order_by("org__name")
    return render(request, "identity/account.html", {
        "memberships": memberships,
        "sessions": user_session_list(user=request.user),
        "consents": consent_list(user=request.user),
    })


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
