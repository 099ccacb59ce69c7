"""A lean answer to the common refresh-token request; everything else is DOT's.

A client authenticating as DOT would (confidential: HTTP Basic or a body secret; public: its
client_id alone) presenting a live refresh token of its own — unrevoked, with its access token,
within its lifetime, for a user the access rule still admits, without resource indicators — gets
what DOT 3.4.1 and GatehouseValidator would give it: a new access token and refresh token in the
same family, the old refresh token revoked and its access token deleted (so the grace period and
family revocation work on it as on any rotated token), and an ID token with the same claims signed
with the active key. In one transaction: the refresh token, its access token and its user are read
and locked in one statement, the writes are hand-written SQL built once.

Anything else returns None before anything is written (the transaction is rolled back) and the
caller hands the request to DOT's TokenView unchanged: unknown, revoked (grace period, reuse),
expired, foreign or orphaned tokens, a refused user (DOT revokes the family and audits it), a wider
scope, an Origin header (oauthlib's CORS), unusual parameters, non-stock settings.
identity/tests/test_oidc_lean_refresh.py sends each case to both paths and compares.
"""

import base64
import hashlib
import json
import time
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from django.http import HttpResponse
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_id_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.oauth2_validators import GRANT_TYPE_MAPPING
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OauthlibRequest
from oauthlib.common import generate_token

from applications.models import Application, AuthorizationRecord
from applications.oauth_policy import access_token_lifetime
from identity.oidc import lean_sql
from identity.oidc.access import application_access
from identity.oidc.lean_token import (
    client_is_plain,
    credentials,
    form_params,
    load_client,
    secret_matches,
    settings_are_stock,
    token_headers,
)
from identity.oidc.validator import GatehouseValidator, checksum

_PARAMS = frozenset({"grant_type", "refresh_token", "scope", "client_id", "client_secret"})

# alias -> SQL of the refresh token lookup.
_lookup_sql: dict[str, str] = {}


class _HandOver(Exception):
    """Leave this request to DOT: roll back whatever the lean path has done in its transaction."""


def refresh(request) -> HttpResponse | None:
    """The token response for a plain refresh request, or None for DOT's view."""
    params = form_params(request, _PARAMS)
    if (params is None or params.get("grant_type") != "refresh_token" or not params.get("refresh_token")
            or "HTTP_ORIGIN" in request.META or not _settings_allow()):
        return None
    client = _authenticated_client(request, params)
    if client is None:
        return None
    alias = router.db_for_write(get_refresh_token_model())
    try:
        with transaction.atomic(using=alias):
            return _rotate(request, params, client, alias)
    except _HandOver:
        return None


def _settings_allow() -> bool:
    return (settings_are_stock() and oauth2_settings.REFRESH_TOKEN_GENERATOR is None
            and oauth2_settings.ROTATE_REFRESH_TOKEN is True and oauth2_settings.OIDC_ENABLED
            and not oauth2_settings.COMPLIANT_BCP_RFC9700_TOKEN_STORAGE)


def _authenticated_client(request, params: dict) -> Application | None:
    """DOT's client authentication for this grant, success only: a confidential client by its
    secret (Basic or body), a public one by its client_id alone."""
    found = credentials(request, params)
    if found is not None:
        client = load_client(found[0])
        if client is None or not client.is_confidential or not secret_matches(client, found[1]):
            return None
    elif "HTTP_AUTHORIZATION" not in request.META and params.get("client_id") and "client_secret" not in params:
        client = load_client(params["client_id"])
        if client is None or client.client_type != AbstractApplication.CLIENT_PUBLIC:
            return None
    else:
        return None
    if not client_is_plain(client) or not client.allows_grant_type(*GRANT_TYPE_MAPPING["refresh_token"]):
        return None
    return client


def _lookup(alias: str) -> str:
    """The live refresh token by checksum, with its access token, its user, and whether an access
    token was already minted from it; the refresh token row locked (DOT locks it to rotate)."""
    sql = _lookup_sql.get(alias)
    if sql is None:
        connection = connections[alias]
        q = lean_sql.quote(alias)
        rt_model, at_model, user_model = get_refresh_token_model(), get_access_token_model(), get_user_model()
        rt, at, user = rt_model._meta, at_model._meta, user_model._meta
        lock = ""
        if connection.features.has_select_for_update:
            lock = " FOR UPDATE OF r" if connection.features.has_select_for_update_of else " FOR UPDATE"
        sql = _lookup_sql[alias] = (
            f"SELECT {lean_sql.columns(rt_model, 'r', alias)}, {lean_sql.columns(at_model, 't', alias)}, "  # noqa: S608
            f"{lean_sql.columns(user_model, 'u', alias)}, "
            f"(SELECT s.{q(at.pk.column)} FROM {q(at.db_table)} s "
            f"WHERE s.{q(at.get_field('source_refresh_token').column)} = r.{q(rt.pk.column)}) "
            f"FROM {q(rt.db_table)} r "
            f"LEFT OUTER JOIN {q(at.db_table)} t ON t.{q(at.pk.column)} = r.{q(rt.get_field('access_token').column)} "
            f"INNER JOIN {q(user.db_table)} u ON u.{q(user.pk.column)} = r.{q(rt.get_field('user').column)} "
            f"WHERE r.{q(rt.get_field('token_checksum').column)} = %s AND r.{q(rt.get_field('revoked').column)} "
            f"IS NULL{lock}"
        )
    return sql


