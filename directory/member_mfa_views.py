"""Console page to reset a member's second factors (/console/<org>/users/<pk>/mfa/reset), for someone who
lost them (docs/mfa-admin.md). The rules are the service's; the page names what happens first."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from config.exceptions import DomainError
from directory.selectors import org_member_get
from identity.mfa.admin_selectors import mfa_reset_refusal, user_mfa_summary
from identity.mfa.admin_services import user_mfa_reset
from identity.step_up import step_up_required
from orgs.mixins import OrgPermissionMixin
from orgs.models import Membership


@step_up_required("mfa.reset", ask_on_get=True)
class MemberMfaResetView(OrgPermissionMixin, TemplateView):
    """GET: what a reset removes and what the person must do next. POST: reset, back to the member.

    Managers only, never an admin on an owner, only while the membership is active. A platform operator
    resets anyone's (recorded in the platform's log); an org admin only that of someone in this org alone.
    """

    permission = "members.manage"
    template_name = "directory/users/mfa_reset.html"

    @cached_property
    def membership(self) -> Membership:
        membership = org_member_get(org=self.org, user_pk=self.kwargs["pk"])
        if membership.role == Membership.Role.OWNER and "owners.manage" not in self.org_permissions:
            raise PermissionDenied(_("Only an owner can change an owner's membership or account."))
        return membership

    @property
    def acting_org(self):
        """The org the reset is done for: None when a platform operator does it (their rule, their log)."""
        return None if self.request.user.is_superuser else self.org

    def _back(self):
        return redirect(reverse("console:user-detail", kwargs={"org_slug": self.org.slug,
                                                               "pk": self.membership.user_id}))

    def get(self, request, *args, **kwargs):
        if self.membership.status != Membership.Status.ACTIVE:
            messages.error(request, _("Account actions are available once the membership is active."))
            return self._back()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.membership.user
        context.update(member=user, membership=self.membership, mfa=user_mfa_summary(user=user),
                       refusal=mfa_reset_refusal(user=user, actor=self.request.user, org=self.acting_org))
        return context

    def post(self, request, *args, **kwargs):
        if self.membership.status != Membership.Status.ACTIVE:
            messages.error(request, _("Account actions are available once the membership is active."))
            return self._back()
        user = self.membership.user
        try:
            reset = user_mfa_reset(user=user, actor=request.user, org=self.acting_org, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
            return self._back()
        if reset.changed:
            messages.success(request, _("Reset the two-step verification of %(email)s; they were told by email.")
                             % {"email": user.email})
        else:
            messages.info(request, _("%(email)s had no second factor; nothing changed.") % {"email": user.email})
        return self._back()
