"""Reading users and groups."""

from django.db.models import QuerySet
from django.http import Http404

from directory.models import Group, User


def user_get_by_email(*, email: str) -> User | None:
    """The user with this email in any letter case, or None."""
    return User.objects.filter(email__iexact=email.strip()).first()


def group_list(*, org) -> QuerySet[Group]:
    return Group.objects.for_org(org).order_by("name")


def group_get(*, org, pk) -> Group:
    """A group of `org`; another org's group is a 404."""
    try:
        return Group.objects.for_org(org).get(pk=pk)
    except (Group.DoesNotExist, ValueError, TypeError):
        raise Http404("No such group.") from None
