"""Which registered API a token is for: RFC 8707 resource indicators and API scopes, checked against the
client's grants. One API per token; the answer decides the token's audience, format and lifetime.

Rules (docs/apis.md):
- `resource` is an absolute http(s) URI with a host and no fragment, naming an API of the client's own
  org; anything else (another org's API included) is `invalid_target`. At most one per request.
- A scope that is not an OpenID Connect scope is an API scope: the client must be granted it
  (Application.api_scopes; `invalid_scope` otherwise, decided by the scopes backend), and every API
  scope of one request must belong to one API, the `resource`'s when one is named.
- A client gets tokens only for an API it is granted at least one scope of.
- Client credentials naming a resource and no API scope get every scope of that API the client holds.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings

from applications.api_services import api_identifier_problem
from applications.models import Api, ApiScope, Application
from config.compiled_queries import CompiledQuery
from config.postgresql.client_rows import client_rows


class TargetError(Exception):
    """A token request whose resource or API scopes cannot be served: `error` is the RFC code."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Target:
    """The API a token is for, and the API scopes it carries (a subset of the token's scopes)."""

    api: Api
    scopes: tuple[str, ...]


def oidc_scopes() -> frozenset[str]:
    return frozenset(settings.OAUTH2_PROVIDER["SCOPES"])


# The attribute granted_api_scopes memoises its answer in, on an oauthlib request: (client pk, scopes by name).
# identity/oidc/authorize.py hands it on to oauthlib's second validation of the same authorize request.
GRANTED_API_SCOPES_MEMO = "gatehouse_api_scopes"


# Read on every authorization and token request: its SQL is built once (config/compiled_queries.py), and its
# rows kept until the client's API scopes change (config/postgresql/client_rows.py).
_SCOPES_GRANTED_TO = CompiledQuery(
    lambda application_id: ApiScope.objects.filter(applications=application_id).select_related("api"), -1,
    cache=client_rows)


def granted_api_scopes(client: Application, request: Any = None) -> dict[str, ApiScope]:
    """The API scopes `client` is granted, by name, with their APIs; memoised on `request` for that client."""
    cached = getattr(request, GRANTED_API_SCOPES_MEMO, None) if request is not None else None
    if cached is not None and cached[0] == client.pk:
        return cached[1]  # type: ignore[no-any-return]  # only this function sets the attribute
    granted = {scope.name: scope for scope in _SCOPES_GRANTED_TO(client.pk)}
    if request is not None:
        setattr(request, GRANTED_API_SCOPES_MEMO, (client.pk, granted))
    return granted


def resolve_target(*, client: Application | None, scopes: Iterable[str], resources: Iterable[str] | None,
                   request: Any = None, grant_type: str = "",
                   granted: dict[str, ApiScope] | None = None) -> Target | None:
    """The API this token request is for, or None for a token for Gatehouse alone (userinfo).

    Raises TargetError with `invalid_target` or `invalid_scope`. Assumes every scope has already been
    checked as available to the client (the scopes backend does that). `granted` is the client's API
    scopes when the caller has read them already (identity.oidc.lean_api_token)."""
    resources = list(resources or [])
    if len(resources) > 1:
        raise TargetError("invalid_target", "Ask for one resource per token request.")
    for value in resources:
        if problem := api_identifier_problem(value):
            raise TargetError("invalid_target", problem)
    # client is None only where the caller passes `granted` (identity.oidc.lean_api_token).
    granted = granted if granted is not None else granted_api_scopes(client, request)  # type: ignore[arg-type]
    asked = [scope for scope in scopes if scope not in oidc_scopes()]
    apis = {granted[scope].api_id for scope in asked if scope in granted}
    if len(apis) > 1:
        raise TargetError("invalid_scope", "These scopes belong to more than one API; ask for one API per token.")
    api = None
    if resources:
        api = next((scope.api for scope in granted.values() if scope.api.identifier == resources[0]), None)
        if api is None:
            # Unknown, another org's, or one this client holds no scope of: the same answer for all three.
            raise TargetError("invalid_target", "The resource is not an API this application may call.")
        if apis and apis != {api.pk}:
            raise TargetError("invalid_scope", "A requested scope belongs to another API than the resource.")
    elif apis:
        api = next(granted[scope].api for scope in asked if scope in granted)
    if api is None:
        return None
    api_scopes = tuple(scope for scope in asked if scope in granted)
    if not api_scopes and grant_type == "client_credentials":
        api_scopes = tuple(sorted(name for name, scope in granted.items() if scope.api_id == api.pk))
    return Target(api=api, scopes=api_scopes)


def body_resources(request: Any) -> list[str]:
    """Every `resource` of an oauthlib request: from the form body at /token, from the query at
    /authorize (oauthlib keeps only one value of a repeated parameter)."""
    body = getattr(request, "decoded_body", None)
    if body:
        return [value for name, value in body if name == "resource"]
    return [value for name, value in parse_qsl(urlsplit(request.uri).query, keep_blank_values=True)
            if name == "resource"]
