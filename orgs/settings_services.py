"""Writes to an organization's settings and password policy. Each is atomic and records its audit event."""

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from config.exceptions import DomainError
from identity.models import PasswordPolicy
from orgs.models import Organization

# --- password policy ------------------------------------------------------------------------------

POLICY_LIMITS = {"min_length": (12, 128), "history_count": (0, 24), "max_age_days": (1, 3650)}


@transaction.atomic
def password_policy_update(
    *, org: Organization, actor, request=None, min_length: int, check_common: bool, history_count: int,
    max_age_days: int | None,
) -> PasswordPolicy:
    """Set `org`'s password rules. They add to the platform's and can never relax them (minimum
    length 12 or more); new rules apply to the next password chosen, a shorter maximum age at the
    next sign-in."""
    values = {"min_length": min_length, "history_count": history_count, "max_age_days": max_age_days}
    for name, value in values.items():
        low, high = POLICY_LIMITS[name]
        if value is None and name == "max_age_days":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise DomainError(f"{name.replace('_', ' ').capitalize()} must be a whole number from {low} to {high}.",
                              field=name)
    policy, _ = PasswordPolicy.objects.select_for_update().get_or_create(org=org)
    fields = ("min_length", "check_common", "history_count", "max_age_days")
    before = {name: getattr(policy, name) for name in fields}
    for name, value in {**values, "check_common": bool(check_common)}.items():
        setattr(policy, name, value)
    policy.save()
    after = {name: getattr(policy, name) for name in fields}
    if before != after:
        audit_record(action="password_policy.updated", actor=actor, org=org, target=policy, request=request,
                     metadata={"before": before, "after": after})
    return policy


# --- organization settings ------------------------------------------------------------------------

SETTINGS_FIELDS = ("name", "notify_new_device_sign_in", "mfa_policy", "mfa_grace_days", "session_max_age_minutes",
                   "lockout_threshold", "api_keys_require_allowlist")


def _settings_clean(name: str, value):
    """One setting's value as stored, or DomainError naming the field and what is allowed."""
    if name == "name":
        value = (value or "").strip() if isinstance(value, str) else value
        if not isinstance(value, str) or not value:
            raise DomainError("An organization needs a name.", field="name")
        if len(value) > Organization._meta.get_field("name").max_length:
            raise DomainError("The name can be at most 150 characters.", field="name")
        return value
    if name == "notify_new_device_sign_in":
        if not isinstance(value, bool):
            raise DomainError("New-device notification is either on or off.", field=name)
        return value
    if name == "api_keys_require_allowlist":
        if not isinstance(value, bool):
            raise DomainError("Requiring IP allow-lists on API keys is either on (true) or off (false).", field=name)
        return value
    if name == "mfa_policy":
        if value not in Organization.MfaPolicy.values:
            raise DomainError(f"Unknown MFA policy “{value}”; choose one of "
                              f"{', '.join(Organization.MfaPolicy.values)}.", field=name)
        return value
    if name == "mfa_grace_days":
        low, high = Organization.MFA_GRACE_DAYS_LIMITS
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise DomainError(f"The time to set up a second factor must be a whole number of days from {low} "
                              f"to {high}.", field=name)
        return value
    if name == "lockout_threshold":
        low, high = Organization.LOCKOUT_THRESHOLD_LIMITS
        what = "Lockout threshold must be a whole number of failed sign-ins"
    else:
        low, high = Organization.SESSION_MAX_AGE_LIMITS
        what = "Maximum sign-in age must be a whole number of minutes"
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
        raise DomainError(f"{what} from {low} to {high}, or empty for the platform default.", field=name)
    return value


@transaction.atomic
def organization_settings_update(*, org: Organization, actor, request=None, **changes) -> Organization:
    """Change an org's name, new-device notification, MFA policy, maximum sign-in age, lockout threshold or
    whether its API keys need an IP allow-list.

    Every value is checked before anything is written; a refusal changes nothing. Only the fields
    that actually change are written and recorded (before/after) in one `organization.settings_updated`
    event; a submission that changes nothing records nothing. Who may call it (settings.manage) is
    the caller's permission check.
    """
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Not an organization setting: {', '.join(sorted(unknown))}.")
    cleaned = {name: _settings_clean(name, value) for name, value in changes.items()}
    since = _mfa_required_since(org, cleaned["mfa_policy"]) if "mfa_policy" in cleaned else {}
    org = organization_fields_update(org=org, values=cleaned, action="organization.settings_updated",
                                     actor=actor, request=request)
    if since:
        Organization.objects.filter(pk=org.pk).update(**since)
        org.mfa_required_since = since["mfa_required_since"]
    return org


# Each level covers everyone the levels before it cover.
_MFA_POLICY_REACH = {Organization.MfaPolicy.OFF: 0, Organization.MfaPolicy.CONSOLE_ROLES: 1,
                     Organization.MfaPolicy.EVERYONE: 2}


def _mfa_required_since(org: Organization, policy: str) -> dict:
    """When the MFA policy comes to cover more people, their grace window starts now (those it already
    covered get a new one too: one date per org); switched off, there is none."""
    current = Organization.objects.filter(pk=org.pk).values_list("mfa_policy", flat=True).first()
    if policy == Organization.MfaPolicy.OFF:
        return {"mfa_required_since": None}
    if _MFA_POLICY_REACH[policy] > _MFA_POLICY_REACH.get(current, 0):
        return {"mfa_required_since": timezone.now()}
    return {}


def organization_fields_update(*, org: Organization, values: dict, action: str, actor, request=None) -> Organization:
    """Write already-checked `values` to `org` under a row lock, and record one `action` event with the
    before/after of the fields that changed. Nothing changed: nothing written, nothing recorded.
    Callers run inside their own transaction (they are atomic services)."""
    locked = Organization.objects.select_for_update().get(pk=org.pk)
    before = {name: getattr(locked, name) for name, value in values.items() if getattr(locked, name) != value}
    if not before:
        return locked
    after = {name: values[name] for name in before}
    for name, value in after.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*after, "updated_at"])
    audit_record(action=action, actor=actor, org=locked, target=locked, request=request,
                 metadata={"before": before, "after": after})
    return locked