def _load(alias: str, refresh_token: str):
    """(refresh token, its access token or None, its user, id of an access token minted from it)."""
    rt_model, at_model, user_model = get_refresh_token_model(), get_access_token_model(), get_user_model()
    with connections[alias].cursor() as cursor:
        cursor.execute(_lookup(alias), [checksum(refresh_token)])
        row = cursor.fetchone()
    if row is None:
        raise _HandOver
    n_rt, n_at = len(rt_model._meta.concrete_fields), len(at_model._meta.concrete_fields)
    rt = lean_sql.instance(rt_model, alias, row[:n_rt])
    at_values = row[n_rt:n_rt + n_at]
    at = lean_sql.instance(at_model, alias, at_values) if at_values[0] is not None else None
    user = lean_sql.instance(user_model, alias, row[n_rt + n_at:-1])
    return rt, at, user, row[-1]


def _expired(rt, at, client: Application) -> bool:
    """The validator's rule (_validate_live_refresh_token): the application's own
    refresh_token_lifetime counted from the refresh token's issue when set, else DOT's
    REFRESH_TOKEN_EXPIRE_SECONDS after the access token's expiry."""
    now = timezone.now()
    if client.refresh_token_lifetime:
        return rt.created + timedelta(seconds=client.refresh_token_lifetime) <= now
    delta = refresh_token_expire_timedelta()
    return bool(delta) and at.expires + delta <= now


def _rotate(request, params: dict, client: Application, alias: str) -> HttpResponse:
    rt, at, user, successor_id = _load(alias, params["refresh_token"])
    if (at is None or successor_id is not None or rt.application_id != client.pk or rt.resource or at.resource
            or _expired(rt, at, client) or not application_access(user=user, application=client).allowed):
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
    token = {"access_token": generate_token(), "expires_in": expires_in, "token_type": "Bearer",
             "scope": " ".join(scopes), "refresh_token": generate_token()}
    id_token_row = None
    if "openid" in scopes:
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


_FAMILY_STAND_IN = uuid.UUID("00000000-0000-4000-8000-00000000d0d0")


def _record_queryset(token_family):
    """validator._authorization_record's lookup for a refresh token, as rows of every field."""
    queryset = AuthorizationRecord.objects.filter(token_family=token_family)
    queryset = queryset if queryset.ordered else queryset.order_by("pk")
    return queryset.values_list(*[field.attname for field in AuthorizationRecord._meta.concrete_fields])[:1]


class _Validator(GatehouseValidator):
    """The validator, with the refresh token family's authorization record read by a statement
    compiled once (lean_sql.fetch) instead of built by the ORM on every refresh."""

    def _authorization_record(self, request):
        refresh = getattr(request, "refresh_token_instance", None)
        if request.grant_type != "refresh_token" or refresh is None or not refresh.token_family:
            return super()._authorization_record(request)
        rows = lean_sql.fetch("refresh.record", _record_queryset, (_FAMILY_STAND_IN,), (refresh.token_family,))
        alias = router.db_for_read(AuthorizationRecord)
        return lean_sql.instance(AuthorizationRecord, alias, rows[0]) if rows else None


