"""/oauth/authorize: DOT's view, plus sign-in through our flow, the access rule, prompt/max_age and consent."""

from urllib.parse import parse_qsl, urlencode, urlparse

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.views import AuthorizationView
from oauth2_provider.views.mixins import OAuthLibMixin

from applications.models import Application, Consent
from audit.services import audit_record
from identity.oidc.access import application_access
from identity.oidc.csp import allow_form_action, redirect_target_source


def _without_params(full_path: str, *names: str) -> str:
    parsed = urlparse(full_path)
    query = [(k, v) for k, v in parse_qsl(parsed.query, keep_blank_values=True) if k not in names]
    return parsed._replace(query=urlencode(query)).geturl()


def _redirect_with_error(redirect_uri: str, error: str, state: str | None, application: Application):
    """An OIDC error answered to the client's (already validated) redirect URI, with RFC 9207 `iss`."""
    params = {"error": error}
    if state:
        params["state"] = state
    params["iss"] = settings.GATEHOUSE_ISSUER
    separator = "&" if "?" in redirect_uri else "?"
    return OAuth2ResponseRedirect(redirect_uri + separator + urlencode(params), application.get_allowed_schemes())


class AuthorizeView(AuthorizationView):
    template_name = "identity/oidc/consent.html"

    # -------------------------------------------------------------- errors and sign-in

    def error_response(self, error, application, **kwargs):
        """Errors that must not go back to the client (bad client_id or redirect_uri) get our page."""
        redirect, error_response = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect:
            return self.redirect(error_response["url"], application)
        oauth_error = error_response["error"]
        return render(self.request, "identity/oidc/error.html", {
            "error": oauth_error.error, "description": oauth_error.description,
        }, status=oauth_error.status_code)

    def dispatch(self, request, *args, **kwargs):
        # Validate the client and redirect URI before asking anyone to sign in: a bad request
        # gets its error page now, not after a password was typed.
        if request.method == "GET":
            if not request.GET.get("redirect_uri"):
                # OAuth would let a client with one registered URI omit it; OIDC requires it, and an
                # implied destination is one more thing to get wrong. Ask for it explicitly.
                return render(request, "identity/oidc/error.html", {
                    "error": "invalid_request", "description": "The redirect_uri parameter is required.",
                }, status=400)
            try:
                self.validate_authorization_request(request)
            except OAuthToolkitError as error:
                self.oauth2_data = {}
                return self.error_response(error, application=None)
        return super().dispatch(request, *args, **kwargs)

    def _force_sign_in(self):
        """prompt=login or a max_age the session is too old for: sign in again, then come back.

        The parameters that forced it are dropped from the return address, or the fresh sign-in
        would be forced again forever; the ID token's auth_time tells the client what happened.
        """
        next_url = _without_params(self.request.get_full_path(), "prompt", "max_age")
        return redirect_to_login(next_url, login_url=reverse("identity:login") + "?prompt=login")

    def _needs_fresh_sign_in(self, prompt: set[str], application: Application) -> bool:
        """prompt=login, a max_age the sign-in is older than, or the org's own maximum sign-in age."""
        if "login" in prompt:
            return True
        limits = []
        if application.org.session_max_age_minutes:
            limits.append(application.org.session_max_age_minutes * 60)
        max_age = self.request.GET.get("max_age")
        if max_age and max_age.isdigit():
            limits.append(int(max_age))
        if not limits:
            return False
        user_session = getattr(self.request, "user_session", None)
        limit = min(limits)
        if user_session is None or limit <= 0:
            return True
        return (timezone.now() - user_session.auth_time).total_seconds() > limit

    # -------------------------------------------------------------- the request

    def get(self, request, *args, **kwargs):
        prompt = set(request.GET.get("prompt", "").split())
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = Application.objects.select_related("org").get(client_id=credentials["client_id"])
        state = credentials.get("state")

        if self._needs_fresh_sign_in(prompt, application):
            if "none" in prompt:
                return _redirect_with_error(credentials["redirect_uri"], "login_required", state, application)
            return self._force_sign_in()

        refused = self._refuse_if_not_allowed(application, credentials, interactive="none" not in prompt)
        if refused is not None:
            return refused

        consent = Consent.objects.filter(user=request.user, application=application).first()
        if application.skip_authorization or (consent is not None and consent.covers(scopes)):
            return self._issue_code(application, scopes, credentials)
        if "none" in prompt:
            return _redirect_with_error(credentials["redirect_uri"], "consent_required", state, application)
        # DOT renders the consent form (it knows how to carry every parameter through the POST);
        # its POST ends in a redirect to the client, which CSP's form-action must allow.
        response = super().get(request, *args, **kwargs)
        return allow_form_action(response, redirect_target_source(credentials["redirect_uri"]))

    def _refuse_if_not_allowed(self, application, credentials, *, interactive: bool):
        decision = application_access(user=self.request.user, application=application)
        if decision.allowed:
            return None
        audit_record(action="login.refused", actor=self.request.user, org=application.org, target=application,
                     request=self.request, metadata={"client_id": application.client_id, "reason": decision.reason})
        if not interactive:
            return _redirect_with_error(credentials["redirect_uri"], "access_denied", credentials.get("state"),
                                        application)
        return render(self.request, "identity/oidc/refused.html",
                      {"application": application, "message": decision.message}, status=403)

    def _issue_code(self, application, scopes, credentials):
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=self.request, scopes=" ".join(scopes), credentials=credentials, allow=True
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        return self.redirect(uri, application)

    def create_authorization_response(self, request, scopes, credentials, allow):
        """Every code carries the browser session it came from, for the ID token's sid/amr/auth_time."""
        user_session = getattr(request, "user_session", None)
        if user_session is not None:
            credentials = {**credentials, "gatehouse_sid": user_session.sid,
                           "gatehouse_amr": list(user_session.amr), "gatehouse_auth_time": user_session.auth_time}
        uri, headers, body, status = super().create_authorization_response(request, scopes, credentials, allow)
        if allow:
            application = Application.objects.select_related("org").get(client_id=credentials["client_id"])
            # An /authorize for an org's app records a sign-in event in that org (DESIGN.md).
            audit_record(action="login.authorized", actor=request.user, org=application.org, target=application,
                         request=request, metadata={"client_id": application.client_id, "scopes": scopes,
                                                    "sid": user_session.sid if user_session else ""})
        return uri, headers, body, status

    # -------------------------------------------------------------- the consent form

    def form_valid(self, form):
        client_id = form.cleaned_data["client_id"]
        application = Application.objects.select_related("org").filter(client_id=client_id).first()
        if application is None:
            return render(self.request, "identity/oidc/error.html",
                          {"error": "invalid_client", "description": "Unknown client."}, status=400)
        credentials = {"redirect_uri": form.cleaned_data.get("redirect_uri"), "state": form.cleaned_data.get("state")}
        refused = self._refuse_if_not_allowed(application, credentials, interactive=True)
        if refused is not None:
            return refused
        if form.cleaned_data.get("allow") and application.redirect_uri_allowed(credentials["redirect_uri"] or ""):
            scopes = form.cleaned_data.get("scope", "")
            with transaction.atomic():
                Consent.objects.update_or_create(user=self.request.user, application=application,
                                                 defaults={"scopes": scopes})
                audit_record(action="consent.granted", actor=self.request.user, org=application.org,
                             target=application, request=self.request,
                             metadata={"client_id": application.client_id, "scopes": scopes})
        return super().form_valid(form)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["scope_descriptions"] = list(zip(context.get("scopes", []), context.get("scopes_descriptions", []),
                                                 strict=False))
        return context
