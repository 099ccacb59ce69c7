"""The OAuth/OIDC endpoints other than /authorize: token, userinfo, revocation, introspection, logout,
discovery."""

import json
import logging
from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import InvalidIDTokenError, InvalidOIDCClientError, InvalidOIDCRedirectURIError
from oauth2_provider.models import get_access_token_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.signals import app_authorized
from oauth2_provider.views import RPInitiatedLogoutView

from applications.token_policy import bearer_token_usable
from identity.mfa.assurance import ACR_VALUES
from identity.oidc import lean
from identity.oidc.authorize import PROMPT_VALUES
from identity.oidc.claims import groups_and_roles_preload
from identity.oidc.lean_guard import lean_paths_enabled
from identity.oidc.lean_userinfo import access_token_load
from identity.oidc.responses import RESPONSE_MODES
from identity.oidc.validator import GatehouseValidator, checksum
from identity.services import session_end

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------- token


class TokenView(dot_views.TokenView):
    """DOT's token endpoint, less one query: after a successful token response DOT selects the
    access token it has just stored, only to send `app_authorized` with it. With no receiver
    connected (Gatehouse connects none) that SELECT is skipped; connect one and it runs, and finds
    nothing for a machine's JWT, which is never stored (DOT's own view would then fail with a 500).

    The common, fully valid grant requests are answered by identity.oidc.lean (same rows,
    same JSON, same headers); everything else, every error included, is DOT's view unchanged."""

    @method_decorator(sensitive_post_parameters("password", "client_secret", "refresh_token"))
    def post(self, request, *args, **kwargs):
        if not app_authorized.has_listeners(sender=self):
            response = lean.token_response(request)
            if response is not None:
                return response
        return super().post(request, *args, **kwargs)

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        url, headers, body, status = self.create_token_response(request)
        if status == 200 and app_authorized.has_listeners(sender=self):
            value = json.loads(body).get("access_token")
            token = get_access_token_model().objects.filter(token_checksum=checksum(value)).first() if value else None
            if token is not None:
                app_authorized.send(sender=self, request=request, token=token)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


# ---------------------------------------------------------------------- revocation (RFC 7009)


