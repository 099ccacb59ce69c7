"""Reading API keys: an org's list, one key of an org, and checking the key a request presents."""

import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from applications.apikey_lookup import key_lookup
from applications.apikey_services import KEY_MARKER, PLATFORM_SCOPES, api_key_allowlist_required, api_key_hash
from applications.models import ApiKey, Application
from orgs.permissions import ALL_PERMISSIONS, ROLE_PERMISSIONS

# "ghk_" + 16 hex (the stored prefix) + "_" + 64 hex (the secret).
_RAW_KEY = re.compile(rf"^({re.escape(KEY_MARKER)}[0-9a-f]{{16}})_[0-9a-f]{{64}}$")
# Recording every use would write a row per API request; once a minute per key and address is enough
# for "last used", and costs one UPDATE that matches nothing the rest of the time.
LAST_USED_GRANULARITY = timedelta(seconds=60)
# Compared against when no key has the presented prefix, so a miss costs what a hit costs.
_DUMMY_HASH = api_key_hash(KEY_MARKER + "0" * 16 + "_" + "0" * 64)


class ApiKeyStatus:
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    DEACTIVATED = "deactivated"


def api_key_status(api_key: ApiKey, *, now: datetime | None = None) -> str:
    """Revoked wins over deactivated, which wins over expired: the deliberate act an admin wants to see."""
    if api_key.revoked_at is not None:
        return ApiKeyStatus.REVOKED
    if api_key.deactivated_at is not None:
        return ApiKeyStatus.DEACTIVATED
    if api_key.expires_at is not None and api_key.expires_at <= (now or timezone.now()):
        return ApiKeyStatus.EXPIRED
    return ApiKeyStatus.ACTIVE


def api_key_list(*, org) -> list[ApiKey]:
    """`org`'s keys, newest first, each with `.status` set; creator and application in the same query."""
    now = timezone.now()
    keys = list(ApiKey.objects.for_org(org).select_related("created_by", "revoked_by", "application")
                .order_by("-created_at", "-id"))
    for key in keys:
        key.status = api_key_status(key, now=now)
    return keys


def api_key_get(*, org, pk) -> ApiKey:
    """A key of `org`; another org's key is a 404."""
    try:
        key = ApiKey.objects.for_org(org).select_related("created_by", "revoked_by", "application").get(pk=pk)
    except (ApiKey.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such API key.") from None
    key.status = api_key_status(key)
    return key


def api_key_application_choices(*, org) -> QuerySet[Application]:
    """The applications a new key of `org` may belong to: `org`'s own."""
    return Application.objects.for_org(org).order_by("name")


def _ip_allowed(ip: str, networks: list[str]) -> bool:
    """Whether `ip` lies in one of `networks`; an empty list allows any address (see the model).

    An IPv4 client seen through an IPv6 socket (::ffff:192.0.2.1) is matched as its IPv4 address.
    """
    if not networks:
        return True
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            # A stored entry that no longer parses allows nothing (fail closed), and never crashes a request.
            continue
    return False


class KeyProblem:
    """Why a presented key was refused. Told apart only once the whole secret has matched: whoever sees
    "expired" or "deactivated" holds the key already."""

    INVALID = "invalid"  # malformed, unknown prefix or wrong secret: nothing more is said
    REVOKED = ApiKeyStatus.REVOKED
    EXPIRED = ApiKeyStatus.EXPIRED
    DEACTIVATED = ApiKeyStatus.DEACTIVATED
    ORG_SUSPENDED = "org_suspended"
    APP_DISABLED = "app_disabled"
    IP_REFUSED = "ip_refused"
    ALLOWLIST_REQUIRED = "allowlist_required"  # the key has no allow-list where one is required


@dataclass(frozen=True)
class KeyCheck:
    key: ApiKey | None
    problem: str | None = None
    # What the key may do now: its scopes, narrowed to what its creator still holds (see the model).
    permissions: frozenset[str] = frozenset()


def _held_by_creator(key: ApiKey) -> frozenset[str]:
    if key.org_id is None:
        return PLATFORM_SCOPES if key.created_by_system else frozenset()
    if key.created_by_system:
        return ALL_PERMISSIONS
    creator = key.created_by
    if creator is None or not creator.is_active:
        return frozenset()
    if creator.is_superuser:
        return ALL_PERMISSIONS
    role = getattr(key, "creator_role", None)  # annotated by the lookup (applications/apikey_lookup.py)
    return ROLE_PERMISSIONS.get(role, frozenset()) if role else frozenset()


def api_key_check(*, raw_key: str, ip: str, now: datetime | None = None) -> KeyCheck:
    """The key `raw_key` names and whether a request from `ip` may use it: one query, one SHA-256.

    Refuses a malformed key, a wrong secret (compared in constant time, a miss costing what a hit does),
    a revoked, deactivated or expired key, a key whose org is suspended or whose application is
    disabled, and an address outside the allow-list. Where allow-listing is required (the org's switch or
    GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST) an empty allow-list refuses every address (fail closed). Records
    the last use, at most once a minute per key and address, and only when the key is let in.
    """
    match = _RAW_KEY.match(raw_key or "")
    try:
        # Normalised as the database stores it, so the "same address" test below is exact.
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        return KeyCheck(None, KeyProblem.INVALID)
    if match is None:
        return KeyCheck(None, KeyProblem.INVALID)
    key = key_lookup(match.group(1))
    presented = api_key_hash(raw_key)
    if not hmac.compare_digest(presented, key.key_hash if key is not None else _DUMMY_HASH) or key is None:
        return KeyCheck(None, KeyProblem.INVALID)
    now = now or timezone.now()
    status = api_key_status(key, now=now)
    if status != ApiKeyStatus.ACTIVE:
        return KeyCheck(key, status)
    if key.org is not None and not key.org.is_active:
        return KeyCheck(key, KeyProblem.ORG_SUSPENDED)
    if key.application is not None and key.application.status != Application.Status.ACTIVE:
        return KeyCheck(key, KeyProblem.APP_DISABLED)
    if not key.allowed_ips and api_key_allowlist_required(org=key.org):
        return KeyCheck(key, KeyProblem.ALLOWLIST_REQUIRED)
    if not _ip_allowed(ip, key.allowed_ips):
        return KeyCheck(key, KeyProblem.IP_REFUSED)
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_GRANULARITY or key.last_used_ip != ip:
        # A filtered UPDATE, not save(): two processes racing write once, and nothing else is touched.
        updated = (ApiKey.objects.filter(pk=key.pk)
                   .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_GRANULARITY)
                           | ~Q(last_used_ip=ip) | Q(last_used_ip__isnull=True))
                   .update(last_used_at=now, last_used_ip=ip))
        if updated:
            key.last_used_at, key.last_used_ip = now, ip
    return KeyCheck(key, None, frozenset(key.scopes) & _held_by_creator(key))


def api_key_authenticate(*, raw_key: str, ip: str) -> ApiKey | None:
    """The live key `raw_key` names, if the request from `ip` may use it; otherwise None (api_key_check
    says why)."""
    check = api_key_check(raw_key=raw_key, ip=ip)
    return check.key if check.problem is None else None
