"""Console pages for an org's registered APIs (/console/<org>/apis/): list, create, detail, edit, delete
and rotating the API's introspection secret.

Every view inherits OrgPermissionMixin and reads one API through api_get(org=…), so another org's API is
a 404. They reuse the applications permissions: an API is configuration of the org's applications. The
introspection secret appears only in the response to the POST that made it (create or rotate), sent
with Cache-Control: no-store; a resent POST (a reload) neither shows it nor acts again (_SubmitOnceMixin).
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.generic import FormView, TemplateView

from applications.api_forms import ApiForm
from applications.api_selectors import api_get, api_grants, api_list, lifetime_display
from applications.api_services import api_create, api_delete, api_secret_rotate, api_update
from applications.models import Api
from applications.views import _SubmitOnceMixin
from config.exceptions import DomainError
from identity.step_up import step_up_required
from orgs.mixins import OrgPermissionMixin


def _api_url(name: str, org, api: Api) -> str:
    return reverse(f"console:{name}", kwargs={"org_slug": org.slug, "pk": api.pk})


def _form_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def verification(api: Api) -> dict:
    """What the API's developers configure: issuer, discovery and JWKS URLs, audience, introspection."""
    issuer = settings.GATEHOUSE_ISSUER
    return {"issuer": issuer, "discovery_url": f"{issuer}/.well-known/openid-configuration",
            "jwks_url": f"{issuer}/.well-known/jwks.json", "introspection_url": issuer + reverse("oidc:introspect")}


def _secret_response(view, api: Api, secret: str, *, rotated: bool):
    """The one page that ever shows an API's secret: the answer to the POST that made it, never cached."""
    response = view.response_class(
        request=view.request, template="applications/apis/secret.html",
        context={**view.get_context_data(), "api": api, "client_secret": secret, "rotated": rotated,
                 **verification(api)})
    add_never_cache_headers(response)
    return response


class _ApiMixin:
    """The API named by the URL, within this view's org only."""

    @cached_property
    def api(self) -> Api:
        return api_get(org=self.org, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(api=self.api, can_manage="applications.manage" in self.org_permissions,
                       lifetime=lifetime_display(self.api.access_token_lifetime))
        return context


class ApiListView(OrgPermissionMixin, TemplateView):
    permission = "applications.view"
    template_name = "applications/apis/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        apis = list(api_list(org=self.org))
        for api in apis:
            api.lifetime = lifetime_display(api.access_token_lifetime)
        context.update(apis=apis, can_manage="applications.manage" in self.org_permissions)
        return context


class ApiCreateView(OrgPermissionMixin, _SubmitOnceMixin, FormView):
    """GET: the form. POST: register, and answer with the one page that shows the introspection secret."""

    permission = "applications.manage"
    template_name = "applications/apis/form.html"
    form_class = ApiForm
    resent_message = _lazy("That form was already sent and the API registered; its secret is not shown again. "
                           "If you did not copy it, rotate the secret.")

    def resent_url(self) -> str:
        return reverse("console:api-list", kwargs={"org_slug": self.org.slug})

    def form_valid(self, form):
        try:
            created = api_create(org=self.org, actor=self.request.user, request=self.request, **form.service_kwargs())
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Registered the API %(name)s.") % {"name": created.api.name})
        return _secret_response(self, created.api, created.client_secret, rotated=False)


class ApiDetailView(OrgPermissionMixin, _ApiMixin, TemplateView):
    permission = "applications.view"
    template_name = "applications/apis/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(scopes=self.api.scopes.order_by("name"), grants=api_grants(api=self.api),
                       **verification(self.api))
        return context


class ApiUpdateView(OrgPermissionMixin, _ApiMixin, FormView):
    permission = "applications.manage"
    template_name = "applications/apis/form.html"
    form_class = ApiForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "with_identifier": False}

    def get_initial(self):
        return ApiForm.initial_for(self.api)

    def form_valid(self, form):
        try:
            api_update(api=self.api, actor=self.request.user, request=self.request, **form.service_kwargs())
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the API %(name)s.") % {"name": form.cleaned_data["name"]})
        return redirect(_api_url("api-detail", self.org, self.api))


@step_up_required("api.delete", ask_on_get=True)
class ApiDeleteView(OrgPermissionMixin, _ApiMixin, TemplateView):
    """GET: a confirmation naming what changes. POST: delete."""

    permission = "applications.manage"
    template_name = "applications/apis/delete.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "grants": api_grants(api=self.api)}

    def post(self, request, *args, **kwargs):
        name = self.api.name
        api_delete(api=self.api, actor=request.user, request=request)
        messages.success(request, _("Deleted the API %(name)s. Tokens already issued for it stay valid until they "
                                    "expire.") % {"name": name})
        return redirect("console:api-list", org_slug=self.org.slug)


class _Rotate(TemplateView):
    def post(self, request, *args, **kwargs):
        secret = api_secret_rotate(api=self.api, actor=request.user, request=request)
        messages.success(request, _("Rotated the introspection secret of %(name)s; the old one stopped working.")
                         % {"name": self.api.name})
        return _secret_response(self, self.api, secret, rotated=True)


@step_up_required("api.secret_rotate", ask_on_get=True)
class ApiSecretRotateView(OrgPermissionMixin, _ApiMixin, _SubmitOnceMixin, _Rotate):
    """GET: what rotating does. POST (after _SubmitOnceMixin's resend check): rotate and show the new
    secret, once."""

    permission = "applications.manage"
    template_name = "applications/apis/rotate.html"
    resent_message = _lazy("That rotation was already done; the new secret is not shown again. If you did not "
                           "copy it, rotate again.")

    def resent_url(self) -> str:
        return _api_url("api-detail", self.org, self.api)