class RevokeView(dot_views.RevokeTokenView):
    """DOT's revocation endpoint. Its success is an empty 200 without a content type: Django would
    label the empty body text/html, and oidc-client-ts's revokeTokens() refuses an HTML answer."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            response.content = b""
            del response["Content-Type"]
        return response


# ---------------------------------------------------------------------- userinfo

_dot_userinfo = dot_views.UserInfoView.as_view()


@csrf_exempt
def userinfo(request):
    """DOT's UserInfoView, with a shorter way for the common request: a GET (or an empty POST)
    without a query string, with `Authorization: Bearer <token>`, for a valid, unexpired token with
    the openid scope, a user and a usable client (a token made for an API is fine: see
    GatehouseValidator.validate_bearer_token). That answer
    is built from the same validator calls as DOT's (the token lookup, the scope filtering of the
    claims) without oauthlib's request parsing and endpoint machinery. Every other request, and
    every error, is DOT's view's own answer."""
    if "access_token" in request.GET or (request.method == "POST" and "access_token" in request.POST):
        return bearer_elsewhere()
    response = _userinfo_lean(request)
    return response if response is not None else _dot_userinfo(request)


def bearer_elsewhere() -> JsonResponse:
    """RFC 9700 §4.3.2: an access token in a query string leaks into logs and Referer headers, and one
    in a form body is as easy to forge into a request: only the Authorization header is accepted."""
    description = "Send the access token in the Authorization header (Bearer), not in the query or the body."
    response = JsonResponse({"error": "invalid_request", "error_description": description}, status=400)
    response["WWW-Authenticate"] = f'Bearer error="invalid_request", error_description="{description}"'
    return response


def _userinfo_lean(request) -> HttpResponse | None:

    method = request.method
    if method != "GET" and (method != "POST" or request.META.get("CONTENT_LENGTH") not in (None, "", "0")):
        return None
    if request.META.get("QUERY_STRING") or not oauth2_settings.OIDC_ENABLED or not lean_paths_enabled():
        return None
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()  # oauthlib's get_token_from_header
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    if not isinstance(validator, GatehouseValidator) or oauth2_settings.RESOURCE_SERVER_INTROSPECTION_URL:
        return None
    # DOT's validate_bearer_token with scopes ["openid"], success path only; the token lookup is
    # the validator's _load_access_token written as one statement (lean_userinfo).
    loaded = access_token_load(parts[1])
    token = loaded.token if loaded is not None else None
    if token is None or token.user is None or not token.is_valid(["openid"]):
        return None
    if not bearer_token_usable(application=token.application, user=token.user):
        return None
    oauth_request = SimpleNamespace(client=token.application, user=token.user, access_token=token)
    oauth_request.scopes = list(token.scopes)
    if loaded.groups_and_roles is not None:
        groups_and_roles_preload(oauth_request, *loaded.groups_and_roles)
    claims = validator.get_userinfo_claims(oauth_request)
    if not isinstance(claims, dict) or "sub" not in claims:
        return None
    response = HttpResponse(content=json.dumps(claims), status=200)
    response["Content-Type"] = "application/json"
    return response


# ---------------------------------------------------------------------- RP-initiated logout


class LogoutView(RPInitiatedLogoutView):
    """RP-initiated logout: with a valid id_token_hint (signed by any published key, retired ones
    included) and an exactly registered post_logout_redirect_uri, sign out and go back to the app;
    without a valid hint, ask first and never redirect."""

    template_name = "identity/oidc/logout_confirm.html"

    def validate_post_logout_redirect_uri(self, application, post_logout_redirect_uri):
        """The URI must be one the application registered (exactly; a native app's loopback URI on any
        port). Unlike DOT's strict mode, a public app (SPA, native) may use its registered loopback http
        URI too: registration already allows http only on loopback."""
        if not post_logout_redirect_uri:
            return
        if application is None:
            raise InvalidOIDCClientError()
        if not application.post_logout_redirect_uri_allowed(post_logout_redirect_uri):
            raise InvalidOIDCRedirectURIError(
                "The post_logout_redirect_uri is not registered for this application, so you were not signed "
                "out and not sent anywhere.")

    def validate_logout_request(self, id_token_hint, client_id, post_logout_redirect_uri):
        try:
            return super().validate_logout_request(id_token_hint, client_id, post_logout_redirect_uri)
        except InvalidIDTokenError:
            # Treated as no hint: the person is asked, and nobody is redirected anywhere.
            self.request.gatehouse_hint_rejected = True
            return None, None

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None, token_user=None):
        if application is not None and token_user is not None:
            # A valid hint proves the app speaks for this user: end its tokens even when the
            # Gatehouse session is already gone (signed out elsewhere, or expired).
            from applications.tokens import tokens_revoke

            tokens_revoke(user=token_user, application=application, reason="logout")
        if self.request.user.is_authenticated:
            session_end(request=self.request)
        if token_user is None or application is None:
            # No valid hint: no redirect to anything the request named.
            messages.info(self.request, _("You have been signed out."))
            return redirect("identity:login")
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)


# ---------------------------------------------------------------------- discovery


def _discovery_document() -> dict:
    issuer = settings.GATEHOUSE_ISSUER

    scopes = list(settings.OAUTH2_PROVIDER["SCOPES"])
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + reverse("oidc:authorize"),
        "token_endpoint": issuer + reverse("oidc:token"),
        "userinfo_endpoint": issuer + reverse("oidc:userinfo"),
        "jwks_uri": issuer + reverse("jwks"),
        "end_session_endpoint": issuer + reverse("oidc:logout"),
        "revocation_endpoint": issuer + reverse("oidc:revoke"),
        "introspection_endpoint": issuer + reverse("oidc:introspect"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "claims_supported": sorted(set(GatehouseValidator().get_discovery_claims(None))),
        "prompt_values_supported": list(PROMPT_VALUES),
        "acr_values_supported": list(ACR_VALUES),
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


DISCOVERY_MAX_AGE = 3600
_discovery_bytes: bytes | None = None


def discovery_bytes() -> bytes:
    """The document never changes while the process runs: build it once."""
    global _discovery_bytes
    if _discovery_bytes is None:
        _discovery_bytes = json.dumps(_discovery_document(), separators=(",", ":")).encode()
    return _discovery_bytes


def discovery_cache_clear() -> None:
    global _discovery_bytes
    _discovery_bytes = None


def discovery_bytes_if_built() -> bytes | None:
    """The document if this process has built it, else None (config/wsgi.py's fast path then
    leaves the request to the view, which builds it)."""
    return _discovery_bytes


@receiver(setting_changed)
def _forget_discovery(*, setting, **kwargs):
    if setting in ("GATEHOUSE_ISSUER", "OAUTH2_PROVIDER"):
        discovery_cache_clear()


@require_GET
def discovery(request):
    response = HttpResponse(discovery_bytes(), content_type="application/json")
    response["Cache-Control"] = f"public, max-age={DISCOVERY_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
