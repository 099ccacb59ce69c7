"""Reading organizations and memberships."""

from django.db.models import QuerySet
from django.http import Http404

from config.compiled_queries import CompiledQuery
from orgs.models import Membership, Organization


def organization_list() -> QuerySet[Organization]:
    """Every organization: the platform operator's view only."""
    return Organization.objects.all().order_by("name")


def organization_get(*, slug: str) -> Organization:
    try:
        return Organization.objects.get(slug=slug)
    except Organization.DoesNotExist:
        raise Http404("No such organization.") from None


def membership_get(*, org: Organization, pk) -> Membership:
    """A membership of `org`; another org's membership is a 404, never a 403."""
    try:
        return Membership.objects.for_org(org).select_related("user").get(pk=pk)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such membership.") from None


def membership_list(*, org: Organization, status: str | None = None) -> QuerySet[Membership]:
    memberships = Membership.objects.for_org(org).select_related("user")
    if status:
        memberships = memberships.filter(status=status)
    return memberships.order_by("user__email")


_REMEMBERED = "_gatehouse_memberships"
# Read at every sign-in and authorization: its SQL is built once (config/compiled_queries.py).
_MEMBERSHIPS_OF_USER = CompiledQuery(
    lambda user_id: Membership.objects.filter(user_id=user_id).select_related("org").order_by("org_id"), -1)


def user_memberships(*, user) -> list[Membership]:
    """Every membership of `user` with its org, by org id: one query (a person belongs to a few orgs), unless
    memberships_remember() kept them on this user object."""
    remembered = getattr(user, _REMEMBERED, None)
    if remembered is not None:
        return remembered
    return _MEMBERSHIPS_OF_USER(user.pk)



def memberships_remember(*, user) -> list[Membership]:
    """Read `user`'s memberships once for the rest of this request. The sign-in flow asks: its password,
    MFA, session and audit steps each read them, and none of them changes a membership."""
    memberships = user_memberships(user=user)
    setattr(user, _REMEMBERED, memberships)
    return memberships


def membership_in_force(membership: Membership) -> bool:
    """An active membership of an active org."""
    return (membership.status == Membership.Status.ACTIVE
            and membership.org.status == Organization.Status.ACTIVE)


def member_org_ids(*, user) -> list[int]:
    """The orgs whose business an event about `user`'s account is: those where the account is an active
    member of an active org (audit/fanout.py copies the event into each). Invited or suspended
    memberships, and suspended orgs, see nothing: they must not learn what the account does elsewhere."""
    return [m.org_id for m in user_memberships(user=user) if membership_in_force(m)]
