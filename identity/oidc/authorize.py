"""/oauth/authorize: DOT's view, plus sign-in through our flow, the access rule, prompt/max_age and consent."""

import copy
from urllib.parse import parse_qsl, urlencode, urlparse

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView
from oauth2_provider.views.mixins import OAuthLibMixin

from applications.models import Application, Consent
from applications.selectors import consent_of
from audit.services import audit_record
from identity.flows import LoginFlow, flow_save, flow_step_url
from identity.mfa.assurance import acr_requested
from identity.mfa.enforcement import session_step_up_flow
from identity.oidc.access import application_access
from identity.oidc.csp import allow_form_action, redirect_target_source
from identity.oidc.resources import GRANTED_API_SCOPES_MEMO, granted_api_scopes
from identity.oidc.responses import RESPONSE_MODES, authorization_response, response_mode_of

# The prompt values honoured (and advertised in discovery); any other is refused with invalid_request
# (OpenID Connect Prompt Create 1.0 §4.1.1) rather than silently ignored.
PROMPT_VALUES = ("none", "login", "consent")


def _without_params(full_path: str, *names: str) -> str:
    parsed = urlparse(full_path)
    query = [(k, v) for k, v in parse_qsl(parsed.query, keep_blank_values=True) if k not in names]
    return parsed._replace(query=urlencode(query)).geturl()


def _error_uri(redirect_uri: str, error: str, state: str | None, description: str = "") -> str:
    params = {"error": error}
    if description:
        params["error_description"] = description
    if state:
        params["state"] = state
    return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params)


def _validated_application(credentials: dict) -> Application:
    """The client oauthlib validated (identity.oidc.validator loads it with its org), else a query."""
    client = getattr(credentials.get("request"), "client", None)
    if isinstance(client, Application) and client.client_id == credentials["client_id"]:
        return client
    return Application.objects.select_related("org").get(client_id=credentials["client_id"])


def _request_problem(params) -> tuple[str, str] | None:
    """(error, description) for what oauthlib lets through but Gatehouse does not serve."""
    if "request" in params:
        return "request_not_supported", "Request objects (the request parameter) are not supported."
    if "request_uri" in params:
        return "request_uri_not_supported", "The request_uri parameter is not supported."
    mode = params.get("response_mode")
    if mode is not None and mode not in RESPONSE_MODES:
        return "invalid_request", f"Unsupported response_mode; use one of {', '.join(RESPONSE_MODES)}."
    prompt = params.get("prompt", "").split()
    if unknown := [value for value in prompt if value not in PROMPT_VALUES]:
        return "invalid_request", f"Unsupported prompt value “{unknown[0]}”; use {', '.join(PROMPT_VALUES)}."
    if "none" in prompt and len(set(prompt)) > 1:
        return "invalid_request", "prompt=none cannot be combined with another value."
    return None


class ConsentForm(AllowForm):
    """DOT's consent form, also carrying the response mode through the POST."""

    response_mode = forms.CharField(required=False, widget=forms.HiddenInput())


