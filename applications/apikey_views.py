"""Console pages for an org's API keys (/console/<org>/api-keys/): list, create, revoke, deactivate,
reactivate and delete.

Every view inherits OrgPermissionMixin and reads one key through api_key_get(org=…), so another org's
key is a 404. A raw key appears only in the response to the POST that created it, sent with
Cache-Control: no-store; no GET ever shows it (the approach of applications/views.py for client secrets).
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView, View

from applications.apikey_forms import ApiKeyCreateForm
from applications.apikey_selectors import api_key_application_choices, api_key_get, api_key_list
from applications.apikey_services import (
    api_key_allowlist_required,
    api_key_create,
    api_key_deactivate,
    api_key_delete,
    api_key_reactivate,
    api_key_revoke,
)
from applications.models import ApiKey
from config.exceptions import DomainError
from directory.time_zones import format_when
from identity.step_up import step_up_required
from orgs.confirmation import Confirmation, confirm_first
from orgs.mixins import OrgPermissionMixin


class ApiKeyListView(OrgPermissionMixin, TemplateView):
    permission = "apikeys.view"
    template_name = "applications/apikeys/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(api_keys=api_key_list(org=self.org), can_manage="apikeys.manage" in self.org_permissions)
        return context


@step_up_required("api_key.create", ask_on_get=True)
class ApiKeyCreateView(OrgPermissionMixin, FormView):
    """GET: the form. POST: create, and answer with the one page that shows the raw key."""

    permission = "apikeys.manage"
    template_name = "applications/apikeys/create.html"
    form_class = ApiKeyCreateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "held": self.org_permissions,
                "applications": api_key_application_choices(org=self.org),
                "allowlist_required": api_key_allowlist_required(org=self.org)}

    def form_valid(self, form):
        try:
            api_key, raw_key = api_key_create(org=self.org, actor=self.request.user, request=self.request,
                                              **form.service_kwargs())
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        response = self.response_class(
            request=self.request, template="applications/apikeys/created.html",
            context={**self.get_context_data(), "api_key": api_key, "raw_key": raw_key})
        add_never_cache_headers(response)
        return response


@step_up_required("api_key.revoke", ask_on_get=True)
class ApiKeyRevokeView(OrgPermissionMixin, TemplateView):
    """GET: a confirmation naming the key and what revoking does. POST: revoke."""

    permission = "apikeys.manage"
    template_name = "applications/apikeys/revoke.html"

    @cached_property
    def api_key(self) -> ApiKey:
        return api_key_get(org=self.org, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_key"] = self.api_key
        return context

    def post(self, request, *args, **kwargs):
        try:
            api_key_revoke(api_key=self.api_key, actor=request.user, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Revoked the key %(name)s; it stops working now.")
                             % {"name": self.api_key.name})
        return redirect("console:apikey-list", org_slug=self.org.slug)


class _ApiKeyActionView(OrgPermissionMixin, View):
    """POST only: one service call on one key, a message, and back to the list."""

    http_method_names = ["post"]
    permission = "apikeys.manage"

    def perform(self, api_key: ApiKey) -> str:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        api_key = api_key_get(org=self.org, pk=self.kwargs["pk"])
        try:
            messages.success(request, self.perform(api_key))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("console:apikey-list", org_slug=self.org.slug)


@confirm_first
class ApiKeyDeactivateView(_ApiKeyActionView):
    """Pause a key, after a page saying what stops using it."""

    def confirmation(self) -> Confirmation:
        api_key = api_key_get(org=self.org, pk=self.kwargs["pk"])
        names = {"name": api_key.name, "prefix": api_key.prefix}
        back = reverse("console:apikey-list", kwargs={"org_slug": self.org.slug})
        title = _("Deactivate the API key %(name)s?") % names
        button = _("Deactivate %(name)s") % names
        if api_key.revoked_at is not None:
            return Confirmation(title=title, consequences=[], button=button, cancel_url=back, refusal=_(
                "The key %(name)s is revoked; it cannot be deactivated or used again.") % names)
        if api_key.last_used_at is None:
            used = _("It has never been used.")
        else:
            used = _("It was last used at %(when)s from %(ip)s: whatever runs there stops working.") % {
                "when": format_when(api_key.last_used_at),
                "ip": api_key.last_used_ip or _("an unknown address")}
        return Confirmation(
            title=title,
            consequences=[
                _("Every request with the key starting %(prefix)s is refused from now on, until you reactivate "
                  "it.") % names,
                used,
            ],
            note=_("Its scopes and settings are kept. To end it for good, revoke it instead."),
            button=button,
            cancel_url=back,
        )

    def perform(self, api_key):
        api_key_deactivate(api_key=api_key, actor=self.request.user, request=self.request)
        return _("Deactivated the key %(name)s; it is refused until you reactivate it.") % {"name": api_key.name}


class ApiKeyReactivateView(_ApiKeyActionView):
    def perform(self, api_key):
        api_key_reactivate(api_key=api_key, actor=self.request.user, request=self.request)
        return _("Reactivated the key %(name)s; it works again.") % {"name": api_key.name}


@step_up_required("api_key.delete", ask_on_get=True)
class ApiKeyDeleteView(OrgPermissionMixin, TemplateView):
    """GET: a confirmation naming the key and what deleting does. POST: delete."""

    permission = "apikeys.manage"
    template_name = "applications/apikeys/delete.html"

    @cached_property
    def api_key(self) -> ApiKey:
        return api_key_get(org=self.org, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_key"] = self.api_key
        return context

    def post(self, request, *args, **kwargs):
        api_key_delete(api_key=self.api_key, actor=request.user, request=request)
        messages.success(request, _("Deleted the key %(name)s; the audit log keeps its record.")
                         % {"name": self.api_key.name})
        return redirect("console:apikey-list", org_slug=self.org.slug)
