"""A lean answer to the common refresh-token request; everything else is DOT's.

A client authenticating as DOT would (confidential: HTTP Basic or a body secret; public: its
client_id alone) presenting a live refresh token of its own — unrevoked, with its access token,
within its lifetime, for a user the access rule still admits, without resource indicators — gets
what DOT 3.4.1 and GatehouseValidator would give it: a new access token and refresh token in the
same family, the old refresh token revoked and its access token deleted (so the grace period and
family revocation work on it as on any rotated token), and an ID token with the same claims signed
with the active key.

Two statements on PostgreSQL, written once from the models' tables: one reads the client and its
org, the refresh token with its access token and user, whether a token was already minted from it,
the access rule's membership row, the family's authorization record, the active signing key's kid,
and the groups and roles claims; the other writes the rotation — the old refresh token revoked only
if it still is not, and everything else only if that happened. A concurrent rotation, revocation or
family revocation that commits between the two makes the second write nothing, and the request goes
to DOT, which sees the token as it now is (as if the other request had come first). Elsewhere
(SQLite) the claims read the groups and roles themselves and the writes run in one transaction that
starts with the same conditional revocation.

Anything else returns None before anything is written and the caller hands the request to DOT's
TokenView unchanged: unknown, revoked (grace period, reuse), expired, foreign or orphaned tokens, a
refused user (DOT revokes the family and audits it), a wider scope, an Origin header (oauthlib's
CORS), unusual parameters, non-stock settings. identity/tests/test_oidc_lean_refresh.py sends each
case to both paths and compares.
"""

import base64
import functools
import hashlib
import json
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from django.http import HttpResponse
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_id_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OauthlibRequest
from oauthlib.oauth2.rfc6749.tokens import random_token_generator

from applications.models import Application, AuthorizationRecord
from applications.oauth_policy import access_token_lifetime
from applications.token_policy import MembershipRow, access_decision, authenticates_with_secret, grant_allowed
from identity.oidc import lean_sql
from identity.oidc.access import membership_columns_sql
from identity.oidc.access_tokens import token_value
from identity.oidc.claims import (
    groups_and_roles_arrays_sql,
    groups_and_roles_arrays_supported,
    groups_and_roles_preload,
)
from identity.oidc.lean_token import (
    client_is_plain,
    credentials,
    form_params,
    secret_matches,
    settings_are_stock,
    token_headers,
)
from identity.oidc.validator import GatehouseValidator, checksum
from identity.signing import active_kid_sql, id_token_jws, signing_key_active_jwk
from orgs.models import Organization

_PARAMS = frozenset({"grant_type", "refresh_token", "scope", "client_id", "client_secret"})


class _HandOver(Exception):
    """Leave this request to DOT: nothing has been written (or it is rolled back)."""


def refresh(request) -> HttpResponse | None:
    """The token response for a plain refresh request, or None for DOT's view."""
    params = form_params(request, _PARAMS)
    if (params is None or params.get("grant_type") != "refresh_token" or not params.get("refresh_token")
            or "HTTP_ORIGIN" in request.META or not _settings_allow()):
        return None
    client_credentials = _client_credentials(request, params)
    if client_credentials is None or "\x00" in client_credentials[0]:
        return None  # PostgreSQL refuses NUL in text: DOT's lookup answers
    try:
        return _rotate(request, params, *client_credentials)
    except _HandOver:
        return None


def _settings_allow() -> bool:
    return (settings_are_stock() and oauth2_settings.REFRESH_TOKEN_GENERATOR in (None, random_token_generator)
            and oauth2_settings.ROTATE_REFRESH_TOKEN is True and oauth2_settings.OIDC_ENABLED
            and not oauth2_settings.COMPLIANT_BCP_RFC9700_TOKEN_STORAGE)


