"""Console pages: the entry point, the platform operator's pages and each org's overview."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView, TemplateView, View

from applications.models import Application
from audit.selectors import audit_event_list
from config.exceptions import DomainError
from directory.models import Group
from orgs.forms import OrganizationCreateForm, ReasonForm
from orgs.mixins import OrgPermissionMixin, PlatformOperatorMixin
from orgs.models import Membership
from orgs.permissions import console_memberships
from orgs.selectors import organization_get, organization_list
from orgs.services import organization_create, organization_reactivate, organization_suspend


@login_required
def console_home(request):
    """Send each person to the console they can use, or say plainly that there is none."""
    if request.user.is_superuser:
        return redirect("console:platform-orgs")
    memberships = list(console_memberships(request.user))
    if len(memberships) == 1:
        return redirect("console:org-overview", org_slug=memberships[0].org.slug)
    if memberships:
        return render(request, "console/choose_org.html", {"memberships": memberships})
    return render(request, "console/no_access.html", status=403)


class PlatformOrgListView(PlatformOperatorMixin, ListView):
    template_name = "console/platform/org_list.html"
    context_object_name = "orgs"

    def get_queryset(self):
        return organization_list()


class PlatformOrgCreateView(PlatformOperatorMixin, FormView):
    template_name = "console/platform/org_create.html"
    form_class = OrganizationCreateForm

    def form_valid(self, form):
        try:
            org = organization_create(slug=form.cleaned_data["slug"], name=form.cleaned_data["name"],
                                      actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Created %(name)s.") % {"name": org.name})
        return redirect("console:org-overview", org_slug=org.slug)


class PlatformOrgStatusView(PlatformOperatorMixin, View):
    """POST-only: suspend or reactivate an organization."""

    http_method_names = ["post"]
    action = ""  # "suspend" or "reactivate"

    def post(self, request, slug):
        org = organization_get(slug=slug)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["reason"]))
            return redirect(reverse("console:platform-orgs"))
        reason = form.cleaned_data["reason"]
        if self.action == "suspend":
            organization_suspend(org=org, actor=request.user, request=request, reason=reason)
            messages.success(request, _("Suspended %(name)s.") % {"name": org.name})
        else:
            organization_reactivate(org=org, actor=request.user, request=request, reason=reason)
            messages.success(request, _("Reactivated %(name)s.") % {"name": org.name})
        return redirect(reverse("console:platform-orgs"))


class OrgOverviewView(OrgPermissionMixin, TemplateView):
    permission = "org.view"
    template_name = "console/org_overview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        memberships = Membership.objects.for_org(self.org)
        context["stats"] = {
            "active_members": memberships.filter(status=Membership.Status.ACTIVE).count(),
            "invited_members": memberships.filter(status=Membership.Status.INVITED).count(),
            "groups": self.scoped(Group.objects).count(),
            "applications": self.scoped(Application.objects).count(),
        }
        if "audit.view" in self.org_permissions:
            context["recent_events"] = audit_event_list(org=self.org)[:10]
        return context
