"""Console pages for an org's applications: list, guided create per kind, detail with an integration
panel, edit, enable/disable, secret rotation, delete, and app roles.

Every view inherits OrgPermissionMixin and reads one application through application_get(org=…), so
another org's application is a 404. A client secret appears only in the response to the POST that
made it (create or rotate), sent with Cache-Control: no-store; no GET ever shows it, and resending
that POST (a reload) neither shows it nor creates or rotates again (_SubmitOnceMixin).
"""

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView, View

from applications.api_forms import ApiScopesGrantForm
from applications.api_selectors import api_scope_choices, application_api_scopes
from applications.api_services import application_api_scopes_set
from applications.forms import ApplicationForm, AppRoleForm, SecretRotateForm
from applications.models import Application, AppRole
from applications.role_services import app_role_create, app_role_delete, app_role_update
from applications.selectors import (
    app_role_get,
    app_roles_with_groups,
    application_delete_impact,
    application_get,
    application_list,
    secrets_rotated_at,
)
from applications.services import (
    application_create,
    application_delete,
    application_disable,
    application_enable,
    application_update,
    client_secret_overlap_end,
    client_secret_rotate,
)
from applications.snippets import integration_snippets
from applications.token_selectors import live_token_count
from config.exceptions import DomainError
from directory.time_zones import format_when
from identity.backchannel.models import BackchannelLogout
from identity.backchannel.selectors import backchannel_logout_counts
from identity.step_up import step_up_required
from orgs.confirmation import Confirmation, confirm_first
from orgs.mixins import OrgPermissionMixin

KIND_SUMMARIES = {
    Application.Kind.WEB: _lazy("A server-side app that can keep a secret. Needs redirect URIs; gets a client secret."),
    Application.Kind.SPA: _lazy("JavaScript in the browser. Public client with PKCE; needs redirect URIs and "
                            "the origins it calls from."),
    Application.Kind.NATIVE: _lazy("A desktop or mobile app. Public client with PKCE; loopback or "
                               "reverse-domain redirect URIs."),
    Application.Kind.MACHINE: _lazy("A service calling APIs as itself (client credentials). No redirect URIs; "
                                "gets a client secret."),
}


def _app_url(name: str, application: Application) -> str:
    return reverse(f"console:{name}", kwargs={"org_slug": application.org.slug, "pk": application.pk})


def _form_error(form, exc: DomainError):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _secret_response(view, application: Application, secret: str, *, rotated: bool):
    """The one page that ever shows a secret: the answer to the POST that made it, never cached."""
    response = view.response_class(
        request=view.request, template="applications/app_secret.html",
        context={**view.get_context_data(), "application": application, "client_secret": secret,
                 "rotated": rotated, "previous_until": overlap_until(application),
                 **integration_snippets(application)})
    add_never_cache_headers(response)
    return response


def overlap_until(application: Application):
    """When the previous secret stops working, while a rotation overlap runs; else None."""
    expires = application.previous_secret_expires_at
    if application.previous_client_secret and expires is not None and expires > timezone.now():
        return expires
    return None


SUBMIT_ONCE_KEY = "applications.submit_once"
SUBMIT_ONCE_KEEP = 10


class _SubmitOnceMixin:
    """For forms whose answer shows a secret (create, rotate). Reloading that answer makes the browser
    send the POST again, which would create a second app or rotate again, and kill the secret just
    copied. Each rendered form carries a one-time token (kept in the session); a POST bringing a
    token already used is a resend, answered with a redirect and a message. A POST without a token
    (not from our form) is not affected: CSRF, not this, is the security check."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tokens = self.request.session.get(SUBMIT_ONCE_KEY, [])
        token = secrets.token_urlsafe(16)
        self.request.session[SUBMIT_ONCE_KEY] = [*tokens, token][-SUBMIT_ONCE_KEEP:]
        context["submit_once"] = token
        return context

    def post(self, request, *args, **kwargs):
        token = request.POST.get("submit_once")
        if token is not None:
            tokens = request.session.get(SUBMIT_ONCE_KEY, [])
            if token not in tokens:
                messages.warning(request, self.resent_message)
                return redirect(self.resent_url())
            request.session[SUBMIT_ONCE_KEY] = [t for t in tokens if t != token]
        return super().post(request, *args, **kwargs)


class _AppMixin:
    """The application named by the URL, within this view's org only."""

    @cached_property
    def application(self) -> Application:
        application = application_get(org=self.org, pk=self.kwargs["pk"])
        application.org = self.org
        return application

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["application"] = self.application
        context["can_manage"] = "applications.manage" in self.org_permissions
        return context