def _client_credentials(request, params: dict) -> tuple[str, str | None] | None:
    """(client_id, secret) as DOT reads them for this grant: a confidential client's secret from
    Basic or the body; a public client's client_id alone (secret None)."""
    found = credentials(request, params)
    if found is not None:
        return found
    if "HTTP_AUTHORIZATION" not in request.META and params.get("client_id") and "client_secret" not in params:
        return params["client_id"], None
    return None


def _authenticated(client: Application, secret: str | None) -> bool:
    """DOT's client authentication for this grant, success only; a client the validator would treat
    specially (rotation overlap, scope limits, not usable) is DOT's."""
    confidential = authenticates_with_secret(client_type=client.client_type)
    authenticated = (confidential and secret_matches(client, secret)) if secret is not None else not confidential
    return (authenticated and client_is_plain(client)
            and grant_allowed(grant=client.authorization_grant_type, grant_type="refresh_token"))


# ------------------------------------------------------------------------------------------ the read

_MODELS = ("client", "org", "refresh", "access", "user", "record")

# alias -> (SQL, parameters before the checksum and client id)
_lookup_sql: dict[str, tuple[str, list]] = {}


@functools.cache
def _models() -> dict:
    return {"client": Application, "org": Organization, "refresh": get_refresh_token_model(),
            "access": get_access_token_model(), "user": get_user_model(), "record": AuthorizationRecord}


def _lookup(alias: str) -> tuple[str, list]:
    """Everything a rotation reads, for one client id and one refresh token checksum (see the module)."""
    compiled = _lookup_sql.get(alias)
    if compiled is None:
        q = lean_sql.quote(alias)
        models = _models()
        app, org, rt, at, user, record = (models[name]._meta for name in _MODELS)
        user_id = f"r.{q(rt.get_field('user').column)}"
        kid_sql, kid_params = active_kid_sql(alias)
        arrays = f", {groups_and_roles_arrays_sql(alias, client='a', user_id=user_id)}" \
            if groups_and_roles_arrays_supported(alias) else ""
        column_lists = ", ".join(lean_sql.columns(models[name], alias_, alias)
                                 for name, alias_ in zip(_MODELS, ("a", "o", "r", "t", "u", "ar"), strict=True))
        sql = (
            f"SELECT {column_lists}, "  # noqa: S608 - names from the models, values as parameters
            f"(SELECT s.{q(at.pk.column)} FROM {q(at.db_table)} s "
            f"WHERE s.{q(at.get_field('source_refresh_token').column)} = r.{q(rt.pk.column)}), "
            f"{membership_columns_sql(alias, client='a', user_id=user_id)}, {kid_sql}{arrays} "
            f"FROM {q(app.db_table)} a "
            f"INNER JOIN {q(org.db_table)} o ON o.{q(org.pk.column)} = a.{q(app.get_field('org').column)} "
            f"LEFT OUTER JOIN {q(rt.db_table)} r ON r.{q(rt.get_field('token_checksum').column)} = %s "
            f"AND r.{q(rt.get_field('revoked').column)} IS NULL "
            f"LEFT OUTER JOIN {q(at.db_table)} t ON t.{q(at.pk.column)} = r.{q(rt.get_field('access_token').column)} "
            f"LEFT OUTER JOIN {q(user.db_table)} u ON u.{q(user.pk.column)} = {user_id} "
            f"LEFT OUTER JOIN {q(record.db_table)} ar ON ar.{q(record.pk.column)} = "
            f"(SELECT ar2.{q(record.pk.column)} FROM {q(record.db_table)} ar2 "
            f"WHERE ar2.{q(record.get_field('token_family').column)} = r.{q(rt.get_field('token_family').column)} "
            f"ORDER BY ar2.{q(record.pk.column)} LIMIT 1) "
            f"WHERE a.{q(app.get_field('client_id').column)} = %s"
        )
        compiled = _lookup_sql[alias] = (sql, kid_params)
    return compiled


