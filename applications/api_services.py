"""Writes to registered APIs (resource servers) and to the API scopes applications are granted. Each is
atomic and records its audit event."""

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from posixpath import normpath
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest

from applications.hashers import ClientSecretHasher
from applications.models import Api, ApiScope, Application
from applications.services import generate_client_secret
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError
from directory.models import User
from orgs.models import Organization

API_NAME_MAX = 100
API_IDENTIFIER_MAX = 255
API_SCOPE_DESCRIPTION_MAX = 200
API_SCOPES_MAX = 100
API_LIFETIME_MIN = 60  # a minute: shorter tokens make every call a token request
API_LIFETIME_MAX = 24 * 3600  # a day: a JWT cannot be recalled before it expires
# `orders:read`, `invoices.write`, `api/admin`: letters, digits and : . _ - /, starting with a letter or digit.
_SCOPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._/-]{0,99}$")
# Names OpenID Connect gives a meaning of their own; an API may not redefine them.
RESERVED_SCOPES = frozenset({"openid", "profile", "email", "address", "phone", "offline_access"})


@dataclass(frozen=True)
class CreatedApi:
    api: Api
    # The API's own secret for introspection, shown once and stored hashed.
    client_secret: str


def api_identifier_problem(value: str) -> str | None:
    """Why `value` cannot identify an API (it is the tokens' `aud` and the RFC 8707 `resource`), or None:
    an absolute http(s) URI with a host and no fragment."""
    if not value or len(value) > API_IDENTIFIER_MAX or any(ord(char) < 33 for char in value):
        return f"An identifier is an absolute URI of at most {API_IDENTIFIER_MAX} characters, without spaces."
    try:
        parts = urlsplit(value)
    except ValueError:
        return "The identifier is not a valid URI."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "An identifier is an absolute http(s) URI, e.g. https://orders.example.com."
    if "#" in value:
        return "An identifier must not contain a fragment (#)."
    return None


def management_api_identifier(slug: str) -> str:
    """The identifier under which an org registers Gatehouse's own management API for its machine
    applications' tokens (api/tokens.py)."""
    return f"{settings.GATEHOUSE_ISSUER}/api/v1/orgs/{slug}"


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port if port != default else None


def api_identifier_reserved_problem(value: str, *, org: Organization) -> str | None:
    """Why `org` may not register `value`, or None. Everything under `<issuer>/api/` is Gatehouse's own
    management API: an org registers its own address there (`<issuer>/api/v1/orgs/<its slug>`) and nothing
    else, so no org can mint tokens aimed at another org's management API, nor squat its address first.
    Compared as a server would route it: scheme and host in any case, default port, escapes and dot segments."""
    if value == management_api_identifier(org.slug):
        return None
    try:
        parts, issuer = urlsplit(value), urlsplit(settings.GATEHOUSE_ISSUER)
    except ValueError:
        return None  # api_identifier_problem refuses it
    if _origin(parts) != _origin(issuer):
        return None
    base = issuer.path.rstrip("/")
    path = normpath(re.sub(r"/+", "/", "/" + unquote(parts.path).lower()))
    reserved = (base + "/api").lower()
    if path == reserved or path.startswith(reserved + "/"):
        return (f"Addresses under {settings.GATEHOUSE_ISSUER}/api/ belong to Gatehouse's management API. This "
                f"organization may register only its own: {management_api_identifier(org.slug)}.")
    return None


