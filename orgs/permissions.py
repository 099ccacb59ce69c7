"""The one map from console role to permissions. Every console view and API endpoint asks it."""

from typing import NamedTuple

from django.db.models import QuerySet

from orgs.models import Membership, Organization

# Permission names are "<area>.<verb>". Views declare one; roles grant sets of them.
VIEW_PERMISSIONS = frozenset(
    {
        "org.view",
        "members.view",
        "groups.view",
        "applications.view",
        "apikeys.view",
        "audit.view",
        "email.view",
        "webhooks.view",
    }
)
MANAGE_PERMISSIONS = frozenset(
    {
        "members.manage",
        "groups.manage",
        "applications.manage",
        "apikeys.manage",
        "settings.manage",
        "email.manage",
        "webhooks.manage",
    }
)
OWNER_ONLY_PERMISSIONS = frozenset({"owners.manage", "org.delete"})

ALL_PERMISSIONS = VIEW_PERMISSIONS | MANAGE_PERMISSIONS | OWNER_ONLY_PERMISSIONS

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Membership.Role.OWNER: ALL_PERMISSIONS,
    Membership.Role.ADMIN: VIEW_PERMISSIONS | MANAGE_PERMISSIONS,
    Membership.Role.AUDITOR: VIEW_PERMISSIONS,
    Membership.Role.MEMBER: frozenset(),
}

CONSOLE_ROLES = frozenset(role for role, perms in ROLE_PERMISSIONS.items() if perms)


class ConsoleOrgSeen(NamedTuple):
    """The org a console view resolved from its address, and what the signed-in user may do there."""

    slug: str
    org: Organization | None
    permissions: frozenset[str]


def permissions_for(*, user, org: Organization) -> frozenset[str]:
    """What `user` may do in `org`'s console.

    A platform operator may do everything in every org. Anyone else needs an active membership
    in an active org; a suspended org's console is open to operators only.
    """
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return ALL_PERMISSIONS
    if not org.is_active:
        return frozenset()
    membership = Membership.objects.filter(
        user=user, org=org, status=Membership.Status.ACTIVE
    ).only("role").first()
    return ROLE_PERMISSIONS.get(membership.role, frozenset()) if membership else frozenset()


def membership_opens_console(membership: Membership) -> bool:
    """console_memberships()'s rule for one membership already read (with its org)."""
    return (membership.status == Membership.Status.ACTIVE and membership.role in CONSOLE_ROLES
            and membership.org.status == Organization.Status.ACTIVE)


def console_memberships(user) -> QuerySet[Membership]:
    """The memberships through which `user` may open an org console (for the org switcher)."""
    return (
        Membership.objects.filter(
            user=user,
            status=Membership.Status.ACTIVE,
            role__in=CONSOLE_ROLES,
            org__status=Organization.Status.ACTIVE,
        )
        .select_related("org")
        .order_by("org__name")
    )