class _Loaded:
    """One row of _lookup, as model instances (None where the LEFT JOIN found nothing)."""

    def __init__(self, alias: str, row):
        models = _models()
        start, instances = 0, {}
        for name in _MODELS:
            width = lean_sql.width(models[name])
            values = row[start:start + width]
            instances[name] = lean_sql.instance(models[name], alias, values) if values[0] is not None else None
            start += width
        self.client, self.refresh, self.access, self.user, self.record = (
            instances["client"], instances["refresh"], instances["access"], instances["user"], instances["record"])
        self.client._state.fields_cache["org"] = instances["org"]
        self.successor_id = row[start]
        self.membership = MembershipRow(*row[start + 1:start + 4])
        self.active_kid = row[start + 4]
        self.groups_and_roles = (list(row[start + 5]), list(row[start + 6])) if len(row) > start + 5 else None


def _load(alias: str, client_id: str, refresh_token: str) -> _Loaded:
    sql, kid_params = _lookup(alias)
    with lean_sql.cursor(alias) as cursor:
        cursor.execute(sql, [*kid_params, checksum(refresh_token), client_id])
        row = cursor.fetchone()
    if row is None:
        raise _HandOver  # unknown client
    return _Loaded(alias, row)


def _expired(rt, at, client: Application) -> bool:
    """The validator's rule (_validate_live_refresh_token): the application's own
    refresh_token_lifetime counted from the refresh token's issue when set, else DOT's
    REFRESH_TOKEN_EXPIRE_SECONDS after the access token's expiry."""
    now = timezone.now()
    if client.refresh_token_lifetime:
        return rt.created + timedelta(seconds=client.refresh_token_lifetime) <= now
    delta = refresh_token_expire_timedelta()
    return bool(delta) and at.expires + delta <= now


def _rotate(request, params: dict, client_id: str, secret: str | None) -> HttpResponse:
    alias = router.db_for_write(get_refresh_token_model())
    loaded = _load(alias, client_id, params["refresh_token"])
    client, rt, at, user = loaded.client, loaded.refresh, loaded.access, loaded.user
    if not _authenticated(client, secret):
        raise _HandOver
    if (rt is None or at is None or user is None or loaded.successor_id is not None or rt.application_id != client.pk
            or rt.resource or at.resource or _expired(rt, at, client)
            or not access_decision(user=user, application=client, membership=loaded.membership).allowed):
        raise _HandOver
    original = at.scope.strip().split(" ")  # oauthlib's scope_to_list
    raw_scope = params.get("scope")
    if raw_scope is None:
        scopes = original
    else:
        scopes = raw_scope.strip().split(" ")
        if not raw_scope or not all(scope in original for scope in scopes):
            raise _HandOver  # an empty or wider scope: oauthlib's own answer
    oauth_request = _oauthlib_request(request, client, user, rt, scopes, raw_scope)
    expires_in = access_token_lifetime(oauth_request)
    token = {"access_token": token_value(), "expires_in": expires_in, "token_type": "Bearer",
             "scope": " ".join(scopes), "refresh_token": token_value()}
    id_token_row = None
    if "openid" in scopes:
        # What the claims and the signature would read, read already with the token.
        oauth_request.gatehouse_authorization_record = loaded.record
        if loaded.groups_and_roles is not None:
            groups_and_roles_preload(oauth_request, *loaded.groups_and_roles)
        client.__dict__["jwk_key"] = signing_key_active_jwk(active_kid=loaded.active_kid)  # the cached_property
        token["id_token"], id_token_row = _id_token(token, oauth_request)
    _store(rt, at, token, client, user, id_token_row, alias)
    return token_headers(HttpResponse(content=json.dumps(token), status=200))


def _oauthlib_request(request, client, user, rt, scopes, raw_scope) -> OauthlibRequest:
    """An oauthlib request as DOT's validator sees it after validate_refresh_token, for the
    validator's own claim and ID-token code."""
    oauth_request = OauthlibRequest(request.build_absolute_uri(), http_method="POST")
    oauth_request.grant_type = "refresh_token"
    oauth_request.client = client
    oauth_request.client_id = client.client_id
    oauth_request.user = user
    oauth_request.refresh_token_instance = rt
    oauth_request.scopes = scopes
    oauth_request.scope = raw_scope
    return oauth_request


