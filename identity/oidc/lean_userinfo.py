"""The bearer token lookup of the lean userinfo answer (endpoints.userinfo), as one statement
written once: the validator's _load_access_token (token by checksum, with its client, the client's
org and its user) without the ORM building the same four-table SQL on every request."""

from django.contrib.auth import get_user_model
from django.db import connections, router
from oauth2_provider.models import get_access_token_model

from applications.models import Application
from identity.oidc import lean_sql
from identity.oidc.validator import checksum
from orgs.models import Organization

# alias -> SQL of the lookup.
_lookup_sql: dict[str, str] = {}


def _sql(alias: str) -> str:
    sql = _lookup_sql.get(alias)
    if sql is None:
        q = lean_sql.quote(alias)
        token, app, org, user = (get_access_token_model()._meta, Application._meta, Organization._meta,
                                 get_user_model()._meta)
        # LEFT OUTER joins, as select_related makes them: a token's client and user are nullable.
        sql = _lookup_sql[alias] = (
            f"SELECT {lean_sql.columns(get_access_token_model(), 't', alias)}, "  # noqa: S608
            f"{lean_sql.columns(Application, 'a', alias)}, {lean_sql.columns(Organization, 'o', alias)}, "
            f"{lean_sql.columns(get_user_model(), 'u', alias)} "
            f"FROM {q(token.db_table)} t "
            f"LEFT OUTER JOIN {q(app.db_table)} a "
            f"ON a.{q(app.pk.column)} = t.{q(token.get_field('application').column)} "
            f"LEFT OUTER JOIN {q(org.db_table)} o ON o.{q(org.pk.column)} = a.{q(app.get_field('org').column)} "
            f"LEFT OUTER JOIN {q(user.db_table)} u ON u.{q(user.pk.column)} = t.{q(token.get_field('user').column)} "
            f"WHERE t.{q(token.get_field('token_checksum').column)} = %s ORDER BY t.{q(token.pk.column)} LIMIT 1"
        )
    return sql


def access_token_load(value: str):
    """The access token with this value, its application (with org) and user loaded, or None."""
    model, user_model = get_access_token_model(), get_user_model()
    alias = router.db_for_read(model)
    with connections[alias].cursor() as cursor:
        cursor.execute(_sql(alias), [checksum(value)])
        row = cursor.fetchone()
    if row is None:
        return None
    widths = [len(m._meta.concrete_fields) for m in (model, Application, Organization)]
    app_start, org_start = widths[0], widths[0] + widths[1]
    user_start = org_start + widths[2]
    token = lean_sql.instance(model, alias, row[:app_start])
    application = None
    if row[app_start] is not None:
        application = lean_sql.instance(Application, alias, row[app_start:org_start])
        application._state.fields_cache["org"] = lean_sql.instance(Organization, alias, row[org_start:user_start])
    user = lean_sql.instance(user_model, alias, row[user_start:]) if row[user_start] is not None else None
    token._state.fields_cache["application"] = application
    token._state.fields_cache["user"] = user
    return token
