"""Who may sign in to an application: one rule, used at /authorize and again at every refresh."""

from dataclasses import dataclass
from typing import NamedTuple

from django.db import connections
from django.db.models import Exists
from django.utils.translation import gettext as _

from applications.models import Application
from directory.models import GroupMembership
from identity.oidc import lean_sql
from orgs.models import Membership


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str = ""  # a closed vocabulary for audit metadata
    message: str = ""  # what the person is told


ALLOWED = AccessDecision(True)

# Stand-ins for user, org and application ids while the membership query is compiled (no real row
# has a negative id): building it (two EXISTS subqueries) cost the ORM several times running it.
_STAND_INS = (-7101, -7102, -7103)


class MembershipRow(NamedTuple):
    """What the access rule reads of the database: the user's membership status in the app's org
    (None: not a member), whether the app is limited to groups, and whether the user is in one."""

    status: str | None
    app_limited: bool
    in_allowed_group: bool


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
    """An active user with an active membership in the app's org, the app and org active, and — when
    the app is limited to groups — a member of one of them."""
    refused = _status_refusal(user, application)
    if refused is not None:
        return refused  # without reading the membership
    # One query: the membership, whether the app is limited to groups, and whether the user is in one.
    org = application.org
    rows = lean_sql.fetch("access.membership", _membership_queryset, _STAND_INS, (user.pk, org.pk, application.pk))
    membership = MembershipRow(*rows[0]) if rows else MembershipRow(None, False, False)
    return _membership_refusal(application, membership) or ALLOWED


def _status_refusal(user, application: Application) -> AccessDecision | None:
    org = application.org
    if not user.is_active:
        return AccessDecision(False, "user_disabled", _("Your account is disabled."))
    if application.status != Application.Status.ACTIVE:
        return AccessDecision(False, "application_disabled",
                              _("%(app)s is disabled. Contact your administrator.") % {"app": application.name})
    if not org.is_active:
        return AccessDecision(False, "org_suspended",
                              _("%(org)s is suspended. Contact your administrator.") % {"org": org.name})
    return None


def access_decision(*, user, application: Application, membership: MembershipRow) -> AccessDecision:
    """application_access's rule for a membership row already read (lean_refresh reads it with the
    refresh token)."""
    return _status_refusal(user, application) or _membership_refusal(application, membership) or ALLOWED


def _membership_refusal(application: Application, membership: MembershipRow) -> AccessDecision | None:
    org = application.org
    if membership.status is None:
        return AccessDecision(False, "not_a_member",
                              _("Your account is not a member of %(org)s, which owns %(app)s.")
                              % {"org": org.name, "app": application.name})
    if membership.status != Membership.Status.ACTIVE:
        label = str(dict(Membership.Status.choices).get(membership.status, membership.status))  # get_status_display
        return AccessDecision(False, f"membership_{membership.status}",
                              _("Your membership of %(org)s is %(status)s.")
                              % {"org": org.name, "status": label.lower()})
    if membership.app_limited and not membership.in_allowed_group:
        return AccessDecision(False, "not_in_allowed_groups",
                              _("%(app)s is limited to some groups of %(org)s, and you are in none of them.")
                              % {"app": application.name, "org": org.name})
    return None