class ApplicationListView(OrgPermissionMixin, TemplateView):
    permission = "applications.view"
    template_name = "applications/app_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        apps = list(application_list(org=self.org))
        rotated = secrets_rotated_at(org=self.org, application_ids=[app.pk for app in apps])
        for app in apps:
            # Never rotated: the secret dates from creation.
            app.secret_since = rotated.get(app.pk, app.created) if app.is_confidential else None
        context.update(applications=apps, can_manage="applications.manage" in self.org_permissions)
        return context


class ApplicationKindChoiceView(OrgPermissionMixin, TemplateView):
    permission = "applications.manage"
    template_name = "applications/app_kind_choice.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kinds"] = [(kind, label, KIND_SUMMARIES[kind]) for kind, label in Application.Kind.choices]
        return context


class ApplicationCreateView(OrgPermissionMixin, _SubmitOnceMixin, FormView):
    permission = "applications.manage"
    template_name = "applications/app_create.html"
    form_class = ApplicationForm
    resent_message = _lazy("That form was already sent and the application created; its secret is not shown "
                           "again. If you did not copy it, rotate the secret.")

    def resent_url(self) -> str:
        return reverse("console:app-list", kwargs={"org_slug": self.org.slug})

    def dispatch(self, request, *args, **kwargs):
        if kwargs["kind"] not in Application.Kind.values:
            raise Http404(_("No such kind of application."))
        self.kind = kwargs["kind"]
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org, "kind": self.kind}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(kind=self.kind, kind_label=Application.Kind(self.kind).label,
                       kind_summary=KIND_SUMMARIES[self.kind])
        return context

    def form_valid(self, form):
        try:
            created = application_create(org=self.org, kind=self.kind, actor=self.request.user,
                                         request=self.request, **form.service_kwargs())
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        application = created.application
        application.org = self.org
        messages.success(self.request, _("Created the application %(name)s.") % {"name": application.name})
        if created.client_secret:
            return _secret_response(self, application, created.client_secret, rotated=False)
        return redirect(_app_url("app-detail", application))


class ApplicationDetailView(OrgPermissionMixin, _AppMixin, TemplateView):
    permission = "applications.view"
    template_name = "applications/app_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        app = self.application
        rotated = secrets_rotated_at(org=self.org, application_ids=[app.pk]).get(app.pk)
        context.update(
            roles=app_roles_with_groups(application=app),
            allowed_groups=app.allowed_groups.order_by("name"),
            secret_since=(rotated or app.created) if app.is_confidential else None,
            previous_until=overlap_until(app),
            default_lifetime=settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"],
            default_refresh_lifetime=settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"],
            backchannel_counts=_backchannel_counts(org=self.org, application=app),
            api_access=application_api_scopes(application=app),
            **integration_snippets(app),
        )
        return context


def _backchannel_counts(*, org, application: Application) -> list[tuple[str, str, int]]:
    counts = backchannel_logout_counts(org=org, application=application)
    return [(value, label, counts[value]) for value, label in BackchannelLogout.Status.choices]


class ApplicationUpdateView(OrgPermissionMixin, _AppMixin, FormView):
    permission = "applications.manage"
    template_name = "applications/app_edit.html"
    form_class = ApplicationForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org, "kind": self.application.kind}

    def get_initial(self):
        return ApplicationForm.initial_for(self.application)

    def form_valid(self, form):
        try:
            application_update(application=self.application, actor=self.request.user, request=self.request,
                               **form.service_kwargs())
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the application %(name)s.") % {"name": form.cleaned_data["name"]})
        return redirect(_app_url("app-detail", self.application))


