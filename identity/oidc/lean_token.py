"""Lean answers to the common token requests (client credentials here, refresh in lean_refresh);
everything else is DOT's. identity.oidc.lean.token_response() is what TokenView.post asks first.

A machine client authenticating with HTTP Basic or a body secret, for no scope or scopes the provider
supports, gets the same token DOT would issue (same row, same JSON, same headers) from one SELECT of
the client with its org's status and one INSERT, without oauthlib's request parsing and grant
machinery. Any other request — another grant, a parameter we do not handle, a duplicate, a wrong
secret, an unknown, disabled or suspended client, a secret in its rotation overlap, a client limited
to some scopes, non-default DOT settings, a connected app_authorized receiver — returns None, and the
caller hands it to DOT's TokenView unchanged, so every error is DOT's own answer.
identity/tests/test_oidc_lean_cc.py sends each case to both and compares.
"""

import base64
import binascii
import json
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import unquote_plus

from django.conf import settings
from django.db import router
from django.http import HttpResponse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from oauth2_provider.scopes import SettingsScopes, get_scopes_backend
from oauth2_provider.settings import oauth2_settings

from applications.hashers import ClientSecretHasher
from applications.models import Application
from applications.oauth_policy import access_token_lifetime
from applications.token_policy import ClientFacts, authenticates_with_secret, client_facts, grant_allowed, lean_client
from identity.oidc import lean_sql
from identity.oidc.access_tokens import access_token_generator, token_value
from identity.oidc.lean_guard import lean_paths_enabled
from identity.oidc.validator import GatehouseValidator, checksum
from orgs.models import Organization

_HASHER = ClientSecretHasher()
_HASH_PREFIX = _HASHER.algorithm + "$"
_FORM = "application/x-www-form-urlencoded"
FORMS = (_FORM, "multipart/form-data")  # what Django parses into request.POST, as DOT reads it

# The columns read for the client, in this order (SELECT below).
_CLIENT_COLUMNS = ("id", "client_secret", "client_type", "authorization_grant_type", "status",
                   "access_token_lifetime", "allowed_scopes", "previous_client_secret")

# alias -> SQL; written once per database from the models' own table and column names.
_select_sql: dict[str, str] = {}


def token_headers(response: HttpResponse) -> HttpResponse:
    """oauthlib's headers on every token response (grant_types.base._get_default_headers)."""
    response["Content-Type"] = "application/json"
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _client_select_sql(alias: str) -> str:
    sql = _select_sql.get(alias)
    if sql is None:
        quote = lean_sql.quote(alias)
        app, org = Application._meta, Organization._meta
        columns = ", ".join(f"a.{quote(app.get_field(name).column)}" for name in _CLIENT_COLUMNS)
        sql = _select_sql[alias] = (  # names from the models, values as parameters
            f"SELECT {columns}, o.{quote(org.get_field('status').column)} "  # noqa: S608
            f"FROM {quote(app.db_table)} a INNER JOIN {quote(org.db_table)} o "
            f"ON o.{quote(org.pk.column)} = a.{quote(app.get_field('org').column)} "
            f"WHERE a.{quote(app.get_field('client_id').column)} = %s"
        )
    return sql


def client_is_plain(client: Application) -> bool:
    """The token policy's lean_client, for a client loaded as a model."""
    return lean_client(client_facts(client))


def machine_may_have_token(facts: ClientFacts) -> bool:
    """The token policy for a client-credentials request the lean paths answer: a confidential client
    registered for the grant, one of those lean_client admits."""
    return (authenticates_with_secret(client_type=facts.client_type)
            and grant_allowed(grant=facts.grant, grant_type="client_credentials") and lean_client(facts))


def secret_matches(client: Application, secret: str) -> bool:
    return stored_secret_matches(client.client_secret, secret)


