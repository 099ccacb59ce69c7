"""The bearer token lookup of the lean userinfo answer (endpoints.userinfo), as one statement
written once: the validator's _load_access_token (token by checksum, with its client, the client's
org and its user) without the ORM building the same four-table SQL on every request.

Only the columns userinfo reads are fetched (the others are deferred, as with .only(): read, they
would cost a query of their own, which the statement-count tests would show). On PostgreSQL the
same statement also brings the user's groups in the client's org and the client's roles granted to
them (identity.oidc.claims), so a userinfo request is one round trip to the database.
"""

import functools
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import router
from oauth2_provider.models import get_access_token_model

from applications.models import Application
from identity.oidc import lean_sql
from identity.oidc.claims import groups_and_roles_arrays_sql, groups_and_roles_arrays_supported
from identity.oidc.validator import checksum
from orgs.models import Organization

# What userinfo reads: the token's validity, scopes and links; the client's and org's status (is_usable);
# the claims (identity.oidc.claims, and `sub`).
_TOKEN = ("id", "user_id", "application_id", "expires", "scope", "resource")
_APP = ("id", "org_id", "status")
_ORG = ("id", "slug", "status")
_USER = ("id", "public_id", "full_name", "email", "email_verified", "updated_at", "status")


class LoadedToken(NamedTuple):
    token: object  # the access token, its application (with org) and user attached
    groups_and_roles: tuple[list[str], list[str]] | None  # None: not read with the token (not PostgreSQL)


# alias -> SQL of the lookup.
_lookup_sql: dict[str, str] = {}


def _sql(alias: str) -> str:
    sql = _lookup_sql.get(alias)
    if sql is None:
        q = lean_sql.quote(alias)
        token, app, org, user = (get_access_token_model()._meta, Application._meta, Organization._meta,
                                 get_user_model()._meta)
        user_id = f"t.{q(token.get_field('user').column)}"
        extra = f", {groups_and_roles_arrays_sql(alias, client='a', user_id=user_id)}" \
            if groups_and_roles_arrays_supported(alias) else ""
        # LEFT OUTER joins, as select_related makes them: a token's client and user are nullable.
        sql = _lookup_sql[alias] = (
            f"SELECT {lean_sql.columns(get_access_token_model(), 't', alias, _TOKEN)}, "  # noqa: S608
            f"{lean_sql.columns(Application, 'a', alias, _APP)}, {lean_sql.columns(Organization, 'o', alias, _ORG)}, "
            f"{lean_sql.columns(get_user_model(), 'u', alias, _USER)}{extra} "
            f"FROM {q(token.db_table)} t "
            f"LEFT OUTER JOIN {q(app.db_table)} a "
            f"ON a.{q(app.pk.column)} = t.{q(token.get_field('application').column)} "
            f"LEFT OUTER JOIN {q(org.db_table)} o ON o.{q(org.pk.column)} = a.{q(app.get_field('org').column)} "
            f"LEFT OUTER JOIN {q(user.db_table)} u ON u.{q(user.pk.column)} = t.{q(token.get_field('user').column)} "
            f"WHERE t.{q(token.get_field('token_checksum').column)} = %s ORDER BY t.{q(token.pk.column)} LIMIT 1"
        )
    return sql


@functools.cache
def _offsets() -> tuple[int, int, int, int]:
    """Where the client's, org's and user's columns start in a row, and where the user's end."""
    app_start = lean_sql.width(get_access_token_model(), _TOKEN)
    org_start = app_start + lean_sql.width(Application, _APP)
    user_start = org_start + lean_sql.width(Organization, _ORG)
    return app_start, org_start, user_start, user_start + lean_sql.width(get_user_model(), _USER)


def access_token_load(value: str) -> LoadedToken | None:
    """The access token with this value, its application (with org) and user attached, and (on
    PostgreSQL) its user's groups and roles for its client; None for an unknown token."""
    model, user_model = get_access_token_model(), get_user_model()
    alias = router.db_for_read(model)
    with lean_sql.cursor(alias) as cursor:
        cursor.execute(_sql(alias), [checksum(value)])
        row = cursor.fetchone()
    if row is None:
        return None
    app_start, org_start, user_start, user_end = _offsets()
    token = lean_sql.instance(model, alias, row[:app_start], _TOKEN)
    application = None
    if row[app_start] is not None:
        application = lean_sql.instance(Application, alias, row[app_start:org_start], _APP)
        application._state.fields_cache["org"] = lean_sql.instance(Organization, alias, row[org_start:user_start],
                                                                   _ORG)
    user = lean_sql.instance(user_model, alias, row[user_start:user_end], _USER) \
        if row[user_start] is not None else None
    token._state.fields_cache["application"] = application
    token._state.fields_cache["user"] = user
    groups_and_roles = (list(row[user_end]), list(row[user_end + 1])) if len(row) > user_end else None
    return LoadedToken(token, groups_and_roles)
