"""The one base for every console view that acts on an organization (DESIGN.md rule 1)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from identity.mfa.enforcement import org_console_step_up
from orgs.models import Membership, Organization
from orgs.permissions import ConsoleOrgSeen, permissions_for


class OrgPermissionMixin(LoginRequiredMixin):
    """Resolve the org from the URL, check the declared permission, and scope reads to the org.

    Someone with no membership in the org gets a 404, exactly as for an org that does not exist,
    so the console never confirms another tenant's existence. A member whose role lacks the
    permission gets a 403 that says so.
    """

    permission: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.permission:
            raise TypeError(f"{type(self).__name__} must declare a permission.")
        org = Organization.objects.filter(slug=kwargs.get("org_slug", "")).first()
        granted = permissions_for(user=request.user, org=org) if org is not None else frozenset()
        # What a 404 or 403 page's sidebar would ask again (orgs.context_processors).
        request.console_org_seen = ConsoleOrgSeen(kwargs.get("org_slug", ""), org, granted)
        if org is None:
            raise Http404(_("No such organization."))
        if self.permission not in granted:
            membership = Membership.objects.filter(user=request.user, org=org).first()
            if membership is None and not granted:
                raise Http404(_("No such organization."))
            raise PermissionDenied(self._refusal(org, membership))
        if self._sign_in_too_old(request, org):
            # The org's maximum authentication age (DESIGN.md): ask for the password again, then come back.
            return redirect_to_login(request.get_full_path(), login_url=reverse("identity:login") + "?prompt=login")
        if (step_up := org_console_step_up(request, org)) is not None:
            # The org's MFA policy covers this member and the session predates it (docs/mfa.md).
            return step_up
        self.org = org
        self.org_permissions = granted
        return super().dispatch(request, *args, **kwargs)

    @staticmethod
    def _sign_in_too_old(request, org: Organization) -> bool:
        """Whether the browser signed in longer ago than `org` allows for its console.

        Checked only after the permission check, so the org's setting is never hinted at to people
        outside it. It holds for operators too: they are using this org's console.
        """
        if not org.session_max_age_minutes:
            return False
        user_session = getattr(request, "user_session", None)
        if user_session is None:
            return True
        return (timezone.now() - user_session.auth_time).total_seconds() > org.session_max_age_minutes * 60

    @staticmethod
    def _refusal(org: Organization, membership: Membership | None) -> str:
        if not org.is_active:
            return _("%(org)s is suspended. Contact the platform operator.") % {"org": org.name}
        if membership is not None and membership.status != Membership.Status.ACTIVE:
            return _("Your membership of %(org)s is %(status)s.") % {
                "org": org.name, "status": membership.get_status_display().lower()}
        return _("Your role in %(org)s does not allow this.") % {"org": org.name}

    def scoped(self, queryset):
        """Narrow any org-owned queryset to this view's org."""
        return queryset.for_org(self.org)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["org"] = self.org
        context["org_permissions"] = self.org_permissions
        return context


class PlatformOperatorMixin(LoginRequiredMixin):
    """Platform pages: operators only. Anyone else gets a 404, as for a page that is not there."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not (request.user.is_superuser and request.user.is_active):
            raise Http404(_("Page not found."))
        return super().dispatch(request, *args, **kwargs)