class ApplicationApiAccessView(OrgPermissionMixin, _AppMixin, FormView):
    """Grant or withdraw API scopes: checkboxes of this org's APIs' scopes only."""

    permission = "applications.manage"
    template_name = "applications/app_api_access.html"
    form_class = ApiScopesGrantForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "scopes": api_scope_choices(org=self.org)}

    def get_initial(self):
        return {"api_scopes": list(self.application.api_scopes.all())}

    def form_valid(self, form):
        try:
            application_api_scopes_set(application=self.application, scopes=form.cleaned_data["api_scopes"],
                                       actor=self.request.user, request=self.request)
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the API access of %(name)s. Tokens already issued keep their scopes "
                                         "until they expire.") % {"name": self.application.name})
        return redirect(_app_url("app-detail", self.application))


@confirm_first
class ApplicationStatusView(OrgPermissionMixin, _AppMixin, View):
    """Disable (revokes every token the app holds), after a page naming who is signed out; or enable, at once."""

    permission = "applications.manage"
    http_method_names = ["post"]
    action = ""

    def confirm_needed(self) -> bool:
        return self.action == "disable"

    def confirmation(self) -> Confirmation:
        application = self.application
        names = {"name": application.name, "client_id": application.client_id}
        tokens = live_token_count(application=application)
        if application.kind == Application.Kind.MACHINE:
            stops = _("%(name)s can no longer get tokens: its client id %(client_id)s is refused.") % names
        else:
            stops = _("Nobody can sign in to %(name)s through Gatehouse: its client id %(client_id)s is "
                      "refused.") % names
        return Confirmation(
            title=_("Disable the application %(name)s?") % names,
            consequences=[
                stops,
                ngettext("%(n)d live token is revoked: it can no longer be refreshed or read anyone's profile.",
                         "%(n)d live tokens are revoked: people signed in to %(name)s cannot renew their sign-in "
                         "with them.", tokens) % {"n": tokens, **names},
                _("Its settings, secret, roles and consents are kept."),
            ],
            note=_("You can enable it again later; the revoked tokens stay revoked."),
            button=_("Disable %(name)s") % names,
            cancel_url=_app_url("app-detail", application),
        )

    def post(self, request, *args, **kwargs):
        if self.action == "disable":
            application_disable(application=self.application, actor=request.user, request=request)
            messages.success(request, _("Disabled %(name)s and revoked its tokens.") % {"name": self.application.name})
        else:
            application_enable(application=self.application, actor=request.user, request=request)
            messages.success(request, _("Enabled %(name)s.") % {"name": self.application.name})
        return redirect(_app_url("app-detail", self.application))


@step_up_required("application.secret_rotate", ask_on_get=True)
class ApplicationSecretRotateView(OrgPermissionMixin, _AppMixin, _SubmitOnceMixin, FormView):
    """GET: what rotating does, and the overlap to choose. POST: rotate and show the new secret, once."""

    permission = "applications.manage"
    template_name = "applications/app_rotate.html"
    form_class = SecretRotateForm
    resent_message = _lazy("That rotation was already done; the new secret is not shown again. If you did "
                           "not copy it, rotate again.")

    def resent_url(self) -> str:
        return _app_url("app-detail", self.application)

    def get(self, request, *args, **kwargs):
        self._confidential_only()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self._confidential_only()
        return super().post(request, *args, **kwargs)

    def _confidential_only(self) -> None:
        if not self.application.is_confidential:
            raise Http404(_("A public application has no client secret."))

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "overlap_until": overlap_until(self.application)}

    def form_valid(self, form):
        try:
            secret = client_secret_rotate(application=self.application, actor=self.request.user,
                                          request=self.request, overlap=form.cleaned_data["overlap_delta"])
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        application = application_get(org=self.org, pk=self.application.pk)
        application.org = self.org
        messages.success(self.request, _("Rotated the client secret of %(name)s.") % {"name": application.name})
        return _secret_response(self, application, secret, rotated=True)


