"""Reading applications."""

from django.db.models import QuerySet
from django.http import Http404

from applications.models import Application, Consent


def application_list(*, org) -> QuerySet[Application]:
    return Application.objects.for_org(org).order_by("name")


def application_get(*, org, pk) -> Application:
    """An application of `org`; another org's application is a 404."""
    try:
        return Application.objects.for_org(org).get(pk=pk)
    except (Application.DoesNotExist, ValueError, TypeError):
        raise Http404("No such application.") from None


def consent_list(*, user) -> QuerySet[Consent]:
    """The applications `user` has allowed, for the account page."""
    return Consent.objects.filter(user=user).select_related("application__org").order_by("application__name")


def consent_get(*, user, pk) -> Consent:
    """One of `user`'s own consents; anyone else's is a 404."""
    try:
        return Consent.objects.select_related("application__org", "user").get(user=user, pk=pk)
    except (Consent.DoesNotExist, ValueError, TypeError):
        raise Http404("No such consent.") from None
