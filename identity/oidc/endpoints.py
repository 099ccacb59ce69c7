"""The OAuth/OIDC endpoints other than /authorize: token, userinfo, revocation, introspection, logout,
discovery."""

import calendar
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
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider import views as dot_views
from oauth2_provider.exceptions import InvalidIDTokenError
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.signals import app_authorized
from oauth2_provider.views import RPInitiatedLogoutView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest

from applications.models import Application
from identity.oidc import lean_token
from identity.oidc.claims import groups_and_roles_preload
from identity.oidc.lean_userinfo import access_token_load
from identity.oidc.validator import checksum
from identity.services import session_end

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------- token


class TokenView(dot_views.TokenView):
    """DOT's token endpoint, less one query: after a successful token response DOT selects the
    access token it has just stored, only to send `app_authorized` with it. With no receiver
    connected (Gatehouse connects none) that SELECT is skipped; connect one and DOT's path runs.

    The common, fully valid grant requests are answered by identity.oidc.lean_token (same rows,
    same JSON, same headers); everything else, every error included, is DOT's view unchanged."""

    @method_decorator(sensitive_post_parameters("password", "client_secret", "refresh_token"))
    def post(self, request, *args, **kwargs):
        if not app_authorized.has_listeners(sender=self):
            response = lean_token.token_response(request)
            if response is not None:
                return response
        return super().post(request, *args, **kwargs)

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(self, request, *args, **kwargs):
        if app_authorized.has_listeners(sender=self):
            return super().authorization_flow_token_response(request, *args, **kwargs)
        url, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response


# ---------------------------------------------------------------------- userinfo

_dot_userinfo = dot_views.UserInfoView.as_view()


@csrf_exempt
def userinfo(request):
    """DOT's UserInfoView, with a shorter way for the common request: a GET (or an empty POST)
    without a query string, with `Authorization: Bearer <token>`, for a valid, unexpired token with
    the openid scope, a user, no resource restriction (RFC 8707) and a usable client. That answer
    is built from the same validator calls as DOT's (the token lookup, the scope filtering of the
    claims) without oauthlib's request parsing and endpoint machinery. Every other request, and
    every error, is DOT's view's own answer."""
    response = _userinfo_lean(request)
    return response if response is not None else _dot_userinfo(request)


def _userinfo_lean(request) -> HttpResponse | None:
    from identity.oidc.validator import GatehouseValidator

    method = request.method
    if method != "GET" and (method != "POST" or request.META.get("CONTENT_LENGTH") not in (None, "", "0")):
        return None
    if request.META.get("QUERY_STRING") or not oauth2_settings.OIDC_ENABLED:
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
    if token is None or token.user is None or token.resource or not token.is_valid(["openid"]):
        return None
    oauth_request = SimpleNamespace(client=token.application, user=token.user, access_token=token)
    if oauth_request.client is None or not oauth_request.client.is_usable(oauth_request):
        return None
    oauth_request.scopes = list(token.scopes)
    if loaded.groups_and_roles is not None:
        groups_and_roles_preload(oauth_request, *loaded.groups_and_roles)
    claims = validator.get_userinfo_claims(oauth_request)
    if not isinstance(claims, dict) or "sub" not in claims:
        return None
    response = HttpResponse(content=json.dumps(claims), status=200)
    response["Content-Type"] = "application/json"
    return response


# ---------------------------------------------------------------------- introspection (RFC 7662)

INACTIVE = {"active": False}


@csrf_exempt
@require_POST
def introspect(request):
    """A confidential client of an org may introspect tokens of that org's applications, and no others.

    DOT's stock view lets any confidential client introspect any token, across tenants; ours
    answers `{"active": false}` for another org's token, exactly as for an unknown one.
    """
    core = OAuthLibMixin.get_oauthlib_core()
    uri, http_method, body, headers = core._extract_params(request)
    oauth_request = OauthlibRequest(uri, http_method, body, headers)
    authenticated = core.server.request_validator.authenticate_client(oauth_request)
    client = getattr(oauth_request, "client", None)
    if not authenticated or client is None or not client.is_confidential:
        response = JsonResponse({"error": "invalid_client", "error_description": "Client authentication failed."},
                                status=401)
        response["WWW-Authenticate"] = 'Basic realm="gatehouse"'
        return response
    token_value = request.POST.get("token", "")
    if not token_value:
        return JsonResponse({"error": "invalid_request", "error_description": "The token parameter is missing."},
                            status=400)
    hint = request.POST.get("token_type_hint", "")
    lookups = [_introspect_refresh, _introspect_access] if hint == "refresh_token" else \
        [_introspect_access, _introspect_refresh]
    for lookup in lookups:
        answer = lookup(token_value, client)
        if answer is not None:
            return JsonResponse(answer)
    return JsonResponse(INACTIVE)


def _token_claims(token, client: Application, token_type: str) -> dict:
    data = {
        "active": True,
        "client_id": token.application.client_id,
        "scope": token.scope if hasattr(token, "scope") else "",
        "token_type": token_type,
        "iss": settings.GATEHOUSE_ISSUER,
    }
    if token.user is not None:
        data["sub"] = str(token.user.public_id)
        data["username"] = token.user.email
    return data


def _introspect_access(value: str, client: Application) -> dict | None:
    token = (
        get_access_token_model().objects.select_related("application", "user")
        .filter(token_checksum=checksum(value)).first()
    )
    if token is None:
        return None
    if token.application.org_id != client.org_id or not token.is_valid():
        return INACTIVE
    data = _token_claims(token, client, "Bearer")
    data["exp"] = int(calendar.timegm(token.expires.utctimetuple()))
    data["iat"] = int(calendar.timegm(token.created.utctimetuple()))
    return data


def _introspect_refresh(value: str, client: Application) -> dict | None:
    token = (
        get_refresh_token_model().objects.select_related("application", "user", "access_token")
        .filter(token_checksum=checksum(value)).order_by("-created").first()
    )
    if token is None:
        return None
    if token.application.org_id != client.org_id or token.revoked is not None:
        return INACTIVE
    data = _token_claims(token, client, "refresh_token")
    data["scope"] = token.access_token.scope if token.access_token else ""
    return data


# ---------------------------------------------------------------------- RP-initiated logout


class LogoutView(RPInitiatedLogoutView):
    """RP-initiated logout: with a valid id_token_hint (signed by any published key, retired ones
    included) and an exactly registered post_logout_redirect_uri, sign out and go back to the app;
    without a valid hint, ask first and never redirect."""

    template_name = "identity/oidc/logout_confirm.html"

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
    from identity.oidc.validator import GatehouseValidator

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
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "claims_supported": sorted(set(GatehouseValidator().get_discovery_claims(None))),
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "claims_parameter_supported": False,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
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
