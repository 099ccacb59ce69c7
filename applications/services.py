"""Writes to applications. Each is atomic and records its audit event."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_id
from oauth2_provider.settings import oauth2_settings

from applications.models import Application, Consent
from applications.tokens import tokens_revoke
from applications.uri_checks import backchannel_logout_uri_check, uris_check
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError
from directory.models import Group


@dataclass(frozen=True)
class CreatedApplication:
    application: Application
    # The raw client secret, for confidential kinds only. It is stored hashed and never shown again.
    client_secret: str | None


def generate_client_secret() -> str:
    """256 bits from the OS's CSPRNG, URL-safe."""
    return secrets.token_urlsafe(32)


ACCESS_TOKEN_LIFETIME_MIN = 60
ACCESS_TOKEN_LIFETIME_MAX = 24 * 3600
# A refresh token shorter than an hour makes people sign in all day; longer than a year is never revisited.
REFRESH_TOKEN_LIFETIME_MIN = 3600
REFRESH_TOKEN_LIFETIME_MAX = 365 * 24 * 3600
# After a rotation the old secret may keep working for up to a day, while RPs are redeployed.
SECRET_OVERLAP_MAX = timedelta(hours=24)


def _lifetime_check(seconds: int | None) -> int | None:
    if seconds is None:
        return None
    if not ACCESS_TOKEN_LIFETIME_MIN <= seconds <= ACCESS_TOKEN_LIFETIME_MAX:
        raise DomainError(f"An access token lives between {ACCESS_TOKEN_LIFETIME_MIN} seconds and 24 hours "
                          f"({ACCESS_TOKEN_LIFETIME_MAX} seconds).", field="access_token_lifetime")
    return seconds


def _refresh_lifetime_check(seconds: int | None, *, kind: str) -> int | None:
    if seconds is None:
        return None
    if kind == Application.Kind.MACHINE:
        raise DomainError("A machine application gets no refresh token.", field="refresh_token_lifetime")
    if not REFRESH_TOKEN_LIFETIME_MIN <= seconds <= REFRESH_TOKEN_LIFETIME_MAX:
        raise DomainError(f"A refresh token lives between one hour ({REFRESH_TOKEN_LIFETIME_MIN} seconds) and 365 "
                          f"days ({REFRESH_TOKEN_LIFETIME_MAX} seconds).", field="refresh_token_lifetime")
    return seconds


def supported_scopes() -> list[str]:
    """The scopes the provider offers (discovery's scopes_supported), in settings order."""
    return list(settings.OAUTH2_PROVIDER["SCOPES"])


def _scopes_check(scopes, *, kind: str) -> list[str]:
    """Allowed scopes, deduplicated in the provider's order; none means every supported scope.

    A sign-in kind limited to some scopes always keeps openid: without it no one can sign in.
    """
    chosen = {scope.strip() for scope in scopes if scope.strip()}
    supported = supported_scopes()
    unknown = sorted(chosen - set(supported))
    if unknown:
        raise DomainError(f"Unknown scope “{unknown[0]}”; choose among {', '.join(supported)}.",
                          field="allowed_scopes")
    if chosen and kind != Application.Kind.MACHINE and "openid" not in chosen:
        raise DomainError("A sign-in application always needs the openid scope.", field="allowed_scopes")
    return [scope for scope in supported if scope in chosen]


def _org_groups(*, org, groups, field: str = "allowed_groups") -> list:
    """The given groups (instances or ids), all of them `org`'s. One from elsewhere refuses the lot:
    an app of one org must never be scoped to, or grant roles through, another org's group."""

    ids = {getattr(group, "pk", group) for group in groups}
    try:
        found = list(Group.objects.for_org(org).filter(pk__in=ids).order_by("name"))
    except (ValueError, TypeError):
        found = []
    if len(found) != len(ids):
        raise DomainError(f"Choose groups of {org.name} only.", field=field)
    return found


