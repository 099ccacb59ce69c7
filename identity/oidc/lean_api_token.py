"""The lean answer to a machine's token request for a registered API that takes JWTs: one SELECT (the
client, its org's status, the active signing key and the client's API scopes with their APIs; on
PostgreSQL, kept per process until a change to those tables commits: `client_rows`), the API
chosen by the same rules as DOT's path (identity.oidc.resources.resolve_target), one RS256 signature, and
no write (a machine's JWT is never stored).

Anything else — an opaque API, a scope the client is not granted, a bad resource, a secret in its
rotation overlap, an unusable client — returns None, and DOT's view answers it, every error included.
identity/tests/test_oidc_lean_api_token.py sends each case to both and compares.
"""

import json
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import router
from django.http import HttpResponse

from applications.models import Api, ApiScope, Application
from applications.token_policy import ClientFacts
from config.postgresql.client_rows import client_rows
from identity.oidc import lean_sql
from identity.oidc.access_tokens import jwt_access_token
from identity.oidc.lean_token import machine_may_have_token, stored_secret_matches, token_headers
from identity.oidc.resources import TargetError, resolve_target
from identity.signing import active_kid_sql
from orgs.models import Organization

_CLIENT_COLUMNS = ("id", "client_secret", "client_type", "authorization_grant_type", "status", "allowed_scopes",
                   "previous_client_secret")
_API_COLUMNS = ("identifier", "token_format", "access_token_lifetime")

# alias -> SQL, written once per database from the models' own table and column names.
_select_sql: dict[str, tuple[str, list]] = {}

# The rows _select reads for a client are kept in each process's copy of client rows until PostgreSQL
# notifies that one of the tables it reads has changed (config/postgresql/client_rows.py). The copy saves
# the one statement of this path: a third of its CPU outside the signature.


def _select(alias: str) -> tuple[str, list]:
    compiled = _select_sql.get(alias)
    if compiled is None:
        q = lean_sql.quote(alias)
        app, org, scope, api = Application._meta, Organization._meta, ApiScope._meta, Api._meta
        grants = app.get_field("api_scopes")
        through = grants.remote_field.through._meta
        kid_sql, kid_params = active_kid_sql(alias)
        client_columns = ", ".join(f"a.{q(app.get_field(name).column)}" for name in _CLIENT_COLUMNS)
        api_columns = ", ".join(f"p.{q(api.get_field(name).column)}" for name in _API_COLUMNS)
        sql = (  # names from the models, values as parameters
            f"SELECT {client_columns}, o.{q(org.get_field('status').column)}, {kid_sql}, "  # noqa: S608
            f"s.{q(scope.get_field('name').column)}, s.{q(scope.get_field('api').column)}, {api_columns} "
            f"FROM {q(app.db_table)} a "
            f"INNER JOIN {q(org.db_table)} o ON o.{q(org.pk.column)} = a.{q(app.get_field('org').column)} "
            f"LEFT JOIN {q(through.db_table)} m ON m.{q(grants.m2m_column_name())} = a.{q(app.pk.column)} "
            f"LEFT JOIN {q(scope.db_table)} s ON s.{q(scope.pk.column)} = m.{q(grants.m2m_reverse_name())} "
            f"LEFT JOIN {q(api.db_table)} p ON p.{q(api.pk.column)} = s.{q(scope.get_field('api').column)} "
            f"WHERE a.{q(app.get_field('client_id').column)} = %s"
        )
        compiled = _select_sql[alias] = (sql, kid_params)
    return compiled


@dataclass(frozen=True, slots=True)
class _Api:
    """The Api fields a token needs, read with the client (a model instance costs more than the signature's
    share of this path would suggest)."""

    pk: int
    identifier: str
    token_format: str
    access_token_lifetime: int

    @property
    def is_jwt(self) -> bool:
        return self.token_format == Api.TokenFormat.JWT


@dataclass(frozen=True, slots=True)
class _Scope:
    name: str
    api_id: int
    api: _Api


def _granted(rows) -> dict[str, _Scope]:
    """The client's API scopes by name, shaped as resolve_target reads ApiScope rows."""
    apis: dict[int, _Api] = {}
    granted: dict[str, _Scope] = {}
    for row in rows:
        name, api_id, identifier, token_format, lifetime = row[9:14]
        if name is None:
            continue
        api = apis.get(api_id)
        if api is None:
            api = apis[api_id] = _Api(api_id, identifier, token_format, lifetime)
        granted[name] = _Scope(name, api_id, api)
    return granted


def machine_jwt(request, params: dict, client_id: str, secret: str) -> HttpResponse | None:
    """The token response for a machine's JWT, or None for DOT's view."""
    scope = params.get("scope")
    if scope is not None and (not scope or scope != " ".join(scope.split(" ")) or "" in scope.split(" ")):
        return None  # empty, or spacing oauthlib parses its own way
    scopes = scope.split(" ") if scope else []
    alias = router.db_for_read(Application)
    sql, kid_params = _select(alias)

    def read() -> list[tuple]:
        with lean_sql.cursor(alias) as cursor:
            cursor.execute(sql, [*kid_params, client_id])
            return cursor.fetchall()

    rows = client_rows.get(alias, (alias, client_id), read)
    if not rows:
        return None
    pk, stored, client_type, grant, status, allowed_scopes, previous_secret, org_status, kid = rows[0][:9]
    facts = ClientFacts(client_type, grant, status, org_status, allowed_scopes, previous_secret)
    if kid is None or not machine_may_have_token(facts) or not stored_secret_matches(stored, secret):
        return None
    granted = _granted(rows)
    if not set(scopes) <= set(granted) or len(set(scopes)) != len(scopes):
        return None  # DOT answers invalid_scope
    try:
        target = resolve_target(client=None, scopes=scopes, resources=[params["resource"]] if "resource" in params
                                else [], grant_type="client_credentials", granted=granted)
    except TargetError:
        return None  # DOT answers with the same error
    if target is None or not target.api.is_jwt:
        return None
    scopes = scopes or list(target.scopes)
    expires_in = target.api.access_token_lifetime
    oauth_request = SimpleNamespace(client=SimpleNamespace(client_id=client_id, pk=pk), grant_type="client_credentials",
                                    scopes=scopes, expires_in=expires_in)
    token = jwt_access_token(oauth_request, target, active_kid=kid)
    body = {"access_token": token, "expires_in": expires_in, "token_type": "Bearer", "scope": " ".join(scopes)}
    return token_headers(HttpResponse(content=json.dumps(body), status=200))

