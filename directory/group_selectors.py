"""Reading groups for the console: the list with member counts, a group's members, and what deleting it touches."""

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Lower

from applications.models import Application, AppRole
from directory.models import Group, GroupMembership, User
from orgs.models import Membership


def group_list_with_counts(*, org) -> QuerySet[Group]:
    """The org's groups by name, each with `member_count` — one query however many groups there are."""
    return Group.objects.for_org(org).annotate(member_count=Count("memberships")).order_by("name", "pk")


def group_memberships(*, group: Group) -> QuerySet[GroupMembership]:
    """Who is in `group`, by email, with the user loaded in the same query, and `member_status`: their
    membership's status in the group's org (a page shows the account's name only for an active one)."""
    status = Membership.objects.filter(org_id=group.org_id, user_id=OuterRef("user_id")).values("status")[:1]
    return (GroupMembership.objects.filter(group=group).select_related("user")
            .annotate(member_status=Subquery(status)).order_by("user__email"))


def org_members_by_email(*, org, emails: list[str]) -> dict[str, User]:
    """Members of `org` (any membership status) among `emails`, keyed by lower-cased email.

    Someone with an account but no membership in `org` is simply absent, exactly like an unknown
    address, so the answer reveals nothing about other organizations' people.
    """
    keys = {e.lower() for e in emails}
    users = (User.objects.annotate(email_lower=Lower("email"))
             .filter(email_lower__in=keys, memberships__org=org).distinct())
    return {u.email_lower: u for u in users}


@dataclass
class GroupDeleteImpact:
    members: int
    # Applications of the org limited to this group (alone or with others).
    limited_apps: list = field(default_factory=list)
    # Those for which it is the only allowed group: deleting it would open them to everyone.
    sole_group_apps: list = field(default_factory=list)
    app_roles: list = field(default_factory=list)


def group_delete_impact(*, group: Group) -> GroupDeleteImpact:
    """What deleting `group` changes: members who leave it, apps limited to it, roles it grants.

    Only the group's own org's applications are considered (and shown).
    """

    apps = list(
        Application.objects.for_org(group.org_id)
        .filter(pk__in=group.applications.values("pk"))
        .annotate(allowed_group_count=Count("allowed_groups"))
        .order_by("name", "pk")
    )
    roles = list(
        AppRole.objects.filter(application__org_id=group.org_id, groups=group)
        .select_related("application").order_by("application__name", "key")
    )
    return GroupDeleteImpact(
        members=group.memberships.count(),
        limited_apps=apps,
        sole_group_apps=[a for a in apps if a.allowed_group_count == 1],
        app_roles=roles,
    )


def groups_of_users_in_org(*, org, user_ids) -> dict[int, list[Group]]:
    """Each of `user_ids`' groups in `org`, by name — one query for a whole page of users. Other orgs'
    groups never appear; a user in none maps to nothing (read it with `.get(pk, [])`)."""
    found: dict[int, list[Group]] = {}
    rows = (GroupMembership.objects.filter(group__org=org, user_id__in=list(user_ids)).select_related("group")
            .order_by("group__name", "group_id"))
    for row in rows:
        found.setdefault(row.user_id, []).append(row.group)
    return found
