"""Writes to applications. Each is atomic and records its audit event."""

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_id

from applications.models import Application, Consent
from applications.tokens import tokens_revoke
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError


@dataclass(frozen=True)
class CreatedApplication:
    application: Application
    # The raw client secret, for confidential kinds only. It is stored hashed and never shown again.
    client_secret: str | None


def generate_client_secret() -> str:
    """256 bits from the OS's CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


def _uri_list(values, *, field: str) -> list[str]:
    """Stripped, non-empty, without white space: DOT stores these space-separated, so a URI with a
    space would silently become two."""
    values = [value.strip() for value in values]
    if any(not value or any(ch.isspace() for ch in value) for value in values):
        raise DomainError("A URI must not be empty or contain spaces.", field=field)
    return values


@transaction.atomic
def application_create(
    *, org, name: str, kind: str, redirect_uris: list[str] | tuple[str, ...] = (),
    client_id: str | None = None, client_secret: str | None = None, actor=None, request=None,
    post_logout_redirect_uris: list[str] | tuple[str, ...] = (), allowed_origins: list[str] | tuple[str, ...] = (),
    trusted: bool = False,
) -> CreatedApplication:
    """Register an OIDC client for `org`. Its kind decides its client type and grant.

    Browser-based kinds need at least one redirect URI; client ids are unique platform-wide.
    """
    name = name.strip()
    if not name:
        raise DomainError("An application needs a name.", field="name")
    if kind not in Application.Kind.values:
        raise DomainError(f"Unknown kind “{kind}”; choose one of {', '.join(Application.Kind.values)}.",
                          field="kind")
    if kind != Application.Kind.MACHINE and not redirect_uris:
        raise DomainError("A web, spa or native application needs at least one redirect URI.",
                          field="redirect_uris")
    if kind == Application.Kind.MACHINE and redirect_uris:
        raise DomainError("A machine application signs no one in, so it takes no redirect URI.",
                          field="redirect_uris")
    redirect_uris = _uri_list(redirect_uris, field="redirect_uris")
    post_logout_redirect_uris = _uri_list(post_logout_redirect_uris, field="post_logout_redirect_uris")
    allowed_origins = _uri_list(allowed_origins, field="allowed_origins")
    if allowed_origins and kind != Application.Kind.SPA:
        raise DomainError("Only single-page applications are given CORS origins.", field="allowed_origins")
    if post_logout_redirect_uris and kind == Application.Kind.MACHINE:
        raise DomainError("A machine application signs no one out.", field="post_logout_redirect_uris")
    client_id = (client_id or generate_client_id()).strip()
    if Application.objects.filter(client_id=client_id).exists():
        raise AlreadyExists(f"An application with the client id “{client_id}” already exists.",
                            field="client_id")
    confidential = Application.KIND_GRANTS[kind][0] == Application.CLIENT_CONFIDENTIAL
    raw_secret = (client_secret or generate_client_secret()) if confidential else None
    application = Application(
        org=org, name=name, kind=kind, client_id=client_id,
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(post_logout_redirect_uris),
        allowed_origins=" ".join(allowed_origins),
        skip_authorization=trusted,
        client_secret=raw_secret or "",
        hash_client_secret=True,
    )
    # save() derives these from the kind; clean() needs them to check redirect URIs.
    application.client_type, application.authorization_grant_type = Application.KIND_GRANTS[kind]
    try:
        application.full_clean(exclude=["client_secret", "user", "org"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages), field=field) from None
    application.save()
    audit_record(action="application.created", actor=actor, org=org, target=application, request=request,
                 metadata={"name": name, "kind": kind, "client_id": client_id, "trusted": trusted,
                           "redirect_uris": redirect_uris, "post_logout_redirect_uris": post_logout_redirect_uris,
                           "allowed_origins": allowed_origins})
    return CreatedApplication(application=application, client_secret=raw_secret)


@transaction.atomic
def application_disable(*, application: Application, actor, request=None) -> Application:
    """Disable an app: it can no longer sign anyone in or get tokens, and every token it holds is revoked.

    Disabling a disabled app changes nothing.
    """
    application = Application.objects.select_for_update().select_related("org").get(pk=application.pk)
    if application.status == Application.Status.DISABLED:
        return application
    before = application.status
    application.status = Application.Status.DISABLED
    # update_fields keeps save() away from the client secret and the rest of DOT's fields.
    application.save(update_fields=["status", "updated"])
    revoked = tokens_revoke(application=application, reason="application.disabled")
    audit_record(action="application.disabled", actor=actor, org=application.org, target=application,
                 request=request,
                 metadata={"client_id": application.client_id, "before": before, "after": application.status,
                           "tokens_revoked": revoked})
    return application


@transaction.atomic
def application_enable(*, application: Application, actor, request=None) -> Application:
    """Let a disabled app sign people in again. Tokens revoked on disabling stay revoked.

    Enabling an active app changes nothing.
    """
    application = Application.objects.select_for_update().select_related("org").get(pk=application.pk)
    if application.status == Application.Status.ACTIVE:
        return application
    before = application.status
    application.status = Application.Status.ACTIVE
    application.save(update_fields=["status", "updated"])
    audit_record(action="application.enabled", actor=actor, org=application.org, target=application,
                 request=request,
                 metadata={"client_id": application.client_id, "before": before, "after": application.status})
    return application


@transaction.atomic
def consent_withdraw(*, consent, actor, request=None) -> int:
    """Forget a user's consent to an application and revoke the tokens it issued to that user.

    The app must ask again at the next sign-in. Returns how many token rows were revoked.
    """
    application = consent.application
    revoked = tokens_revoke(user=consent.user, application=application, reason="consent.withdrawn")
    Consent.objects.filter(pk=consent.pk).delete()
    audit_record(action="consent.withdrawn", actor=actor, org=application.org, target=application,
                 request=request, metadata={"client_id": application.client_id, "scopes": consent.scopes,
                                            "tokens_revoked": revoked})
    return revoked
