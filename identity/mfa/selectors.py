"""Reads of second factors: what a user has, and what the MFA policies of their orgs ask of them.

The policy rules (docs/mfa.md):
- an org's `mfa_policy` covers everyone (`everyone`) or its console roles (`console_roles`: owner, admin,
  auditor — the roles that open the console); it applies through the user's active memberships of active
  orgs, and the strictest one wins;
- platform operators belong to no org: GATEHOUSE_MFA_REQUIRED_FOR_OPERATORS covers them, with no grace;
- a factor is an authenticator app or a passkey. Recovery codes are not one: they only stand in for a
  factor the user has;
- someone covered without a factor may skip setting one up until their grace window ends: the org's
  `mfa_grace_days` after the later of the date the policy came to cover them (`mfa_required_since`) and
  the start of their membership. After that they cannot finish signing in without setting one up.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from config.compiled_queries import CompiledQuery
from directory.models import User
from identity.mfa.models import RecoveryCode, RecoveryCodeSet, TotpDevice
from identity.passkeys.models import Passkey
from identity.passkeys.selectors import user_passkey_count
from orgs.models import Membership, Organization
from orgs.permissions import CONSOLE_ROLES
from orgs.selectors import membership_in_force, user_memberships


def policy_covers_role(policy: str, role: str) -> bool:
    """Whether an org's MFA policy asks a member of `role` for a second factor."""
    if policy == Organization.MfaPolicy.EVERYONE:
        return True
    return policy == Organization.MfaPolicy.CONSOLE_ROLES and role in CONSOLE_ROLES


def user_totp_devices(*, user: User):
    """The user's confirmed authenticator apps, oldest first."""
    return TotpDevice.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")


def user_totp_pending(*, user: User) -> TotpDevice | None:
    """The authenticator app whose enrolment waits for its first code, if any."""
    return TotpDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()


def user_recovery_codes_left(*, user: User) -> int | None:
    """Unused recovery codes of the user's current set; None when they have no set."""
    code_set = RecoveryCodeSet.objects.filter(user=user).first()
    if code_set is None:
        return None
    return code_set.codes.filter(used_at__isnull=True).count()


def user_has_recovery_codes(*, user: User) -> bool:
    """Whether the user has an unused recovery code (one query)."""
    return RecoveryCode.objects.filter(code_set__user=user, used_at__isnull=True).exists()


def user_factor_count(*, user: User) -> int:
    """Authenticator apps plus passkeys (recovery codes are not a factor)."""
    return user_totp_devices(user=user).count() + user_passkey_count(user=user)


def user_has_factor(*, user: User) -> bool:
    return user_totp_devices(user=user).exists() or user_passkey_count(user=user) > 0


# The kinds user_factor_kinds names; the first two are factors, recovery codes only stand in for one.
FACTOR_TOTP, FACTOR_PASSKEY, FACTOR_RECOVERY = "totp", "passkey", "recovery"
SECOND_FACTORS = frozenset({FACTOR_TOTP, FACTOR_PASSKEY})


# Read at every sign-in: its SQL (three EXISTS) is built once (config/compiled_queries.py).
_FACTOR_KINDS = CompiledQuery(lambda user_id: User.objects.filter(pk=user_id).annotate(
    has_totp=Exists(TotpDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
    has_passkey=Exists(Passkey.objects.filter(user=OuterRef("pk"))),
    has_recovery=Exists(RecoveryCode.objects.filter(code_set__user=OuterRef("pk"), used_at__isnull=True)),
).values_list("has_totp", "has_passkey", "has_recovery")[:1], -1)


def user_factor_kinds(*, user: User) -> list[str]:
    """Which of an authenticator app, a passkey and an unused recovery code the user has, in one query:
    the sign-in flow reads it once and keeps it (identity/flows.py)."""
    row = _FACTOR_KINDS.first(user.pk)
    if row is None:
        return []
    return [kind for kind, has in zip((FACTOR_TOTP, FACTOR_PASSKEY, FACTOR_RECOVERY), row, strict=True) if has]


@dataclass(frozen=True)
class MfaRequirement:
    """What the policies covering a user ask. `grace_ends` is the earliest end of their grace windows
    (None: no grace at all, e.g. an operator)."""

    required: bool
    grace_ends: datetime | None = None
    orgs: tuple[str, ...] = field(default=())

    def in_grace(self, now: datetime | None = None) -> bool:
        return self.grace_ends is not None and (now or timezone.now()) < self.grace_ends


NOT_REQUIRED = MfaRequirement(required=False)


def membership_grace_ends(membership: Membership) -> datetime:
    org = membership.org
    start = max(org.mfa_required_since or membership.created_at, membership.created_at)
    return start + timedelta(days=org.mfa_grace_days)


def user_mfa_requirement(*, user: User) -> MfaRequirement:
    """Whether any policy covering `user` asks for a second factor, and until when they may skip it."""
    if user.is_superuser and settings.GATEHOUSE_MFA_REQUIRED_FOR_OPERATORS:
        return MfaRequirement(required=True, grace_ends=None, orgs=())
    memberships = [
        membership for membership in user_memberships(user=user)
        if membership_in_force(membership) and membership.org.mfa_policy != Organization.MfaPolicy.OFF
        and policy_covers_role(membership.org.mfa_policy, membership.role)
    ]
    if not memberships:
        return NOT_REQUIRED
    return MfaRequirement(required=True, grace_ends=min(membership_grace_ends(m) for m in memberships),
                          orgs=tuple(sorted(m.org.name for m in memberships)))


def org_requires_mfa(*, org: Organization, user: User) -> bool:
    """Whether `org`'s policy covers `user` (through an active membership): for its apps and console."""
    if org.mfa_policy == Organization.MfaPolicy.OFF:
        return False
    role = (Membership.objects.filter(org=org, user=user, status=Membership.Status.ACTIVE)
            .values_list("role", flat=True).first())
    return role is not None and policy_covers_role(org.mfa_policy, role)
