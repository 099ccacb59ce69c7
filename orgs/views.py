"""Console pages: the entry point, the platform operator's pages and each org's overview."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import ListView, TemplateView, View

from applications.models import Application
from applications.token_selectors import live_token_count
from audit.selectors import audit_event_list
from directory.models import Group
from identity.step_up import step_up_required
from orgs.charts import BarsChart, DailyChart, bars_chart, daily_chart
from orgs.confirmation import Confirmation, confirm_first, confirmation_response
from orgs.dashboard import SignInActivity, StatusCount, org_dashboard, platform_dashboard
from orgs.forms import ReasonForm
from orgs.mixins import OrgPermissionMixin, PlatformOperatorMixin
from orgs.models import Membership
from orgs.permissions import console_memberships
from orgs.selectors import organization_get, organization_list
from orgs.services import organization_reactivate, organization_suspend


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


@confirm_first
@step_up_required("organization.status_change")
class PlatformOrgStatusView(PlatformOperatorMixin, View):
    """Suspend or reactivate an organization. Suspending asks first (what stops, for how many people); the
    confirmation page takes the reason. Reactivating takes nothing away, so it acts at once."""

    http_method_names = ["post"]
    action = ""  # "suspend" or "reactivate"

    def confirm_needed(self) -> bool:
        return self.action == "suspend"

    def confirmation(self) -> Confirmation:
        org = organization_get(slug=self.kwargs["slug"])
        title = _("Suspend the organization %(name)s?") % {"name": org.name}
        button = _("Suspend %(name)s") % {"name": org.name}
        back = reverse("console:platform-orgs")
        if not org.is_active:
            return Confirmation(title=title, consequences=[], button=button, cancel_url=back,
                                refusal=_("%(name)s is already suspended.") % {"name": org.name})
        members = Membership.objects.filter(org=org, status=Membership.Status.ACTIVE).count()
        tokens = live_token_count(org=org)
        consequences = [
            ngettext("Its %(members)d active member can no longer sign in to its applications or use its console.",
                     "Its %(members)d active members can no longer sign in to its applications or use its console.",
                     members) % {"members": members},
            ngettext("%(tokens)d live token issued by its applications is revoked; reactivating restores none.",
                     "%(tokens)d live tokens issued by its applications are revoked; reactivating restores none.",
                     tokens) % {"tokens": tokens},
            _("Its applications are told that the sessions they were used in have ended (back-channel logout), "
              "so people are signed out of them."),
            _("Platform operators can still open its console; its data is kept."),
        ]
        return Confirmation(
            title=title,
            consequences=consequences,
            note=_("You can reactivate it later."),
            button=button,
            cancel_url=back,
            form=ReasonForm(initial={"reason": self.request.POST.get("reason", "")[:500]}),
        )

    def post(self, request, slug):
        org = organization_get(slug=slug)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            if self.action == "suspend":
                return confirmation_response(self, form=form)
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


def activity_chart(activity: SignInActivity) -> DailyChart:
    """The sign-ins chart: sign-ins as bars, failed sign-ins as a line."""
    return daily_chart(days=activity.days, series=[
        (_("Sign-ins"), "chart-sign-ins", activity.sign_ins),
        (_("Failed sign-ins"), "chart-failed", activity.failed_sign_ins),
    ])


def status_chart(counts: list[StatusCount], css_prefix: str) -> BarsChart:
    """A bar per status, each with a `<css_prefix>-<status>` class for its colour."""
    return bars_chart(items=[(c.key, c.label, c.count) for c in counts], css_prefix=css_prefix)


def activity_summary(activity: SignInActivity) -> str:
    """The chart's description for screen readers: the totals it shows."""
    return ngettext(
        "%(sign_ins)s sign-in and %(failed)s failed sign-ins in the last %(days)s days.",
        "%(sign_ins)s sign-ins and %(failed)s failed sign-ins in the last %(days)s days.",
        activity.total_sign_ins,
    ) % {"sign_ins": activity.total_sign_ins, "failed": activity.total_failed_sign_ins, "days": len(activity.days)}


class OrgOverviewView(OrgPermissionMixin, TemplateView):
    """The org's figures at a glance; the sign-in and email charts only for roles that may read those logs."""

    permission = "org.view"
    template_name = "console/org_overview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        can_audit = "audit.view" in self.org_permissions
        dashboard = org_dashboard(org=self.org, audit=can_audit, email="email.view" in self.org_permissions)
        members = {c.key: c.count for c in dashboard.members_by_status}
        context["dashboard"] = dashboard
        context["stats"] = {
            "active_members": members[Membership.Status.ACTIVE],
            "invited_members": members[Membership.Status.INVITED],
            "groups": self.scoped(Group.objects).count(),
            "applications": self.scoped(Application.objects).count(),
        }
        context["members_chart"] = status_chart(dashboard.members_by_status, "chart-status")
        if dashboard.activity is not None:
            context["activity_chart"] = activity_chart(dashboard.activity)
            context["activity_summary"] = activity_summary(dashboard.activity)
        if dashboard.emails_by_state is not None:
            context["emails_chart"] = status_chart(dashboard.emails_by_state, "chart-email")
        if can_audit:
            context["recent_events"] = audit_event_list(org=self.org)[:10]
        return context


class PlatformOverviewView(PlatformOperatorMixin, TemplateView):
    """The deployment at a glance, for operators: sign-ins across orgs, the busiest orgs, queues and statuses."""

    template_name = "console/platform/overview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        dashboard = platform_dashboard()
        context["dashboard"] = dashboard
        context["activity_chart"] = activity_chart(dashboard.activity)
        context["activity_summary"] = activity_summary(dashboard.activity)
        context["orgs_chart"] = status_chart(dashboard.orgs_by_status, "chart-status")
        context["members_chart"] = status_chart(dashboard.members_by_status, "chart-status")
        context["emails_chart"] = status_chart(dashboard.emails_by_state, "chart-email")
        context["top_orgs_chart"] = bars_chart(
            items=[(o.slug, o.name, o.count) for o in dashboard.top_orgs], css_prefix="chart-org")
        return context
