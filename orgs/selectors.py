"""Reading organizations and memberships."""

from django.db.models import QuerySet
from django.http import Http404

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


def member_org_ids(*, user) -> list[int]:
    """The orgs whose business an event about `user`'s account is: those where the account is an active
    member of an active org (audit/fanout.py copies the event into each). Invited or suspended
    memberships, and suspended orgs, see nothing: they must not learn what the account does elsewhere."""
    return list(Membership.objects.filter(user=user, status=Membership.Status.ACTIVE,
                                          org__status=Organization.Status.ACTIVE)
                .order_by("org_id").values_list("org_id", flat=True))
