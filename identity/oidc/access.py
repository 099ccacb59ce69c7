"""What the access rule (applications.token_policy) reads: the user's membership of the app's org and
the app's group limits, as one query (application_access) or as columns of a lean path's statement."""

from django.db import connections
from django.db.models import Exists

from applications.models import Application
from applications.token_policy import AccessDecision, MembershipRow, access_decision, status_refusal
from config.compiled_queries import CompiledQuery
from directory.models import GroupMembership
from orgs.models import Membership

# Stand-ins for user, org and application ids while the membership query is compiled (no real row
# has a negative id): building it (two EXISTS subqueries) cost the ORM several times running it.
_STAND_INS = (-7101, -7102, -7103)


def _membership_queryset(user_id: int, org_id: int, application_id: int):
    """The user's membership of the org (as .first() would pick it), with whether the app is
    limited to groups and whether the user is in one of them."""
    limits = Application.allowed_groups.through.objects.filter(application_id=application_id)
    queryset = (
        Membership.objects.filter(user_id=user_id, org_id=org_id)
        .annotate(app_limited=Exists(limits),
                  in_allowed_group=Exists(GroupMembership.objects.filter(user_id=user_id,
                                                                         group__in=limits.values("group_id"))))
    )
    queryset = queryset if queryset.ordered else queryset.order_by("pk")
    return queryset.values_list("status", "app_limited", "in_allowed_group")[:1]


# Read on every authorization and token request for a person: its SQL is built once (config/compiled_queries.py).
_MEMBERSHIP_ACCESS = CompiledQuery(_membership_queryset, *_STAND_INS)


def membership_columns_sql(alias: str, *, client: str, user_id: str) -> str:
    """_membership_queryset's three values as columns of a statement that has the client's row as
    `client` and the user's id as the SQL `user_id` (lean_refresh reads them with the refresh token):
    the membership's status (NULL: none), whether the app is limited to groups, whether the user is
    in one of them. Its own table aliases start with `a` and a second letter, so they never hide the
    caller's."""
    q = connections[alias].ops.quote_name
    membership, limits, grouped = Membership._meta, Application.allowed_groups.through._meta, GroupMembership._meta
    app = Application._meta
    limit_app = q(Application.allowed_groups.field.m2m_column_name())
    limit_group = q(Application.allowed_groups.field.m2m_reverse_name())
    client_id = f"{client}.{q(app.pk.column)}"
    return (
        f"(SELECT am.{q(membership.get_field('status').column)} FROM {q(membership.db_table)} am "  # noqa: S608
        f"WHERE am.{q(membership.get_field('user').column)} = {user_id} "
        f"AND am.{q(membership.get_field('org').column)} = {client}.{q(app.get_field('org').column)} "
        f"ORDER BY am.{q(membership.pk.column)} LIMIT 1), "
        f"EXISTS(SELECT 1 FROM {q(limits.db_table)} al WHERE al.{limit_app} = {client_id}), "
        f"EXISTS(SELECT 1 FROM {q(grouped.db_table)} agm WHERE agm.{q(grouped.get_field('user').column)} = {user_id} "
        f"AND agm.{q(grouped.get_field('group').column)} IN "
        f"(SELECT al.{limit_group} FROM {q(limits.db_table)} al WHERE al.{limit_app} = {client_id}))"
    )


def application_access(*, user, application: Application) -> AccessDecision:
    """The access rule (applications.token_policy.access_decision) for a user and an application, with
    the membership read here: one query, and none when the user, app or org already refuses."""
    refused = status_refusal(user=user, application=application)
    if refused is not None:
        return refused
    org = application.org
    rows = _MEMBERSHIP_ACCESS(user.pk, org.pk, application.pk)
    membership = MembershipRow(*rows[0]) if rows else MembershipRow(None, False, False)
    return access_decision(user=user, application=application, membership=membership)
