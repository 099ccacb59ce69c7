"""Which password rules apply to an account, checking a password against them, and when it must change.

The platform's AUTH_PASSWORD_VALIDATORS always apply. On top, each org may set a PasswordPolicy; an
account follows the strictest of the orgs where its membership is active (and, while accepting an
invitation, the inviting org's). A rule can only add strictness: an org cannot relax the platform.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import (
    CommonPasswordValidator,
    MinimumLengthValidator,
    get_default_password_validators,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.compiled_queries import CompiledQuery
from config.postgresql.client_rows import client_rows
from identity.models import PasswordChangeRequired, PasswordHistory, PasswordPolicy
from orgs.models import Organization
from orgs.selectors import member_org_ids

# Past passwords kept per user; an org cannot ask for more.
HISTORY_KEEP = 24


@dataclass(frozen=True)
class EffectivePolicy:
    min_length: int = 0
    check_common: bool = False
    history_count: int = 0
    max_age_days: int | None = None


def _platform_min_length() -> int:
    return max((v.min_length for v in get_default_password_validators() if isinstance(v, MinimumLengthValidator)),
               default=0)


_POLICY_FIELDS = ("min_length", "check_common", "history_count", "max_age_days")
# Read at every sign-in (is the password too old?): its SQL is built once, and its row kept until the org or a
# policy changes (config/postgresql/client_rows.py). Read through the org, so that an org without a policy has
# a row to keep too (the copy keeps no empty answer).
_POLICY_OF_ORG = CompiledQuery(lambda org_id: Organization.objects.filter(pk=org_id).order_by().values_list(
    "password_policy__id", *(f"password_policy__{name}" for name in _POLICY_FIELDS)), -1, cache=client_rows)


def effective_policy(*, user, extra_org: Organization | None = None) -> EffectivePolicy:
    """The strictest rules of the user's active memberships (plus `extra_org`, an org being joined)."""
    org_ids = set()
    if user is not None and user.pk is not None:
        org_ids = set(member_org_ids(user=user))
    if extra_org is not None:
        org_ids.add(extra_org.pk)
    # Most people belong to one org: that read (every sign-in makes it) runs SQL built once.
    if len(org_ids) == 1:
        policies = [row[1:] for row in _POLICY_OF_ORG(*org_ids) if row[0] is not None]
    else:
        policies = list(PasswordPolicy.objects.filter(org_id__in=org_ids).values_list(*_POLICY_FIELDS))
    if not policies:
        return EffectivePolicy()
    ages = [max_age for *_, max_age in policies if max_age]
    return EffectivePolicy(
        min_length=max(min_length for min_length, *_ in policies),
        check_common=any(check_common for _, check_common, *_ in policies),
        history_count=min(HISTORY_KEEP, max(history_count for _, _, history_count, _ in policies)),
        max_age_days=min(ages) if ages else None,
    )


def _recent_hashes(user, count: int) -> list[str]:
    """The current password's hash and the ones before it, newest first, `count` in all."""
    hashes = [user.password] if user.has_usable_password() else []
    hashes += PasswordHistory.objects.filter(user=user).values_list("password", flat=True)[:count + 1]
    return list(dict.fromkeys(hashes))[:count]


def password_policy_validate(*, user, password: str, extra_org: Organization | None = None) -> None:
    """Raise ValidationError with every message a person needs: the platform's rules, then the org's."""
    errors: list[ValidationError] = []
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors.extend(exc.error_list)
    policy = effective_policy(user=user, extra_org=extra_org)
    if policy.min_length > _platform_min_length():
        try:
            MinimumLengthValidator(policy.min_length).validate(password, user)
        except ValidationError as exc:
            # One "too short" message, with the length that applies.
            errors = [error for error in errors if error.code != "password_too_short"] + exc.error_list
    if policy.check_common and not any(isinstance(v, CommonPasswordValidator)
                                       for v in get_default_password_validators()):
        try:
            CommonPasswordValidator().validate(password, user)
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if (policy.history_count and user is not None and user.pk is not None
            and any(check_password(password, encoded) for encoded in _recent_hashes(user, policy.history_count))):
        errors.append(ValidationError(ngettext(
            "You used this password before. Choose one that differs from your last password.",
            "You used this password before. Choose one that differs from your last %(count)d passwords.",
            policy.history_count) % {"count": policy.history_count}, code="password_reused"))
    if errors:
        raise ValidationError(errors)


def password_rules_text(*, user=None, extra_org: Organization | None = None) -> str:
    """One sentence per rule, for the help text beside a new-password field."""
    policy = effective_policy(user=user, extra_org=extra_org)
    min_length = max(policy.min_length, _platform_min_length())
    texts = [ngettext("Use at least %(n)d character.", "Use at least %(n)d characters.", min_length)
             % {"n": min_length}] if min_length else []
    texts.append(_("Avoid common passwords, all-digit passwords and ones that resemble your email."))
    if policy.history_count:
        texts.append(ngettext("Do not reuse your last password.", "Do not reuse your last %(n)d passwords.",
                              policy.history_count) % {"n": policy.history_count})
    return " ".join(texts)


def password_history_record(*, user) -> None:
    """Remember the user's current password hash; keep the last HISTORY_KEEP.

    Called before a new password replaces the old one (a password set outside these services, say by
    an import, is remembered too) and after the new one is saved. Recording the same hash twice in a
    row is skipped.
    """
    if user.pk is None or not user.has_usable_password():
        return
    latest = PasswordHistory.objects.filter(user=user).values_list("password", flat=True).first()
    if latest == user.password:
        return
    PasswordHistory.objects.create(user=user, password=user.password)
    stale = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[HISTORY_KEEP:]
    PasswordHistory.objects.filter(pk__in=list(stale)).delete()


# Asked at every sign-in: its SQL is built once (config/compiled_queries.py).
_CHANGE_REQUIRED = CompiledQuery(
    lambda user_id: PasswordChangeRequired.objects.filter(user_id=user_id).values_list("pk", flat=True)[:1], -1)


def password_change_reason(*, user) -> str:
    """Why `user` must choose a new password before signing in: "required", "expired", or ""."""
    if _CHANGE_REQUIRED.first(user.pk) is not None:
        return "required"
    policy = effective_policy(user=user)
    if policy.max_age_days and user.has_usable_password():
        changed = user.password_changed_at
        # An account with no recorded change date is treated as due: the rule cannot be shown to hold.
        if changed is None or changed <= timezone.now() - timedelta(days=policy.max_age_days):
            return "expired"
    return ""