def _id_token(token: dict, oauth_request) -> tuple[str, dict]:
    """oauthlib's add_id_token and DOT's finalize_id_token (3.4.1): the signed JWT, and the values
    of its IDToken row (stored by _store)."""
    digest = hashlib.sha256(token["access_token"].encode()).digest()
    id_token = {"aud": oauth_request.client_id, "iat": int(time.time()),
                "at_hash": base64.urlsafe_b64encode(digest[:len(digest) // 2]).decode().rstrip("=")}
    claims, expiration_time = _Validator().get_id_token_dictionary(token, None, oauth_request)
    id_token.update(**claims)
    client = oauth_request.client
    header = {"typ": "JWT", "alg": client.algorithm}
    if client.algorithm == AbstractApplication.RS256_ALGORITHM:
        header["kid"] = client.jwk_key.thumbprint()
    jwt_token = jwt.JWT(header=json.dumps(header, default=str), claims=json.dumps(id_token, default=str))
    jwt_token.make_signed_token(client.jwk_key)
    now = timezone.now()
    row = {"user_id": oauth_request.user.pk, "jti": id_token["jti"], "application_id": client.pk,
           "expires": expiration_time, "scope": oauth_request.scope or " ".join(oauth_request.scopes),
           "created": now, "updated": now}
    return jwt_token.serialize(), row


# alias -> the rotation after the ID token as one statement (PostgreSQL); alias -> its first two
# statements elsewhere.
_rotation_sql: dict[str, tuple[str, list]] = {}
_rotation_steps: dict[str, tuple[str, str]] = {}


def _store(rt, at, token: dict, client: Application, user, id_token_row: dict | None, alias: str) -> None:
    """DOT's rotation: the old refresh token revoked (and unlinked), its access token deleted, the
    ID token stored, a new access token from the old refresh token, and a new refresh token in its
    family. On PostgreSQL the ID token and then one statement (data-modifying CTEs) for the rest,
    elsewhere one statement per row."""
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
    if id_token_row is not None:
        access["id_token_id"] = lean_sql.insert(get_id_token_model(), alias, id_token_row, returning_pk=True)
    if connection.vendor == "postgresql":
        sql, fields = _rotation_statement(alias)
        params = [stamp, stamp, rt.pk, at.pk]
        for model_fields, values in zip(fields, (access, refresh), strict=True):
            params += [field.get_db_prep_save(values.get(field.attname), connection) for field in model_fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    revoke_sql, delete_sql = _steps(alias)
    with connection.cursor() as cursor:
        cursor.execute(revoke_sql, [stamp, stamp, rt.pk])
        cursor.execute(delete_sql, [at.pk])
    refresh["access_token_id"] = lean_sql.insert(at_model, alias, access, returning_pk=True)
    lean_sql.insert(rt_model, alias, refresh)


def _steps(alias: str) -> tuple[str, str]:
    steps = _rotation_steps.get(alias)
    if steps is None:
        q = lean_sql.quote(alias)
        r, t = get_refresh_token_model()._meta, get_access_token_model()._meta
        steps = _rotation_steps[alias] = (
            f"UPDATE {q(r.db_table)} SET {q(r.get_field('access_token').column)} = NULL, "  # noqa: S608
            f"{q(r.get_field('revoked').column)} = %s, {q(r.get_field('updated').column)} = %s "
            f"WHERE {q(r.pk.column)} = %s",
            f"DELETE FROM {q(t.db_table)} WHERE {q(t.pk.column)} = %s",  # noqa: S608
        )
    return steps


def _rotation_statement(alias: str) -> tuple[str, list]:
    """The rotation after the ID token as one PostgreSQL statement: the update and the delete, the
    new access token in a CTE returning its id, the new refresh token linked to it by a scalar
    subquery in its VALUES (so every other value is typed by its column as in a plain INSERT).
    Parameters: revoked, updated, old refresh id, old access id, then the access token's and the
    refresh token's fields in _meta order (the link left out)."""
    compiled = _rotation_sql.get(alias)
    if compiled is None:
        q = lean_sql.quote(alias)
        revoke_sql, delete_sql = _steps(alias)
        at_model, rt_model = get_access_token_model(), get_refresh_token_model()
        at_fields = [f for f in at_model._meta.concrete_fields if not f.primary_key]
        link = rt_model._meta.get_field("access_token")
        rt_fields = [f for f in rt_model._meta.concrete_fields if not f.primary_key and f is not link]
        at_insert = (f"INSERT INTO {q(at_model._meta.db_table)} ({', '.join(q(f.column) for f in at_fields)}) "  # noqa: S608
                     f"VALUES ({', '.join(['%s'] * len(at_fields))}) RETURNING {q(at_model._meta.pk.column)} AS id")
        rt_insert = (f"INSERT INTO {q(rt_model._meta.db_table)} "  # noqa: S608
                     f"({', '.join(q(f.column) for f in rt_fields)}, {q(link.column)}) "
                     f"VALUES ({', '.join(['%s'] * len(rt_fields))}, (SELECT id FROM a0))")
        compiled = _rotation_sql[alias] = (
            f"WITH r0 AS ({revoke_sql}), d0 AS ({delete_sql}), a0 AS ({at_insert}) {rt_insert}",
            [at_fields, rt_fields],
        )
    return compiled
