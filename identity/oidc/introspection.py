"""Token introspection (RFC 7662), for two kinds of caller:

- a confidential application of an org, about tokens of that org's applications (DOT's stock view lets
  any confidential client introspect any token, across tenants: ours answers `{"active": false}` for
  another org's token, exactly as for an unknown one);
- a registered API, with its own client id and secret, about access tokens issued for its audience
  only: everything else, refresh tokens included, is `{"active": false}`.

A JWT access token is active while its signature, issuer and expiry hold, and, for a person's token,
while its row lives (revoking a session or a refresh family deletes it). A machine's JWT has no row; it
is active while its application is.
"""

import calendar
import hashlib
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OauthlibRequest

from applications.hashers import ClientSecretHasher
from applications.models import Api, Application, AuthorizationRecord
from applications.token_policy import bearer_token_usable
from identity.mfa.assurance import acr_for
from identity.oidc.access_tokens import verified_claims
from identity.oidc.lean_token import credentials
from identity.oidc.validator import checksum

INACTIVE = {"active": False}
_HASHER = ClientSecretHasher()
# The claims an answer about a JWT repeats from it (RFC 7662 §2.2).
_JWT_CLAIMS = ("aud", "iss", "sub", "client_id", "scope", "exp", "iat", "nbf", "jti")


def _timestamp(moment: datetime) -> int:
    return int(calendar.timegm(moment.utctimetuple()))


def _unauthenticated() -> JsonResponse:
    response = JsonResponse({"error": "invalid_client", "error_description": "Client authentication failed."},
                            status=401)
    response["WWW-Authenticate"] = 'Basic realm="gatehouse"'
    return response


def _application_caller(request: HttpRequest) -> Application | None:
    core = OAuthLibMixin.get_oauthlib_core()
    uri, http_method, body, headers = core._extract_params(request)
    oauth_request = OauthlibRequest(uri, http_method, body, headers)
    authenticated = core.server.request_validator.authenticate_client(oauth_request)
    client = getattr(oauth_request, "client", None)
    return client if authenticated and client is not None and client.is_confidential else None


def _api_caller(request: HttpRequest) -> Api | None:
    """A registered API authenticating with its own client id and secret (HTTP Basic or the body)."""
    pair = credentials(request, request.POST)
    if pair is None or "\x00" in pair[0]:
        return None
    api: Api | None = Api.objects.select_related("org").filter(client_id=pair[0]).first()
    if api is None or not api.org.is_active or not _HASHER.verify(pair[1], api.client_secret):
        return None
    return api


@csrf_exempt
@require_POST
def introspect(request: HttpRequest) -> JsonResponse:
    caller = _application_caller(request) or _api_caller(request)
    if caller is None:
        return _unauthenticated()
    value = request.POST.get("token", "")
    if not value:
        return JsonResponse({"error": "invalid_request", "error_description": "The token parameter is missing."},
                            status=400)
    if isinstance(caller, Api):
        return JsonResponse(_for_api(value, caller))
    hint = request.POST.get("token_type_hint", "")
    lookups = [_refresh, _access] if hint == "refresh_token" else [_access, _refresh]
    for lookup in lookups:
        answer = lookup(value, caller)
        if answer is not None:
            return JsonResponse(answer)
    return JsonResponse(INACTIVE)


# ------------------------------------------------------------------ shared


def _row(value: str) -> Any:  # DOT's AccessToken, or None (DOT ships no type information)
    return (get_access_token_model().objects.select_related("application__org", "user")
            .filter(token_checksum=checksum(value)).first())


