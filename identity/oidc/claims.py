"""The claims Gatehouse puts in ID tokens and userinfo, beyond DOT's defaults."""

from django.db import connections
from django.db.models import F, Value

from applications.models import AppRole
from config.compiled_queries import CompiledQuery
from directory.models import Group, GroupMembership

# Stand-ins for the three ids while the query is compiled (no real row has a negative id).
_ORG, _USER, _APP = -7001, -7002, -7003


def _groups_and_roles_queryset(org_id, user_id, application_id):
    """The user's group slugs in the org (kind 0) and the application's role keys granted to those
    groups (kind 1), in one UNION, ordered by kind and then by the database as before (slug, key)."""
    user_groups = Group.objects.for_org(org_id).filter(memberships__user_id=user_id)
    groups = user_groups.annotate(kind=Value(0), value=F("slug")).values_list("kind", "value").order_by()
    roles = (
        AppRole.objects.filter(application_id=application_id, groups__in=user_groups.values("pk"))
        .annotate(kind=Value(1), value=F("key")).values_list("kind", "value").order_by()
    )
    return groups.union(roles).order_by("kind", "value")


def groups_and_roles_arrays_supported(alias: str) -> bool:
    return connections[alias].vendor == "postgresql"


def groups_and_roles_arrays_sql(alias: str, *, client: str, user_id: str) -> str:
    """The same groups and roles as _groups_and_roles_queryset, as two PostgreSQL array columns for a
    statement that has the client's row as `client` and the user's id as the SQL `user_id`: the
    slugs of the user's groups in the client's org, and the keys of the client's roles granted to
    those groups, each distinct and sorted. lean_userinfo and lean_refresh read them with the token.
    Its own table aliases start with `c`, so they never hide the caller's."""
    q = connections[alias].ops.quote_name
    group, membership, role = Group._meta, GroupMembership._meta, AppRole._meta
    app = role.get_field("application").related_model._meta
    grants = role.get_field("groups")
    through = grants.remote_field.through._meta
    g_id, g_org, g_slug = q(group.pk.column), q(group.get_field("org").column), q(group.get_field("slug").column)
    m_group, m_user = q(membership.get_field("group").column), q(membership.get_field("user").column)
    client_org, client_id, key = f"{client}.{q(app.get_field('org').column)}", f"{client}.{q(app.pk.column)}", \
        q(role.get_field("key").column)
    return (
        f"ARRAY(SELECT DISTINCT cg.{g_slug} FROM {q(group.db_table)} cg "  # noqa: S608 - names from the models
        f"INNER JOIN {q(membership.db_table)} cm ON cm.{m_group} = cg.{g_id} "
        f"WHERE cg.{g_org} = {client_org} AND cm.{m_user} = {user_id} ORDER BY cg.{g_slug}), "
        f"ARRAY(SELECT DISTINCT cr.{key} FROM {q(role.db_table)} cr "
        f"INNER JOIN {q(through.db_table)} crg ON crg.{q(grants.m2m_column_name())} = cr.{q(role.pk.column)} "
        f"INNER JOIN {q(group.db_table)} cg ON cg.{g_id} = crg.{q(grants.m2m_reverse_name())} "
        f"INNER JOIN {q(membership.db_table)} cm ON cm.{m_group} = cg.{g_id} "
        f"WHERE cr.{q(role.get_field('application').column)} = {client_id} AND cg.{g_org} = {client_org} "
        f"AND cm.{m_user} = {user_id} ORDER BY cr.{key})"
    )


# Read for every ID token and userinfo answer with groups or roles: building this UNION costs the ORM several
# times what running it does, so its SQL is built once (config/compiled_queries.py).
_GROUPS_AND_ROLES = CompiledQuery(_groups_and_roles_queryset, _ORG, _USER, _APP)


def _groups_and_roles_rows(org_id: int, user_id: int, application_id: int) -> list[tuple[int, str]]:
    return _GROUPS_AND_ROLES(org_id, user_id, application_id)


def _groups_and_roles(request) -> tuple[list[str], list[str]]:
    """Memoised on the oauthlib request: the groups and roles claims both read it."""
    if not hasattr(request, "_gatehouse_groups_roles"):
        slugs, keys = [], []
        for kind, value in _groups_and_roles_rows(request.client.org_id, request.user.pk, request.client.pk):
            (keys if kind else slugs).append(value)
        request._gatehouse_groups_roles = (slugs, keys)
    return request._gatehouse_groups_roles


def groups_and_roles_preload(request, groups: list[str], roles: list[str]) -> None:
    """Groups and roles read with the token (lean_userinfo, one statement on PostgreSQL), in the order
    and with the values _groups_and_roles_rows gives: the claims then run no query of their own."""
    request._gatehouse_groups_roles = (groups, roles)


def _split_name(full_name: str) -> tuple[str, str]:
    given, _, family = full_name.strip().partition(" ")
    return given, family.strip()


def claim_name(request) -> str:
    return request.user.full_name


def claim_given_name(request) -> str:
    return _split_name(request.user.full_name)[0]


def claim_family_name(request) -> str:
    return _split_name(request.user.full_name)[1]


def claim_updated_at(request) -> int:
    return int(request.user.updated_at.timestamp())


def claim_email(request) -> str:
    return request.user.email


def claim_email_verified(request) -> bool:
    return request.user.email_verified


def claim_org(request) -> dict:
    org = request.client.org
    return {"id": str(org.pk), "slug": org.slug}


def claim_groups(request) -> list[str]:
    return list(_groups_and_roles(request)[0])


def claim_roles(request) -> list[str]:
    return list(_groups_and_roles(request)[1])


# claim → the scope that releases it ("openid": always, with any OIDC request).
CLAIM_SCOPES = {
    "name": "profile",
    "given_name": "profile",
    "family_name": "profile",
    "updated_at": "profile",
    "email": "email",
    "email_verified": "email",
    "org": "openid",
    "groups": "openid",
    "roles": "openid",
}

CLAIM_FUNCTIONS = {
    "name": claim_name,
    "given_name": claim_given_name,
    "family_name": claim_family_name,
    "updated_at": claim_updated_at,
    "email": claim_email,
    "email_verified": claim_email_verified,
    "org": claim_org,
    "groups": claim_groups,
    "roles": claim_roles,
}
