"""Writes to API keys: create (the raw key is returned once, only its hash is kept), revoke, deactivate,
reactivate and delete. Each is atomic and audited."""

import hashlib
import ipaddress
import secrets
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from applications.models import ApiKey, Application
from audit.services import audit_record
from config.exceptions import DomainError, NotAllowed
from orgs.permissions import ALL_PERMISSIONS, permissions_for

# A raw key reads "ghk_<public>_<secret>". The public part makes it recognisable to secret scanners and
# findable by its stored prefix ("ghk_<public>"); only the secret part carries the authentication.
KEY_MARKER = "ghk_"
PUBLIC_BYTES = 8  # 16 hex characters: enough to keep prefixes unique, and shown in the console.
SECRET_BYTES = 32  # 256 bits from the OS's CSPRNG.
API_KEY_NAME_MAX = 100
ALLOWED_IPS_MAX = 100
# What a platform key (org None) may hold: an operator's reach through /api/v1/platform/…, nothing of an org's.
PLATFORM_SCOPES = frozenset({"platform.view", "platform.manage"})


def api_key_allowlist_required(*, org) -> bool:
    """Whether `org`'s keys (None: platform keys) must carry an IP allow-list: the org's own switch, or the
    platform's GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST, which holds for every org whatever the org says."""
    return settings.GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST or bool(org is not None and org.api_keys_require_allowlist)


def api_key_hash(raw_key: str) -> str:
    """SHA-256 of the whole raw key, hex.

    Like client secrets (applications/hashers.py), a generated key carries 256 bits of entropy, so one
    fast hash makes brute force hopeless; a salt only helps low-entropy inputs, and a slow hash would
    cost every API request ~150 ms for nothing.
    """
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_generate() -> tuple[str, str]:
    """A new (prefix, raw key) pair; the prefix is the start of the raw key."""
    prefix = KEY_MARKER + secrets.token_hex(PUBLIC_BYTES)
    return prefix, f"{prefix}_{secrets.token_hex(SECRET_BYTES)}"


def allowed_ips_clean(values) -> list[str]:
    """CIDR strings, normalised (`10.0.0.0/8`, `2001:db8::/32`); a bare address means that address alone.

    A network written with host bits set (`10.0.0.5/24`) is refused rather than silently widened or
    narrowed: the person meant either the address or the network, and only they know which.
    """
    cleaned: list[str] = []
    for value in values:
        value = (value or "").strip()
        if not value:
            continue
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise DomainError(f"“{value}” is not an IP address or CIDR network (e.g. 203.0.113.0/24 or "
                                  f"2001:db8::/32).", field="allowed_ips") from None
            raise DomainError(f"“{value}” has host bits set: write the network as {loose} or the single "
                              f"address as {value.split('/')[0]}.",
                              field="allowed_ips") from None
        if str(network) not in cleaned:
            cleaned.append(str(network))
    if len(cleaned) > ALLOWED_IPS_MAX:
        raise DomainError(f"At most {ALLOWED_IPS_MAX} networks may be listed.", field="allowed_ips")
    return cleaned


def _scopes_check(*, scopes, org, actor, held: frozenset[str] | None = None) -> list[str]:
    scopes = sorted({scope.strip() for scope in scopes if isinstance(scope, str) and scope.strip()})
    if not scopes:
        raise DomainError("Choose at least one scope: a key without scopes can do nothing.", field="scopes")
    if org is None:
        unknown = [scope for scope in scopes if scope not in PLATFORM_SCOPES]
        if unknown:
            raise DomainError(f"A platform key holds only {' and '.join(sorted(PLATFORM_SCOPES))}, not "
                              f"“{unknown[0]}”.", field="scopes")
        return scopes
    unknown = [scope for scope in scopes if scope not in ALL_PERMISSIONS]
    if unknown:
        raise DomainError(f"Unknown scope “{unknown[0]}”; scopes are console permission names such as "
                          f"members.view.", field="scopes")
    if held is None:
        held = permissions_for(user=actor, org=org) if actor is not None else frozenset()
    beyond = [scope for scope in scopes if scope not in held]
    if beyond:
        raise NotAllowed(f"You do not hold {', '.join(beyond)} in {org.name}, so a key you create cannot "
                         f"have it either.", field="scopes")
    return scopes