def _jwt_answer(value: str, claims: dict[str, Any]) -> dict[str, Any]:
    """The answer about a verified JWT: active while its application is usable and, for a person's
    token, while its row lives (revoking a session or a refresh family deletes it)."""
    if claims.get("sub") == claims.get("client_id"):  # a machine's token (RFC 9068 §2.2): never stored
        application = Application.objects.select_related("org").filter(client_id=claims.get("client_id")).first()
        if application is None or not application.is_usable(None):
            return INACTIVE
    else:
        row = _row(value)
        if row is None or not row.is_valid() or not bearer_token_usable(application=row.application, user=row.user):
            return INACTIVE
        return {"active": True, **{name: claims[name] for name in _JWT_CLAIMS if name in claims},
                **_sign_in_of(row), "token_type": "Bearer"}
    return {"active": True, **{name: claims[name] for name in _JWT_CLAIMS if name in claims}, "token_type": "Bearer"}


def _sign_in_of(row: Any) -> dict[str, Any]:
    """How the person behind a token signed in (RFC 9470 §6.2: acr and auth_time; amr beside them), from
    the authorization record of its refresh family: one query; {} when there is none (no refresh token)."""
    if row.user_id is None:
        return {}
    refresh = get_refresh_token_model().objects.filter(Q(access_token_id=row.pk) | Q(pk=row.source_refresh_token_id))
    record = (AuthorizationRecord.objects.filter(token_family__in=refresh.values("token_family"))
              .values_list("amr", "auth_time").first())
    if record is None:
        return {}
    amr, auth_time = record
    return {"acr": acr_for(amr), "amr": amr, "auth_time": _timestamp(auth_time)}


def _opaque_answer(row: Any, *, aud: str | None) -> dict[str, Any]:
    data = {
        "active": True,
        "iss": settings.GATEHOUSE_ISSUER,
        "client_id": row.application.client_id,
        "sub": str(row.user.public_id) if row.user is not None else row.application.client_id,
        "scope": row.scope,
        "exp": _timestamp(row.expires),
        "iat": _timestamp(row.created),
        "nbf": _timestamp(row.created),
        # A stable name for this token that reveals nothing of it (RFC 7662 allows any jti).
        "jti": hashlib.sha256(row.token_checksum.encode()).hexdigest()[:32],
        "token_type": "Bearer",
    }
    if aud:
        data["aud"] = aud
    if row.user is not None:
        data["username"] = row.user.email
        data.update(_sign_in_of(row))
    return data


# ------------------------------------------------------------------ a registered API


def _for_api(value: str, api: Api) -> dict[str, Any]:
    claims = verified_claims(value)
    if claims is not None:
        return _jwt_answer(value, claims) if claims.get("aud") == api.identifier else INACTIVE
    row = _row(value)
    if row is None or not row.is_valid() or api.identifier not in (row.resource or []) \
            or not bearer_token_usable(application=row.application, user=row.user):
        return INACTIVE
    return _opaque_answer(row, aud=api.identifier)


# ------------------------------------------------------------------ an application of the org


def _access(value: str, client: Application) -> dict[str, Any] | None:
    claims = verified_claims(value)
    if claims is not None:
        issued_to = Application.objects.filter(client_id=claims.get("client_id")).values_list("org_id", flat=True)
        return _jwt_answer(value, claims) if issued_to.first() == client.org_id else INACTIVE
    row = _row(value)
    if row is None:
        return None
    if row.application.org_id != client.org_id or not row.is_valid() \
            or not bearer_token_usable(application=row.application, user=row.user):
        return INACTIVE
    resource = row.resource or []
    return _opaque_answer(row, aud=resource[0] if resource else None)


def _refresh(value: str, client: Application) -> dict[str, Any] | None:
    token = (
        get_refresh_token_model().objects.select_related("application__org", "user", "access_token")
        .filter(token_checksum=checksum(value)).order_by("-created").first()
    )
    if token is None:
        return None
    if token.application.org_id != client.org_id or token.revoked is not None \
            or not bearer_token_usable(application=token.application, user=token.user):
        return INACTIVE
    data = {"active": True, "client_id": token.application.client_id,
            "scope": token.access_token.scope if token.access_token else "", "token_type": "refresh_token",
            "iss": settings.GATEHOUSE_ISSUER}
    if token.user is not None:
        data["sub"] = str(token.user.public_id)
        data["username"] = token.user.email
    return data