class _Validator(GatehouseValidator):
    """The validator, with the refresh token family's authorization record as _lookup read it."""

    def _authorization_record(self, request):
        return request.gatehouse_authorization_record


def _id_token(token: dict, oauth_request) -> tuple[str, dict]:
    """oauthlib's add_id_token and DOT's finalize_id_token (3.4.1): the signed JWT, and the values
    of its IDToken row (stored by _store)."""
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    id_token = {"aud": oauth_request.client_id, "iat": int(time.time()),
                "at_hash": base64.urlsafe_b64encode(digest[:len(digest) // 2]).decode().rstrip("=")}
    claims, expiration_time = _Validator().get_id_token_dictionary(token, None, oauth_request)
    id_token.update(**claims)
    client = oauth_request.client
    serialized = id_token_jws(client, id_token)
    now = timezone.now()
    row = {"user_id": oauth_request.user.pk, "jti": id_token["jti"], "application_id": client.pk,
           "expires": expiration_time, "scope": oauth_request.scope or " ".join(oauth_request.scopes),
           "created": now, "updated": now}
    return serialized, row


# ----------------------------------------------------------------------------------------- the write

# (alias, with an ID token) -> (SQL, [ID token fields or None, access token fields, refresh token fields])
_rotation_sql: dict[tuple[str, bool], tuple[str, list]] = {}
# alias -> the conditional revocation and the delete, for databases without the one statement.
_rotation_steps: dict[str, tuple[str, str]] = {}


def _store(rt, at, token: dict, client: Application, user, id_token_row: dict | None, alias: str) -> None:
    """DOT's rotation: the old refresh token revoked (and unlinked), its access token deleted, the
    ID token stored, a new access token from the old refresh token, and a new refresh token in its
    family — all of it only if the old refresh token was still unrevoked (else _HandOver)."""
    rt_model, at_model = get_refresh_token_model(), get_access_token_model()
    connection = connections[alias]
    now = timezone.now()
    access = {
        "user_id": user.pk, "source_refresh_token_id": rt.pk, "token": token["access_token"],
        "token_checksum": checksum(token["access_token"]), "id_token_id": None, "application_id": client.pk,
        "expires": now + timedelta(seconds=token["expires_in"]), "scope": token["scope"], "resource": [],
        "created": now, "updated": now,
    }
    refresh = {
        "user_id": user.pk, "token": token["refresh_token"], "token_checksum": checksum(token["refresh_token"]),
        "application_id": client.pk, "access_token_id": None, "token_family": rt.token_family,
        "resource": [], "created": now, "updated": now, "revoked": None,
    }
    stamp = rt_model._meta.get_field("revoked").get_db_prep_save(now, connection)
    if connection.vendor == "postgresql":
        sql, field_lists = _rotation_statement(alias, with_id_token=id_token_row is not None)
        params = [stamp, stamp, rt.pk, at.pk]
        for fields, values in zip(field_lists, (id_token_row, access, refresh), strict=True):
            if fields is not None:
                params += [field.get_db_prep_save(values.get(field.attname), connection) for field in fields]
        with lean_sql.cursor(alias) as cursor:
            cursor.execute(sql, params)
            if cursor.fetchone() is None:
                raise _HandOver  # revoked since it was read: nothing was written
        return
    revoke_sql, delete_sql = _steps(alias)
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(revoke_sql, [stamp, stamp, rt.pk])
        if cursor.rowcount != 1:
            raise _HandOver  # revoked since it was read: rolled back
        cursor.execute(delete_sql, [at.pk])
        if id_token_row is not None:
            access["id_token_id"] = lean_sql.insert(get_id_token_model(), alias, id_token_row, returning_pk=True)
        refresh["access_token_id"] = lean_sql.insert(at_model, alias, access, returning_pk=True)
        lean_sql.insert(rt_model, alias, refresh)


def _steps(alias: str) -> tuple[str, str]:
    """The old refresh token revoked and unlinked if it still is unrevoked; its access token deleted.
    Parameters: revoked, updated, the refresh token's id; the access token's id."""
    steps = _rotation_steps.get(alias)
    if steps is None:
        q = lean_sql.quote(alias)
        r, t = get_refresh_token_model()._meta, get_access_token_model()._meta
        steps = _rotation_steps[alias] = (
            f"UPDATE {q(r.db_table)} SET {q(r.get_field('access_token').column)} = NULL, "  # noqa: S608
            f"{q(r.get_field('revoked').column)} = %s, {q(r.get_field('updated').column)} = %s "
            f"WHERE {q(r.pk.column)} = %s AND {q(r.get_field('revoked').column)} IS NULL",
            f"DELETE FROM {q(t.db_table)} WHERE {q(t.pk.column)} = %s",  # noqa: S608
        )
    return steps


def _insert_from(alias: str, model, fields: list, link, source: str, link_value: str) -> str:
    """INSERT INTO the model's table one row per row of `source` (one or none), each value cast to its
    column's type (an INSERT … SELECT does not type bare parameters by their columns as VALUES does),
    the link column set to `link_value`; RETURNING the new id."""
    q, connection = lean_sql.quote(alias), connections[alias]
    names = [q(field.column) for field in fields] + ([q(link.column)] if link is not None else [])
    values = [f"CAST(%s AS {field.cast_db_type(connection)})" for field in fields]
    if link is not None:
        values.append(link_value)
    return (f"INSERT INTO {q(model._meta.db_table)} ({', '.join(names)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM {source} RETURNING {q(model._meta.pk.column)} AS id")


def _rotation_statement(alias: str, *, with_id_token: bool) -> tuple[str, list]:
    """The rotation as one PostgreSQL statement (data-modifying CTEs): the conditional revocation
    returns the old refresh token's id when it happened, and every other write selects from it, so
    they happen only then; the statement returns the new refresh token's id, or no row.
    Parameters: revoked, updated, old refresh id, old access id, then the ID token's (when there is
    one), the access token's and the refresh token's fields in _meta order, the links left out."""
    key = (alias, with_id_token)
    compiled = _rotation_sql.get(key)
    if compiled is None:
        revoke_sql, delete_sql = _steps(alias)
        q = lean_sql.quote(alias)
        it_model, at_model, rt_model = get_id_token_model(), get_access_token_model(), get_refresh_token_model()
        it_fields = [f for f in it_model._meta.concrete_fields if not f.primary_key] if with_id_token else None
        at_link, rt_link = at_model._meta.get_field("id_token"), rt_model._meta.get_field("access_token")
        at_fields = [f for f in at_model._meta.concrete_fields if not f.primary_key and f is not at_link]
        rt_fields = [f for f in rt_model._meta.concrete_fields if not f.primary_key and f is not rt_link]
        # Names from the models, values as parameters.
        parts = [f"r0 AS ({revoke_sql} RETURNING {q(rt_model._meta.pk.column)} AS id)",
                 f"d0 AS ({delete_sql} AND EXISTS (SELECT 1 FROM r0))"]  # noqa: S608
        if with_id_token:
            parts.append(f"i0 AS ({_insert_from(alias, it_model, it_fields, None, 'r0', '')})")
        id_token_link = "(SELECT id FROM i0)" if with_id_token else "NULL"
        parts.append(f"a0 AS ({_insert_from(alias, at_model, at_fields, at_link, 'r0', id_token_link)})")
        refresh_insert = _insert_from(alias, rt_model, rt_fields, rt_link, "r0", "(SELECT id FROM a0)")
        sql = f"WITH {', '.join(parts)} {refresh_insert}"
        compiled = _rotation_sql[key] = (sql, [it_fields, at_fields, rt_fields])
    return compiled
