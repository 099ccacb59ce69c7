"""Reading applications."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.models import Application, AppRole, Consent
from audit.models import AuditEvent
from config.compiled_queries import CompiledQuery, first_row
from config.postgresql.client_rows import client_rows
from directory.models import Group


def application_list(*, org) -> QuerySet[Application]:
    return Application.objects.for_org(org).order_by("name")


def application_get(*, org, pk) -> Application:
    """An application of `org`; another org's application is a 404."""
    try:
        return Application.objects.for_org(org).get(pk=pk)
    except (Application.DoesNotExist, ValueError, TypeError, OverflowError):
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


def app_role_get(*, application, pk) -> AppRole:
    """A role of `application`; any other role is a 404."""
    try:
        return AppRole.objects.get(application=application, pk=pk)
    except (AppRole.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such role.") from None


def app_roles_with_groups(*, application) -> QuerySet[AppRole]:
    return AppRole.objects.filter(application=application).prefetch_related(
        Prefetch("groups", queryset=Group.objects.order_by("name")))


def secrets_rotated_at(*, org, application_ids) -> dict[int, datetime]:
    """When each app's secret was last rotated, from the audit log (one query); absent if never."""
    rows = (AuditEvent.objects.filter(org=org, action="application.secret_rotated",
                                      target_type=Application._meta.label_lower,
                                      target_id__in=[str(pk) for pk in application_ids])
            .values("target_id").annotate(last=Max("created_at")))
    return {int(row["target_id"]): row["last"] for row in rows}


@dataclass(frozen=True)
class ApplicationImpact:
    live_tokens: int
    consents: int
    roles: list[str]


def application_delete_impact(*, application) -> ApplicationImpact:
    """What deleting or disabling the app takes away, for the confirmation page."""
    now = timezone.now()
    live_access = get_access_token_model().objects.filter(application=application, expires__gt=now).count()
    live_refresh = get_refresh_token_model().objects.filter(application=application, revoked__isnull=True).count()
    return ApplicationImpact(
        live_tokens=live_access + live_refresh,
        consents=Consent.objects.filter(application=application).count(),
        roles=list(AppRole.objects.filter(application=application).values_list("key", flat=True)),
    )


# Read on every authorization and token request: their SQL is built once (config/compiled_queries.py), and
# the client's rows are kept until an admin changes them (config/postgresql/client_rows.py).
_APPLICATION_WITH_ORG = CompiledQuery(
    lambda client_id: first_row(Application.objects.filter(client_id=client_id).select_related("org")),
    "stand-in-client-id", cache=client_rows)
_CONSENT = CompiledQuery(
    lambda user_id, application_id: first_row(Consent.objects.filter(user_id=user_id, application_id=application_id)),
    -1, -2)


def application_by_client_id(*, client_id: str) -> Application | None:
    """The application with this client_id, its org read with it, or None."""
    return _APPLICATION_WITH_ORG.first(client_id)


def consent_of(*, user, application: Application) -> Consent | None:
    """What `user` last agreed `application` may have, or None."""
    return _CONSENT.first(user.pk, application.pk)
