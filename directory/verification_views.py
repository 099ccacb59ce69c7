"""The console's "Resend verification email" on a member's page: the link that proves their address, sent
again on an admin's request, at most once a minute per member (counted from the last link sent, whoever
asked) so a held-down button cannot flood a mailbox.

Like the other account actions (directory/user_views.py): managers only, never an admin on an owner, only
while the membership is active, and only for people who belong to this org alone — their account, and the
mail about it, are a platform operator's matter otherwise (DESIGN.md).
"""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import View

from config.exceptions import DomainError
from directory.email_verification_services import SentRecently, email_verification_send
from directory.services import only_in_org_check
from directory.user_views import _MemberMixin
from orgs.mixins import OrgPermissionMixin

# One mail per member per minute, whoever of the org's admins asks: enough for "it went to spam, send it
# again", too few to bury someone's inbox.
RESEND_INTERVAL = timedelta(minutes=1)


class UserEmailVerificationSendView(OrgPermissionMixin, _MemberMixin, View):
    http_method_names = ["post"]
    permission = "members.manage"

    def post(self, request, *args, **kwargs):
        membership = self.get_membership()
        self.check_may_manage(membership)
        back = redirect(reverse("console:user-detail", kwargs={"org_slug": self.org.slug, "pk": membership.user_id}))
        if (refused := self.account_refused(membership)) is not None:
            return refused
        user = membership.user
        try:
            only_in_org_check(org=self.org, user=user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return back
        try:
            sent = email_verification_send(user=user, actor=request.user, request=request, not_within=RESEND_INTERVAL)
        except SentRecently as exc:
            messages.error(request, ngettext(
                "A verification email was sent to %(email)s moments ago. You can send another in %(seconds)s second.",
                "A verification email was sent to %(email)s moments ago. You can send another in %(seconds)s "
                "seconds.", exc.retry_after) % {"email": user.email, "seconds": exc.retry_after})
            return back
        if sent is None:
            messages.info(request, _("%(email)s needs no verification email: the address is verified already, or "
                                     "the account has no password yet (its invitation or reset link proves the "
                                     "address).") % {"email": user.email})
            return back
        messages.success(request, _("Sent a verification email to %(email)s; the earlier link no longer works.")
                         % {"email": user.email})
        return back
