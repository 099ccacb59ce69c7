"""Reading applications."""

from django.db.models import QuerySet
from django.http import Http404

from applications.models import Application


def application_list(*, org) -> QuerySet[Application]:
    return Application.objects.for_org(org).order_by("name")


def application_get(*, org, pk) -> Application:
    """An application of `org`; another org's application is a 404."""
    try:
        return Application.objects.for_org(org).get(pk=pk)
    except (Application.DoesNotExist, ValueError, TypeError):
        raise Http404("No such application.") from None