def _scopes_check(scopes: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """[(name, description)] checked: at least one, names well-formed, distinct and not OpenID Connect's."""
    cleaned: list[tuple[str, str]] = []
    for name, description in scopes:
        name, description = (name or "").strip(), (description or "").strip()
        if not _SCOPE_NAME.match(name):
            raise DomainError(f"“{name}” is not a scope name: use letters, digits and : . _ - / "
                              "(at most 100 characters, e.g. orders:read).", field="scopes")
        if name in RESERVED_SCOPES:
            raise DomainError(f"“{name}” is an OpenID Connect scope; an API's scopes need names of their own.",
                              field="scopes")
        if not description or len(description) > API_SCOPE_DESCRIPTION_MAX:
            raise DomainError(f"Describe the scope “{name}” in at most {API_SCOPE_DESCRIPTION_MAX} characters: "
                              "people read it on the consent page.", field="scopes")
        if name in {existing for existing, _ in cleaned}:
            raise DomainError(f"The scope “{name}” is listed twice.", field="scopes")
        cleaned.append((name, description))
    if not cleaned:
        raise DomainError("An API needs at least one scope for applications to be granted.", field="scopes")
    if len(cleaned) > API_SCOPES_MAX:
        raise DomainError(f"An API has at most {API_SCOPES_MAX} scopes.", field="scopes")
    return cleaned


def _scopes_free_in_org(*, org: Organization, names: Iterable[str], api: Api | None) -> None:
    """A scope names exactly one API of the org, so a token request's scopes say which API it is for."""
    taken = ApiScope.objects.filter(org=org, name__in=names)
    if api is not None:
        taken = taken.exclude(api=api)
    clash = taken.select_related("api").first()
    if clash is not None:
        raise AlreadyExists(f"The scope “{clash.name}” is already defined by the API “{clash.api.name}” of this "
                            "organization.", field="scopes")


def _settings_check(*, name: str, token_format: str, access_token_lifetime: int) -> str:
    name = (name or "").strip()
    if not name or len(name) > API_NAME_MAX:
        raise DomainError(f"An API needs a name of at most {API_NAME_MAX} characters.", field="name")
    if token_format not in Api.TokenFormat.values:
        raise DomainError("Choose JWT or opaque tokens.", field="token_format")
    # The isinstance check guards callers that pass what a form or a command line gave them.
    if not isinstance(access_token_lifetime, int) or not API_LIFETIME_MIN <= access_token_lifetime <= API_LIFETIME_MAX:  # type: ignore[redundant-expr]
        raise DomainError(f"The token lifetime is between {API_LIFETIME_MIN} seconds and {API_LIFETIME_MAX // 3600} "
                          "hours.", field="access_token_lifetime")
    return name


def _hashed(secret: str) -> str:
    return make_password(secret, hasher=ClientSecretHasher.algorithm)


def _snapshot(api: Api) -> dict[str, Any]:
    return {"name": api.name, "description": api.description, "token_format": api.token_format,
            "access_token_lifetime": api.access_token_lifetime,
            "scopes": {scope.name: scope.description for scope in api.scopes.all()}}


@transaction.atomic
def api_create(*, org: Organization, name: str, identifier: str, scopes: Iterable[tuple[str, str]],
               token_format: str = Api.TokenFormat.JWT,
               access_token_lifetime: int = Api.DEFAULT_LIFETIME, description: str = "", actor: User | None = None,
               request: HttpRequest | None = None) -> CreatedApi:
    """Register a resource server for `org`. Its identifier is unique across the deployment (no two orgs'
    tokens may share an audience); its scope names are unique within the org."""
    name = _settings_check(name=name, token_format=token_format, access_token_lifetime=access_token_lifetime)
    identifier = (identifier or "").strip()
    if problem := api_identifier_problem(identifier) or api_identifier_reserved_problem(identifier, org=org):
        raise DomainError(problem, field="identifier")
    if Api.objects.filter(identifier=identifier).exists():
        raise AlreadyExists("This identifier is not available: identifiers are unique across this Gatehouse. "
                            "Choose another, e.g. with your own domain name.", field="identifier")
    scopes = _scopes_check(scopes)
    _scopes_free_in_org(org=org, names=[scope for scope, _ in scopes], api=None)
    secret = generate_client_secret()
    api = Api.objects.create(org=org, name=name, identifier=identifier, description=(description or "").strip()[:500],
                             token_format=token_format, access_token_lifetime=access_token_lifetime,
                             client_id="api-" + secrets.token_hex(12), client_secret=_hashed(secret))
    ApiScope.objects.bulk_create([ApiScope(api=api, org=org, name=scope, description=text) for scope, text in scopes])
    audit_record(action="api.created", actor=actor, org=org, target=api, request=request,
                 metadata={"identifier": identifier, **_snapshot(api)})
    return CreatedApi(api=api, client_secret=secret)


@transaction.atomic
def api_update(*, api: Api, name: str, scopes: Iterable[tuple[str, str]], token_format: str,
               access_token_lifetime: int, description: str = "", actor: User | None = None,
               request: HttpRequest | None = None) -> Api:
    """Change an API's settings and scopes. A scope removed is withdrawn from every application granted it;
    tokens already issued keep their scopes until they expire. The identifier never changes: tokens and
    resource servers rely on it."""
    api = Api.objects.select_for_update().get(pk=api.pk)
    before = _snapshot(api)
    api.name = _settings_check(name=name, token_format=token_format, access_token_lifetime=access_token_lifetime)
    scopes = _scopes_check(scopes)
    _scopes_free_in_org(org=api.org, names=[scope for scope, _ in scopes], api=api)
    api.description = (description or "").strip()[:500]
    api.token_format, api.access_token_lifetime = token_format, access_token_lifetime
    api.save(update_fields=["name", "description", "token_format", "access_token_lifetime"])
    wanted = dict(scopes)
    api.scopes.exclude(name__in=wanted).delete()
    existing = {scope.name: scope for scope in api.scopes.all()}
    for scope_name, text in wanted.items():
        if scope_name not in existing:
            ApiScope.objects.create(api=api, org=api.org, name=scope_name, description=text)
        elif existing[scope_name].description != text:
            ApiScope.objects.filter(pk=existing[scope_name].pk).update(description=text)
    after = _snapshot(api)
    changes = {key: {"before": before[key], "after": after[key]} for key in after if before[key] != after[key]}
    audit_record(action="api.updated", actor=actor, org=api.org, target=api, request=request, metadata=changes)
    return api


@transaction.atomic
def api_delete(*, api: Api, actor: User | None = None, request: HttpRequest | None = None) -> None:
    """Delete an API: applications lose its scopes, and no new token names it. Tokens already issued
    stay valid at the API until they expire (JWTs cannot be recalled)."""
    audit_record(action="api.deleted", actor=actor, org=api.org, target=api, request=request,
                 metadata={"identifier": api.identifier, "name": api.name})
    api.delete()


@transaction.atomic
def api_secret_rotate(*, api: Api, actor: User | None = None, request: HttpRequest | None = None) -> str:
    """Give the API a new introspection secret (shown once); the old one stops working at once."""
    secret = generate_client_secret()
    Api.objects.filter(pk=api.pk).update(client_secret=_hashed(secret))
    audit_record(action="api.secret_rotated", actor=actor, org=api.org, target=api, request=request,
                 metadata={"client_id": api.client_id})
    return secret


@transaction.atomic
def application_api_scopes_set(*, application: Application, scopes: Iterable[ApiScope], actor: User | None = None,
                               request: HttpRequest | None = None) -> Application:
    """Grant `application` exactly these API scopes, all of its own org's APIs. Tokens already issued keep
    their scopes until they expire or are refreshed (a refresh for a withdrawn API is refused)."""
    scopes = list(scopes)
    if any(scope.org_id != application.org_id for scope in scopes):
        raise DomainError("An application can be granted only its own organization's API scopes.", field="api_scopes")
    before = sorted(application.api_scopes.values_list("name", flat=True))
    application.api_scopes.set(scopes)
    after = sorted(scope.name for scope in scopes)
    if before != after:
        audit_record(action="application.api_scopes_changed", actor=actor, org=application.org, target=application,
                     request=request, metadata={"api_scopes": {"before": before, "after": after}})
    return application