def settings_are_stock() -> bool:
    """The DOT settings the lean paths reproduce; anything else is DOT's path."""
    return (
        lean_paths_enabled()
        and oauth2_settings.ACCESS_TOKEN_GENERATOR in (None, access_token_generator)
        and oauth2_settings.OAUTH2_VALIDATOR_CLASS is GatehouseValidator
        and oauth2_settings.EXTRA_SERVER_KWARGS.get("token_expires_in") is access_token_lifetime
        and isinstance(get_scopes_backend(), SettingsScopes)
    )


def credentials(request, params: dict) -> tuple[str, str] | None:
    """(client_id, secret) from exactly one of Basic auth or the body, decoded as DOT does."""
    authorization = request.META.get("HTTP_AUTHORIZATION")
    in_body = "client_id" in params or "client_secret" in params
    if authorization is None:
        client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
        return (client_id, secret) if client_id and secret else None
    parts = authorization.split(" ", 1)
    if in_body or len(parts) != 2 or parts[0] != "Basic":
        return None
    try:
        decoded = base64.b64decode(parts[1]).decode(request.encoding or settings.DEFAULT_CHARSET or "utf-8")
    except (TypeError, binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return None
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    return (client_id, secret) if client_id and secret else None


def form_params(request, allowed: frozenset[str]) -> dict | None:
    """The form body as a dict, or None if it is not a plain form of known, single parameters."""
    if request.META.get("QUERY_STRING") or request.content_type not in FORMS or request.FILES:
        return None
    params = {}
    for key, values in request.POST.lists():
        if key not in allowed or len(values) != 1:
            return None
        params[key] = values[0]
    return params


_CC_PARAMS = frozenset({"grant_type", "scope", "client_id", "client_secret", "resource"})


def machine_request(request) -> tuple[dict, str, str] | None:
    """(params, client_id, secret) of a plain client-credentials request, or None for DOT's view."""
    params = form_params(request, _CC_PARAMS)
    if params is None or params.get("grant_type") != "client_credentials" or not settings_are_stock():
        return None
    credentials_ = credentials(request, params)
    if credentials_ is None or "\x00" in credentials_[0]:
        return None  # (PostgreSQL refuses NUL in text: DOT's lookup answers)
    return params, *credentials_


def stored_secret_matches(stored: str, secret: str) -> bool:
    """The secret checked as DOT's _check_secret would, for secrets stored with our fast hasher
    (anything else is left to DOT)."""
    return stored.startswith(_HASH_PREFIX) and _HASHER.verify(secret, stored)


def client_credentials(request, params: dict, client_id: str, secret: str) -> HttpResponse | None:
    """The token response for a plain client-credentials request for Gatehouse alone (no scope, no
    resource: an opaque token without scope), or None for DOT's view."""
    if "scope" in params or "resource" in params:
        return None
    alias = router.db_for_read(Application)
    with lean_sql.cursor(alias) as cursor:
        cursor.execute(_client_select_sql(alias), [client_id])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, stored, client_type, grant, status, lifetime, allowed_scopes, previous_secret, org_status = row
    facts = ClientFacts(client_type, grant, status, org_status, allowed_scopes, previous_secret)
    if not machine_may_have_token(facts) or not stored_secret_matches(stored, secret):
        return None
    scopes: list[str] = []  # a machine is never given an OpenID Connect scope
    expires_in = access_token_lifetime(SimpleNamespace(client=SimpleNamespace(access_token_lifetime=lifetime)))
    token = token_value()
    now = timezone.now()
    model = get_access_token_model()
    lean_sql.insert(model, router.db_for_write(model), {
        "token": "" if oauth2_settings.COMPLIANT_BCP_RFC9700_TOKEN_STORAGE else token,
        "token_checksum": checksum(token),
        "application_id": pk,
        "expires": now + timedelta(seconds=expires_in),
        "scope": " ".join(scopes),
        "resource": [],
        "created": now,
        "updated": now,
    })
    body = {"access_token": token, "expires_in": expires_in, "token_type": "Bearer", "scope": " ".join(scopes)}
    return token_headers(HttpResponse(content=json.dumps(body), status=200))
