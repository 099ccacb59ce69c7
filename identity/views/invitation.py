"""The invitation page: set up a new account, or join an org as the account you already have.

Opening the link (GET) only shows a page; the POST that completes it uses the link up, so a mail
scanner that follows links leaves them working.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from config.exceptions import DomainError, NotAllowed
from identity.forms import SetPasswordForm, form_add_domain_error
from identity.redirects import landing_url
from identity.tokens import InvalidLink, LinkProblem
from identity.views.links import link_invalid_page, refused_page
from orgs.models import Membership
from orgs.services import invitation_accept, invitation_get, invitation_sets_password


def _invalid(request, exc: InvalidLink):
    membership = None
    if exc.token is not None and exc.token.membership_id:
        membership = Membership.objects.select_related("org").filter(pk=exc.token.membership_id).first()
    if exc.problem is LinkProblem.USED and membership is not None and membership.is_active:
        how_to = _("You have already accepted this invitation to %(org)s. Sign in to continue.") % {
            "org": membership.org.name}
        return link_invalid_page(request, exc, how_to=how_to, action_url=reverse("identity:login"),
                                 action_label=_("Sign in"))
    if membership is not None:
        how_to = _("Ask an administrator of %(org)s to send you a new invitation.") % {"org": membership.org.name}
    else:
        how_to = _("Ask the administrator who invited you to send you a new invitation.")
    return link_invalid_page(request, exc, how_to=how_to)


def _wrong_account(request, membership: Membership):
    return refused_page(request, title=_("This invitation is for another account"), message=_(
        "You are signed in as %(email)s, but this invitation to %(org)s was sent to another account. "
        "Sign out, then open the link again and sign in with the address the invitation was sent to."
    ) % {"email": request.user.email, "org": membership.org.name})


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@require_http_methods(["GET", "POST"])
def invitation_view(request, token: str):
    try:
        invitation = invitation_get(raw_token=token)
    except InvalidLink as exc:
        return _invalid(request, exc)
    membership = invitation.membership
    invitee = membership.user
    request.hosted_org_id = membership.org_id  # the page wears the inviting org's branding
    actor = request.user if request.user.is_authenticated else None

    if invitation_sets_password(invitee):
        form = SetPasswordForm(request.POST if request.method == "POST" else None, user=invitee,
                               extra_org=membership.org)
        if request.method == "POST" and form.is_valid():
            try:
                invitation_accept(raw_token=token, password=form.cleaned_data["new_password1"], actor=actor,
                                  request=request)
            except InvalidLink as exc:
                return _invalid(request, exc)
            except NotAllowed as exc:
                return refused_page(request, title=_("This invitation cannot be accepted"), message=exc.message)
            except DomainError as exc:
                form_add_domain_error(form, exc)
            else:
                messages.success(request, _("Your account is ready and you joined %(org)s. Sign in with your new "
                                            "password.") % {"org": membership.org.name})
                return redirect("identity:login")
        return render(request, "identity/invitation_setup.html",
                      {"form": form, "membership": membership, "invitee": invitee})

    # An existing account: an org may only offer it a membership, accepted after signing in as itself.
    if actor is None:
        login_url = f"{reverse('identity:login')}?{urlencode({'next': request.path})}"
        return render(request, "identity/invitation_join.html",
                      {"membership": membership, "login_url": login_url, "signed_in": False})
    if actor.pk != invitee.pk:
        return _wrong_account(request, membership)
    if request.method == "POST":
        try:
            invitation_accept(raw_token=token, actor=actor, request=request)
        except InvalidLink as exc:
            return _invalid(request, exc)
        except NotAllowed as exc:
            return refused_page(request, title=_("This invitation cannot be accepted"), message=exc.message)
        messages.success(request, _("You joined %(org)s.") % {"org": membership.org.name})
        return redirect(landing_url(actor))
    return render(request, "identity/invitation_join.html", {"membership": membership, "signed_in": True})