class AuthorizeView(AuthorizationView):
    template_name = "identity/oidc/consent.html"
    form_class = ConsentForm

    # -------------------------------------------------------------- answering the client

    def redirect(self, redirect_to, application):
        """Every answer to the client (DOT's, oauthlib's and ours, success or error) leaves here: with
        `iss`, in the response mode the request asked for."""
        params = self.request.POST if self.request.method == "POST" else self.request.GET
        schemes = (application.get_allowed_schemes() if application is not None
                   else oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES)
        return authorization_response(self.request, redirect_to, mode=response_mode_of(params.get("response_mode")),
                                      allowed_schemes=schemes)

    def _redirect_with_error(self, credentials, error: str, application, description: str = ""):
        """An error answered to the client's (already validated) redirect URI."""
        return self.redirect(_error_uri(credentials["redirect_uri"], error, credentials.get("state"), description),
                             application)

    # -------------------------------------------------------------- errors and sign-in

    def error_response(self, error, application, **kwargs):
        """Errors that must not go back to the client (bad client_id or redirect_uri) get our page."""
        redirect, error_response = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect:
            return self.redirect(error_response["url"], application)
        oauth_error = error_response["error"]
        _unless_inline(self.request)
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
                _unless_inline(request)
                return render(request, "identity/oidc/error.html", {
                    "error": "invalid_request", "description": "The redirect_uri parameter is required.",
                }, status=400)
            try:
                self._validated = _scopes, credentials = self.validate_authorization_request(request)
            except OAuthToolkitError as error:
                self.oauth2_data = {}
                return self.error_response(error, application=None)
            if problem := _request_problem(request.GET):
                application = Application.objects.get(client_id=credentials["client_id"])
                return self._redirect_with_error(credentials, problem[0], application, problem[1])
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
        if (validated := getattr(self, "_validated", None)) is None:  # dispatch() validated this GET already
            try:
                validated = self.validate_authorization_request(request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)
        scopes, credentials = validated
        application = _validated_application(credentials)
        # The grant names the API the token is for as a list (RFC 8707; DOT's model refuses a string), also
        # when only its scopes named it (identity/oidc/resources.py resolved it while validating).
        target = getattr(credentials.get("request"), "gatehouse_target", None)
        credentials["resource"] = [target.api.identifier] if target is not None else []

        if self._needs_fresh_sign_in(prompt, application):
            if "none" in prompt:
                return self._redirect_with_error(credentials, "login_required", application)
            return self._force_sign_in()

        refused = self._refuse_if_not_allowed(application, credentials, interactive="none" not in prompt)
        if refused is not None:
            return refused
        if (step_up := self._step_up(application)) is not None:
            if "none" in prompt:
                return self._redirect_with_error(credentials, "interaction_required", application,
                                                 "This application needs a second factor the session has not used.")
            flow, step = step_up
            flow_save(request.session, flow)
            return HttpResponseRedirect(flow_step_url(step))

        consent = consent_of(user=request.user, application=application)
        remembered = application.skip_authorization or (consent is not None and consent.covers(scopes))
        if remembered and "consent" not in prompt:
            return self._issue_code(application, scopes, credentials)
        if "none" in prompt:
            return self._redirect_with_error(credentials, "consent_required", application)
        _unless_inline(request)
        # DOT renders the consent form (it knows how to carry every parameter through the POST);
        # its POST ends in a redirect to the client, which CSP's form-action must allow.
        response = super().get(request, *args, **kwargs)
        return allow_form_action(response, redirect_target_source(credentials["redirect_uri"]))

    def _step_up(self, application) -> tuple[LoginFlow, str] | None:
        """A session signed in with one factor, when the app asks for more (acr_values naming
        urn:gatehouse:acr:mfa or phr) or its org's policy covers the user, goes through the sign-in
        flow's second-factor step (or enrolment), then comes back here (identity/mfa/enforcement.py)."""
        return session_step_up_flow(self.request, org=application.org, client_id=application.client_id,
                                    acr=acr_requested(self.request.GET.get("acr_values", "")))

    def _refuse_if_not_allowed(self, application, credentials, *, interactive: bool):
        decision = application_access(user=self.request.user, application=application)
        if decision.allowed:
            return None
        _unless_inline(self.request)
        audit_record(action="login.refused", actor=self.request.user, org=application.org, target=application,
                     request=self.request, metadata={"client_id": application.client_id, "reason": decision.reason})
        if not interactive:
            return self._redirect_with_error(credentials, "access_denied", application)
        return render(self.request, "identity/oidc/refused.html",
                      {"application": application, "message": decision.message}, status=403)

    def _issue_code(self, application, scopes, credentials):
        self._authorizing = application
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
        # oauthlib validates the request again before it issues the code; the client and its API scopes that
        # the first validation loaded, moments ago in this request, serve the second (the validator's
        # _load_application checks the client id and asks is_usable() again).
        validated = credentials.get("request")
        if isinstance(getattr(validated, "client", None), Application):
            credentials = {**credentials, "gatehouse_client": validated.client}
            if (api_scopes := getattr(validated, GRANTED_API_SCOPES_MEMO, None)) is not None:
                credentials[GRANTED_API_SCOPES_MEMO] = api_scopes  # granted_api_scopes checks it is this client's
        uri, headers, body, status = super().create_authorization_response(request, scopes, credentials, allow)
        if allow:
            application = getattr(self, "_authorizing", None)
            if application is None or application.client_id != credentials["client_id"]:
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
        self._authorizing = application
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

    def get_initial(self):
        return {**super().get_initial(), "response_mode": self.request.GET.get("response_mode", "")}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scopes = context.get("scopes", [])
        application = context.get("application")
        api_scopes = granted_api_scopes(application) if application is not None else {}
        context["scope_descriptions"] = [
            (scope, api_scopes[scope].description if scope in api_scopes else description)
            for scope, description in zip(scopes, context.get("scopes_descriptions", []), strict=False)
        ]
        return context


# ---------------------------------------------------------------- answering within the sign-in's response


class _BrowserMustAsk(Exception):
    """Raised by an inline authorization where /oauth/authorize would show a page (consent, a refusal, an
    error): nothing has been written yet, and the browser asks /oauth/authorize itself."""


_INLINE = "gatehouse_authorize_inline"
_authorize_view = AuthorizeView.as_view()


def _unless_inline(request: HttpRequest) -> None:
    if getattr(request, _INLINE, False):
        raise _BrowserMustAsk


def authorize_inline(request: HttpRequest, next_url: str) -> HttpResponse | None:
    """/oauth/authorize's answer to `next_url`, given in the response of the request that has just signed
    the browser in, or None.

    A sign-in that an application started ends with a redirect to /oauth/authorize, whose answer is nearly
    always a redirect to the application with a code. Answering that here saves the browser a round trip,
    and the server a request (Keycloak's login form answers the same way). It is the same view, run on a
    copy of this request as the GET the browser would have sent: same session, user and client IP. Where
    /oauth/authorize would show a page instead (the consent form, a refusal, an error page), it stops
    before writing anything and this returns None: the caller redirects to `next_url` as before, so the
    page is shown at its own address, where its form posts back.
    """
    path, _, query = next_url.partition("?")
    if path != reverse("oidc:authorize"):
        return None
    inner = copy.copy(request)
    inner.method = "GET"
    inner.GET = QueryDict(query)
    inner.POST = QueryDict()
    inner.path = inner.path_info = path
    inner.META = {**request.META, "REQUEST_METHOD": "GET", "QUERY_STRING": query, "PATH_INFO": path}
    setattr(inner, _INLINE, True)
    try:
        return _authorize_view(inner)
    except _BrowserMustAsk:
        return None