@transaction.atomic
def application_create(
    *, org, name: str, kind: str, redirect_uris: list[str] | tuple[str, ...] = (),
    client_id: str | None = None, client_secret: str | None = None, actor=None, request=None,
    post_logout_redirect_uris: list[str] | tuple[str, ...] = (), allowed_origins: list[str] | tuple[str, ...] = (),
    trusted: bool = False, description: str = "", allowed_groups=(), access_token_lifetime: int | None = None,
    require_pkce: bool = False, refresh_token_lifetime: int | None = None, allowed_scopes=(),
    backchannel_logout_uri: str = "",
) -> CreatedApplication:
    """Register an OIDC client for `org`. Its kind decides its client type and grant.

    Browser-based kinds need at least one redirect URI; URIs are https or loopback http (native apps
    also reverse-domain schemes); allowed groups are `org`'s own; client ids are unique platform-wide.
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
    redirect_uris = uris_check(redirect_uris, kind=kind, field="redirect_uris")
    post_logout_redirect_uris = uris_check(post_logout_redirect_uris, kind=kind, field="post_logout_redirect_uris")
    allowed_origins = uris_check(allowed_origins, kind=kind, field="allowed_origins")
    groups = _org_groups(org=org, groups=allowed_groups)
    access_token_lifetime = _lifetime_check(access_token_lifetime)
    refresh_token_lifetime = _refresh_lifetime_check(refresh_token_lifetime, kind=kind)
    allowed_scopes = _scopes_check(allowed_scopes, kind=kind)
    backchannel_logout_uri = backchannel_logout_uri_check(backchannel_logout_uri, kind=kind)
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
        description=description.strip(),
        access_token_lifetime=access_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime,
        allowed_scopes=" ".join(allowed_scopes),
        require_pkce=require_pkce and kind == Application.Kind.WEB,
        backchannel_logout_uri=backchannel_logout_uri,
    )
    # save() derives these from the kind; clean() needs them to check redirect URIs.
    application.client_type, application.authorization_grant_type = Application.KIND_GRANTS[kind]
    try:
        application.full_clean(exclude=["client_secret", "user", "org"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages), field=field) from None
    application.save()
    application.allowed_groups.set(groups)
    audit_record(action="application.created", actor=actor, org=org, target=application, request=request,
                 metadata={"name": name, "kind": kind, "client_id": client_id, "trusted": trusted,
                           "redirect_uris": redirect_uris, "post_logout_redirect_uris": post_logout_redirect_uris,
                           "allowed_origins": allowed_origins, "allowed_groups": [g.slug for g in groups],
                           "access_token_lifetime": access_token_lifetime,
                           "refresh_token_lifetime": refresh_token_lifetime, "allowed_scopes": allowed_scopes,
                           "backchannel_logout_uri": backchannel_logout_uri})
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


# ---------------------------------------------------------------------------------------- console writes

def _application_snapshot(application: Application) -> dict:
    """The fields an administrator edits, as the audit log shows them before and after."""
    return {
        "name": application.name,
        "description": application.description,
        "redirect_uris": application.redirect_uris.split(),
        "post_logout_redirect_uris": application.post_logout_redirect_uris.split(),
        "allowed_origins": application.allowed_origins.split(),
        "trusted": application.skip_authorization,
        "require_pkce": application.require_pkce,
        "access_token_lifetime": application.access_token_lifetime,
        "refresh_token_lifetime": application.refresh_token_lifetime,
        "allowed_scopes": application.allowed_scopes.split(),
        "allowed_groups": sorted(application.allowed_groups.values_list("slug", flat=True)),
        "backchannel_logout_uri": application.backchannel_logout_uri,
    }


def _changes(before: dict, after: dict) -> dict:
    changed = [key for key in after if before.get(key) != after[key]]
    return {"before": {key: before.get(key) for key in changed}, "after": {key: after[key] for key in changed}}


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().select_related("org").get(pk=application.pk)


@transaction.atomic
def application_update(
    *, application: Application, actor, request=None, name: str, description: str = "",
    redirect_uris=(), post_logout_redirect_uris=(), allowed_origins=(), trusted: bool = False,
    require_pkce: bool = False, access_token_lifetime: int | None = None, allowed_groups=(),
    refresh_token_lifetime: int | None = None, allowed_scopes=(), backchannel_logout_uri: str | None = None,
) -> Application:
    """Change what an administrator may change; the kind and client id stay (tokens and RPs rely on them).

    The same rules as application_create apply; an update that changes nothing writes no audit row.
    A `backchannel_logout_uri` of None keeps the registered one ("" removes it), so a caller that
    does not know the field cannot clear it by accident.
    """
    application = _locked(application)
    kind = application.kind
    name = name.strip()
    if not name:
        raise DomainError("An application needs a name.", field="name")
    redirect_uris = uris_check(redirect_uris, kind=kind, field="redirect_uris")
    post_logout_redirect_uris = uris_check(post_logout_redirect_uris, kind=kind, field="post_logout_redirect_uris")
    allowed_origins = uris_check(allowed_origins, kind=kind, field="allowed_origins")
    if kind != Application.Kind.MACHINE and not redirect_uris:
        raise DomainError("A web, spa or native application needs at least one redirect URI.",
                          field="redirect_uris")
    if kind == Application.Kind.MACHINE and (redirect_uris or post_logout_redirect_uris):
        raise DomainError("A machine application signs no one in, so it takes no redirect URI.",
                          field="redirect_uris")
    if allowed_origins and kind != Application.Kind.SPA:
        raise DomainError("Only single-page applications are given CORS origins.", field="allowed_origins")
    groups = _org_groups(org=application.org, groups=allowed_groups)
    if backchannel_logout_uri is not None:
        backchannel_logout_uri = backchannel_logout_uri_check(backchannel_logout_uri, kind=kind)
    before = _application_snapshot(application)
    application.name = name
    application.description = description.strip()
    application.redirect_uris = " ".join(redirect_uris)
    application.post_logout_redirect_uris = " ".join(post_logout_redirect_uris)
    application.allowed_origins = " ".join(allowed_origins)
    application.skip_authorization = trusted
    application.require_pkce = require_pkce and kind == Application.Kind.WEB
    application.access_token_lifetime = _lifetime_check(access_token_lifetime)
    application.refresh_token_lifetime = _refresh_lifetime_check(refresh_token_lifetime, kind=kind)
    application.allowed_scopes = " ".join(_scopes_check(allowed_scopes, kind=kind))
    if backchannel_logout_uri is not None:
        application.backchannel_logout_uri = backchannel_logout_uri
    try:
        application.full_clean(exclude=["client_secret", "user", "org"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DomainError(" ".join(messages), field=field) from None
    # update_fields keeps save() away from the hashed client secret.
    application.save(update_fields=["name", "description", "redirect_uris", "post_logout_redirect_uris",
                                    "allowed_origins", "skip_authorization", "require_pkce",
                                    "access_token_lifetime", "refresh_token_lifetime", "allowed_scopes",
                                    "backchannel_logout_uri", "updated"])
    application.allowed_groups.set(groups)
    after = _application_snapshot(application)
    if before != after:
        audit_record(action="application.updated", actor=actor, org=application.org, target=application,
                     request=request, metadata={"client_id": application.client_id, **_changes(before, after)})
    return application


@transaction.atomic
def application_allowed_groups_set(*, application: Application, groups, actor, request=None) -> Application:
    """Limit the app to members of `groups` (none: every member of the org). Groups must be the app's org's."""
    application = _locked(application)
    chosen = _org_groups(org=application.org, groups=groups)
    before = sorted(application.allowed_groups.values_list("slug", flat=True))
    application.allowed_groups.set(chosen)
    after = sorted(group.slug for group in chosen)
    if before != after:
        audit_record(action="application.updated", actor=actor, org=application.org, target=application,
                     request=request, metadata={"client_id": application.client_id,
                                                "before": {"allowed_groups": before},
                                                "after": {"allowed_groups": after}})
    return application


@transaction.atomic
def client_secret_rotate(*, application: Application, actor, request=None, overlap: timedelta = timedelta(0)) -> str:
    """Give a confidential app a new secret and return it (shown once; stored hashed).

    With an overlap (at most 24 hours) the old secret keeps working until then, so RPs can be
    redeployed; with none it stops at once. A rotation during a running overlap replaces it: the
    secret replaced now becomes the previous one and the one before it stops working. Public apps
    have no secret.
    """
    application = _locked(application)
    if not application.is_confidential:
        raise DomainError("A public application has no client secret to rotate.")
    if not timedelta(0) <= overlap <= SECRET_OVERLAP_MAX:
        raise DomainError("Choose an overlap between none and 24 hours.", field="overlap")
    replaced_overlap = _overlap_running(application)
    raw_secret = generate_client_secret()
    if overlap:
        # The stored value is already a hash (save() hashed it); it is kept as it is.
        application.previous_client_secret = application.client_secret
        application.previous_secret_expires_at = timezone.now() + overlap
    else:
        application.previous_client_secret = ""
        application.previous_secret_expires_at = None
    # Hashed here rather than by save() (hash_client_secret), so update_fields stays explicit.
    application.client_secret = make_password(raw_secret, hasher=_secret_hasher())
    application.hash_client_secret = True
    application.save(update_fields=["client_secret", "hash_client_secret", "previous_client_secret",
                                    "previous_secret_expires_at", "updated"])
    expires = application.previous_secret_expires_at
    audit_record(action="application.secret_rotated", actor=actor, org=application.org, target=application,
                 request=request,
                 metadata={"client_id": application.client_id, "overlap_seconds": int(overlap.total_seconds()),
                           "previous_secret_expires_at": expires.isoformat() if expires else None,
                           "replaced_running_overlap": replaced_overlap})
    return raw_secret


def _secret_hasher() -> str:

    return oauth2_settings.CLIENT_SECRET_HASHER


def _overlap_running(application: Application) -> bool:
    expires = application.previous_secret_expires_at
    return bool(application.previous_client_secret) and expires is not None and expires > timezone.now()


def previous_secrets_expired_clear() -> int:
    """Forget previous secrets whose overlap has ended (they no longer work anyway), so those
    clients take the token endpoint's short path again. Housekeeping, not an action: no audit row."""
    return Application.objects.filter(previous_secret_expires_at__lte=timezone.now()).update(
        previous_client_secret="", previous_secret_expires_at=None)