@transaction.atomic
def api_key_create(
    *, org, actor, request, name: str, scopes, expires_at: datetime | None = None, allowed_ips=(),
    application: Application | None = None, held: frozenset[str] | None = None, system: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key of `org` and return it with its raw value, which is never available again.

    `org` None makes a platform key (system only, PLATFORM_SCOPES). Otherwise scopes are permission names
    the actor holds in `org` (never more); `held` narrows that further when
    the actor acts through an API key (the calling key's own scopes). `system=True` (an operator's
    manage.py, actor None) may grant any scope. The expiry, if any, lies in the future; the allow-list
    holds valid CIDRs (empty: any address); the application is `org`'s own.
    """
    name = (name or "").strip()
    if not name:
        raise DomainError("A key needs a name that says what uses it.", field="name")
    if len(name) > API_KEY_NAME_MAX:
        raise DomainError(f"A key's name has at most {API_KEY_NAME_MAX} characters.", field="name")
    if org is None and not system:
        raise NotAllowed("Only an operator's manage.py creates platform keys.")
    if system and held is None:
        held = ALL_PERMISSIONS
    scopes = _scopes_check(scopes=scopes, org=org, actor=actor, held=held)
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry is in the past; choose a later date or none.", field="expires_at")
    networks = allowed_ips_clean(allowed_ips)
    if not networks and api_key_allowlist_required(org=org):
        # Such a key could never be used (api_key_check refuses it everywhere): say so now, not at first use.
        raise DomainError(f"{org.name if org else 'This Gatehouse'} requires every API key to have an IP "
                          "allow-list: list the addresses or networks (CIDR) this key is used from.",
                          field="allowed_ips")
    if application is not None and (org is None or application.org_id != org.pk):
        raise DomainError(f"Choose an application of {org.name if org else 'an organization'}.", field="application")
    prefix, raw_key = api_key_generate()
    api_key = ApiKey.objects.create(
        org=org, application=application, name=name, prefix=prefix, key_hash=api_key_hash(raw_key),
        scopes=scopes, allowed_ips=networks, expires_at=expires_at,
        created_by=actor if getattr(actor, "is_authenticated", False) else None, created_by_system=system,
    )
    audit_record(action="api_key.created", actor=actor, org=org, target=api_key, request=request,
                 metadata={"name": name, "prefix": prefix, "scopes": scopes,
                           "expires_at": expires_at.isoformat() if expires_at else None,
                           "allowed_ips": networks,
                           "application": application.client_id if application else None,
                           **({"created_by_system": True} if system else {})})
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor, request) -> ApiKey:
    """Revoke a key for good. Revoking a key that is already revoked is refused, not repeated."""
    locked = ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
    if locked is None:
        raise NotAllowed("This key no longer exists.")
    if locked.revoked_at is not None:
        raise NotAllowed(f"The key {locked.name} was already revoked on {locked.revoked_at:%Y-%m-%d %H:%M} UTC.")
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
    locked.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(action="api_key.revoked", actor=actor, org=locked.org, target=locked, request=request,
                 metadata={"name": locked.name, "prefix": locked.prefix, "scopes": locked.scopes})
    return locked


def _lock(api_key: ApiKey) -> ApiKey:
    locked = ApiKey.objects.select_for_update(of=("self",)).select_related("org").filter(pk=api_key.pk).first()
    if locked is None:
        raise NotAllowed("This key no longer exists.")
    return locked


@transaction.atomic
def api_key_deactivate(*, api_key: ApiKey, actor, request) -> ApiKey:
    """Pause a key: it is refused until reactivated. A revoked key stays revoked; pausing a paused key
    changes nothing and writes nothing."""
    locked = _lock(api_key)
    if locked.revoked_at is not None:
        raise NotAllowed(f"The key {locked.name} is revoked; it cannot be deactivated or used again.")
    if locked.deactivated_at is not None:
        return locked
    locked.deactivated_at = timezone.now()
    locked.save(update_fields=["deactivated_at"])
    audit_record(action="api_key.deactivated", actor=actor, org=locked.org, target=locked, request=request,
                 metadata={"name": locked.name, "prefix": locked.prefix})
    return locked


@transaction.atomic
def api_key_reactivate(*, api_key: ApiKey, actor, request) -> ApiKey:
    """Bring a paused key back. A revoked key never comes back; an active key changes nothing."""
    locked = _lock(api_key)
    if locked.revoked_at is not None:
        raise NotAllowed(f"The key {locked.name} is revoked; create a new key instead.")
    if locked.deactivated_at is None:
        return locked
    before = locked.deactivated_at
    locked.deactivated_at = None
    locked.save(update_fields=["deactivated_at"])
    audit_record(action="api_key.reactivated", actor=actor, org=locked.org, target=locked, request=request,
                 metadata={"name": locked.name, "prefix": locked.prefix, "deactivated_at": before.isoformat()})
    return locked


@transaction.atomic
def api_key_delete(*, api_key: ApiKey, actor, request) -> None:
    """Delete a key and its row; the audit log keeps its name, prefix and scopes. Deleting a key that is
    already gone changes nothing."""
    locked = ApiKey.objects.select_for_update(of=("self",)).select_related("org").filter(pk=api_key.pk).first()
    if locked is None:
        return
    # Recorded before the delete, while the row still has the id the event points at.
    audit_record(action="api_key.deleted", actor=actor, org=locked.org, target=locked, request=request,
                 metadata={"name": locked.name, "prefix": locked.prefix, "scopes": locked.scopes,
                           "revoked": locked.revoked_at is not None})
    locked.delete()
