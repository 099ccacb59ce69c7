"""The org settings page: name, sign-in rules, password policy, and the branding of the hosted pages.

Owners, admins and operators (settings.manage) change them; auditors read them (org.view), as they
read the rest of the console; members have no console.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView

from config.exceptions import DomainError
from identity.models import PasswordPolicy
from identity.step_up import step_up_required
from orgs.branding import (
    hosted_brand_get,
    organization_branding_update,
    organization_logo_remove,
    organization_logo_set,
)
from orgs.mixins import OrgPermissionMixin
from orgs.settings_forms import POLICY_FIELDS, OrgBrandingForm, OrgSettingsForm
from orgs.settings_services import organization_settings_update, password_policy_update

MANAGE = "settings.manage"


@step_up_required("organization.settings_change")
class OrgSettingsView(OrgPermissionMixin, FormView):
    permission = "org.view"
    template_name = "orgs/settings.html"
    form_class = OrgSettingsForm

    @property
    def can_manage(self) -> bool:
        return MANAGE in self.org_permissions

    def post(self, request, *args, **kwargs):
        if not self.can_manage:
            raise PermissionDenied(_("Your role in %(org)s does not allow this.") % {"org": self.org.name})
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org, "read_only": not self.can_manage}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = self.can_manage
        context["has_policy"] = PasswordPolicy.objects.filter(org=self.org).exists()
        context.setdefault("branding_form", OrgBrandingForm(org=self.org, read_only=not self.can_manage))
        context["brand"] = hosted_brand_get(org_id=self.org.pk) if self.org.is_active else None
        context["branding_url"] = reverse("console:org-branding", kwargs={"org_slug": self.org.slug})
        return context

    def form_valid(self, form):
        # Both services check every value before writing; one transaction keeps a refusal from the
        # second from leaving the first's change behind.
        try:
            with transaction.atomic():
                self.org = organization_settings_update(org=self.org, actor=self.request.user,
                                                        request=self.request, **form.org_changes)
                # Only when a policy field changed: saving the name must not create a policy (which
                # would switch on its default rules for an org that has none).
                if any(name in form.changed_data for name in POLICY_FIELDS):
                    password_policy_update(org=self.org, actor=self.request.user, request=self.request,
                                           **form.policy_values)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the settings of %(org)s.") % {"org": self.org.name})
        return redirect("console:org-settings", org_slug=self.org.slug)


class OrgBrandingView(OrgSettingsView):
    """POST only: the branding part of the settings page (a form of its own: it uploads a file)."""

    permission = MANAGE
    http_method_names = ["post"]

    def get_form_class(self):
        return OrgBrandingForm

    def form_invalid(self, form):
        # The page again, with the settings form as stored and this form's errors.
        return self.render_to_response(self.get_context_data(
            form=OrgSettingsForm(org=self.org), branding_form=form))

    def form_valid(self, form):
        upload = form.cleaned_data.get("logo")
        try:
            with transaction.atomic():
                self.org = organization_branding_update(org=self.org, actor=self.request.user, request=self.request,
                                                        **form.branding_values)
                if upload:
                    organization_logo_set(org=self.org, actor=self.request.user, request=self.request,
                                          data=upload.read())
                elif form.cleaned_data["remove_logo"]:
                    organization_logo_remove(org=self.org, actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the branding of %(org)s.") % {"org": self.org.name})
        return redirect(reverse("console:org-settings", kwargs={"org_slug": self.org.slug}) + "#branding")