@transaction.atomic
def client_secret_overlap_end(*, application: Application, actor, request=None) -> Application:
    """Stop the previous secret now, before its overlap would have ended. No overlap: nothing changes."""
    application = _locked(application)
    if not application.previous_client_secret and application.previous_secret_expires_at is None:
        return application
    was_running = _overlap_running(application)
    expires = application.previous_secret_expires_at
    application.previous_client_secret = ""
    application.previous_secret_expires_at = None
    application.save(update_fields=["previous_client_secret", "previous_secret_expires_at", "updated"])
    if was_running:
        audit_record(action="application.secret_overlap_ended", actor=actor, org=application.org,
                     target=application, request=request,
                     metadata={"client_id": application.client_id,
                               "before": {"previous_secret_expires_at": expires.isoformat()},
                               "after": {"previous_secret_expires_at": None}})
    return application


@transaction.atomic
def application_delete(*, application: Application, actor, request=None) -> None:
    """Delete an app, revoking every token it holds first; its roles and consents go with it."""
    application = _locked(application)
    revoked = tokens_revoke(application=application, reason="application.deleted")
    audit_record(action="application.deleted", actor=actor, org=application.org, target=application,
                 request=request,
                 metadata={"client_id": application.client_id, "name": application.name, "kind": application.kind,
                           "tokens_revoked": revoked,
                           "roles": list(application.roles.values_list("key", flat=True))})
    application.delete()