@confirm_first
class ApplicationSecretOverlapEndView(OrgPermissionMixin, _AppMixin, View):
    """The previous secret stops working now, ending a rotation overlap early (after a page saying so)."""

    permission = "applications.manage"
    http_method_names = ["post"]

    def confirmation(self) -> Confirmation:
        application = self.application
        until = overlap_until(application)
        names = {"name": application.name}
        if until is None:
            consequences = [_("No rotation overlap is running: only the current secret works, and nothing "
                              "changes.")]
        else:
            consequences = [
                _("The previous client secret of %(name)s stops working now instead of at %(until)s.")
                % {**names, "until": format_when(until)},
                _("Any copy of %(name)s still configured with it can no longer get tokens; tokens already "
                  "issued stay valid until they expire.") % names,
            ]
        return Confirmation(
            title=_("Stop the previous client secret of %(name)s now?") % names,
            consequences=consequences,
            button=_("Stop the previous secret of %(name)s") % names,
            cancel_url=_app_url("app-detail", application),
        )

    def post(self, request, *args, **kwargs):
        client_secret_overlap_end(application=self.application, actor=request.user, request=request)
        messages.success(request, _("The previous client secret of %(name)s no longer works.")
                         % {"name": self.application.name})
        return redirect(_app_url("app-detail", self.application))


@step_up_required("application.delete", ask_on_get=True)
class ApplicationDeleteView(OrgPermissionMixin, _AppMixin, TemplateView):
    """GET: a confirmation naming the impact. POST: delete."""

    permission = "applications.manage"
    template_name = "applications/app_delete.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["impact"] = application_delete_impact(application=self.application)
        return context

    def post(self, request, *args, **kwargs):
        name = self.application.name
        application_delete(application=self.application, actor=request.user, request=request)
        messages.success(request, _("Deleted the application %(name)s.") % {"name": name})
        return redirect("console:app-list", org_slug=self.org.slug)


class AppRoleCreateView(OrgPermissionMixin, _AppMixin, FormView):
    permission = "applications.manage"
    template_name = "applications/role_form.html"
    form_class = AppRoleForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            role = app_role_create(application=self.application, key=data["key"], name=data["name"],
                                   groups=list(data["groups"]), actor=self.request.user, request=self.request)
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Added the role %(key)s.") % {"key": role.key})
        return redirect(_app_url("app-detail", self.application))


class _RoleMixin(_AppMixin):
    @cached_property
    def role(self) -> AppRole:
        return app_role_get(application=self.application, pk=self.kwargs["role_pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["role"] = self.role
        return context


class AppRoleUpdateView(OrgPermissionMixin, _RoleMixin, FormView):
    permission = "applications.manage"
    template_name = "applications/role_form.html"
    form_class = AppRoleForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org, "with_key": False}

    def get_initial(self):
        return {"name": self.role.name, "groups": list(self.role.groups.all())}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            app_role_update(role=self.role, name=data["name"], groups=list(data["groups"]),
                            actor=self.request.user, request=self.request)
        except DomainError as exc:
            _form_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the role %(key)s.") % {"key": self.role.key})
        return redirect(_app_url("app-detail", self.application))


@confirm_first
@step_up_required("app_role.delete")
class AppRoleDeleteView(OrgPermissionMixin, _RoleMixin, View):
    """Delete one role of this app, after a page naming the groups that stop granting it; any other role is a
    404."""

    permission = "applications.manage"
    http_method_names = ["post"]

    def confirmation(self) -> Confirmation:
        role, application = self.role, self.application
        names = {"key": role.key, "name": application.name}
        groups = [group.name for group in role.groups.order_by("name")]
        if groups:
            granted = _("Members of these groups no longer receive it in %(name)s's tokens: %(groups)s.") % {
                **names, "groups": ", ".join(groups)}
        else:
            granted = _("No group is granted it, so nobody loses it now.")
        return Confirmation(
            title=_("Delete the role %(key)s of %(name)s?") % names,
            consequences=[
                granted,
                _("Tokens already issued keep it until they expire."),
                _("Deleting cannot be undone; a role with the same key can be added again."),
            ],
            button=_("Delete the role %(key)s") % names,
            cancel_url=_app_url("app-detail", application),
        )

    def post(self, request, *args, **kwargs):
        key = self.role.key
        app_role_delete(role=self.role, actor=request.user, request=request)
        messages.success(request, _("Deleted the role %(key)s. Tokens already issued keep it until they expire.")
                         % {"key": key})
        return redirect(_app_url("app-detail", self.application))
