"""Reading registered APIs: an org's list, one API of an org, who is granted its scopes, and the scopes
an application of the org may be granted."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from applications.models import Api, ApiScope, Application


def api_list(*, org) -> QuerySet[Api]:
    """`org`'s APIs by name, each with `scope_count`."""
    return Api.objects.for_org(org).annotate(scope_count=Count("scopes")).order_by("name", "id")


def api_get(*, org, pk) -> Api:
    """An API of `org`; another org's API (or a junk id) is a 404."""
    try:
        return Api.objects.for_org(org).get(pk=pk)
    except (Api.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such API.") from None


@dataclass(frozen=True)
class ApiGrant:
    application: Application
    scopes: list[ApiScope]


def api_scopes_with_applications(*, api: Api) -> list[ApiScope]:
    """The API's scopes, each with `granted_to` (the applications granted it, by name)."""
    return list(api.scopes.order_by("name").prefetch_related(
        Prefetch("applications", queryset=Application.objects.order_by("name"), to_attr="granted_to")))


def api_grants(*, api: Api) -> list[ApiGrant]:
    """The applications granted any of the API's scopes, by name, each with the scopes it holds."""
    grants: dict[int, ApiGrant] = {}
    for scope in api_scopes_with_applications(api=api):
        for application in scope.granted_to:
            grants.setdefault(application.pk, ApiGrant(application=application, scopes=[])).scopes.append(scope)
    return sorted(grants.values(), key=lambda grant: (grant.application.name.lower(), grant.application.pk))


def api_scope_choices(*, org) -> QuerySet[ApiScope]:
    """Every scope `org`'s APIs define: the only ones its applications may be granted."""
    return ApiScope.objects.filter(org=org).select_related("api").order_by("api__name", "api_id", "name")


def application_api_scopes(*, application: Application) -> list[tuple[Api, list[ApiScope]]]:
    """The API scopes `application` is granted, grouped by API (APIs and scopes by name)."""
    groups: dict[int, tuple[Api, list[ApiScope]]] = {}
    for scope in application.api_scopes.select_related("api").order_by("api__name", "api_id", "name"):
        groups.setdefault(scope.api_id, (scope.api, []))[1].append(scope)
    return list(groups.values())


def lifetime_display(seconds: int) -> str:
    """600 → "10 min", 90 → "90 s", 7200 → "2 h": how long a token lives, short."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
