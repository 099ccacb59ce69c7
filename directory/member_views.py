"""Console pages for a member's org-specific data, the employee id (/console/<org>/users/<pk>/employee-id), and
for ending all their sessions (/console/<org>/users/<pk>/sessions/end)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView

from config.exceptions import DomainError
from directory.member_forms import EmployeeIdForm
from directory.member_selectors import user_session_summary
from directory.member_services import member_sessions_end, membership_employee_id_update
from directory.selectors import org_member_get
from orgs.mixins import OrgPermissionMixin
from orgs.models import Membership


class MembershipEmployeeIdView(OrgPermissionMixin, FormView):
    """GET: the form on its own page. POST (also from the detail page's inline form): save, back to the user.

    Like every membership change, an admin may not change an owner's; owners and operators may.
    """

    permission = "members.manage"
    template_name = "directory/users/employee_id.html"
    form_class = EmployeeIdForm

    @cached_property
    def membership(self) -> Membership:
        membership = org_member_get(org=self.org, user_pk=self.kwargs["pk"])
        if membership.role == Membership.Role.OWNER and "owners.manage" not in self.org_permissions:
            raise PermissionDenied(_("Only an owner can change an owner's membership or account."))
        return membership

    def get(self, request, *args, **kwargs):
        self.membership  # noqa: B018 -- 404 or 403 before showing anything
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.membership  # noqa: B018
        return super().post(request, *args, **kwargs)

    def get_initial(self):
        return {"employee_id": self.membership.employee_id}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(member=self.membership.user, membership=self.membership)
        return context

    def form_valid(self, form):
        try:
            membership_employee_id_update(membership=self.membership, employee_id=form.cleaned_data["employee_id"],
                                          actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the employee id of %(email)s.") % {"email": self.membership.user.email})
        return redirect(reverse("console:user-detail",
                                kwargs={"org_slug": self.org.slug, "pk": self.membership.user_id}))


class MemberSessionsEndView(OrgPermissionMixin, TemplateView):
    """GET: a confirmation page naming what ending the sessions does. POST: end them, back to the member.

    Managers only (members.manage), never an admin on an owner; another org's member is a 404.
    """

    permission = "members.manage"
    template_name = "directory/users/sessions_end.html"

    @cached_property
    def membership(self) -> Membership:
        membership = org_member_get(org=self.org, user_pk=self.kwargs["pk"])
        if membership.role == Membership.Role.OWNER and "owners.manage" not in self.org_permissions:
            raise PermissionDenied(_("Only an owner can change an owner's membership or account."))
        return membership

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
        context.update(member=self.membership.user, membership=self.membership,
                       sessions=user_session_summary(user=self.membership.user))
        return context

    def post(self, request, *args, **kwargs):
        try:
            ended = member_sessions_end(org=self.org, membership=self.membership, actor=request.user, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
            return self._back()
        email = self.membership.user.email
        if ended:
            messages.success(request, ngettext("Ended %(count)d session of %(email)s.",
                                               "Ended %(count)d sessions of %(email)s.", ended)
                             % {"count": ended, "email": email})
        else:
            messages.info(request, _("%(email)s had no session to end.") % {"email": email})
        return self._back()
