"""What an administrator may know about a member's second factors: their kinds and counts, never a secret,
a name or a device (docs/mfa-admin.md)."""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from directory.models import User
from directory.selectors import user_belongs_to_org_alone
from identity.mfa.models import RecoveryCode, RecoveryCodeSet, TotpDevice
from identity.passkeys.models import Passkey


@dataclass(frozen=True)
class MfaSummary:
    authenticator_apps: int
    passkeys: int
    recovery_codes_left: int | None  # None: no set of recovery codes

    @property
    def factors(self) -> int:
        return self.authenticator_apps + self.passkeys

    @property
    def anything(self) -> bool:
        """Whether a reset would remove anything (recovery codes left behind count too)."""
        return bool(self.factors or self.recovery_codes_left is not None)


def _count(queryset) -> Coalesce:
    """A correlated COUNT(*) of `queryset` per user, 0 when none."""
    counted = queryset.order_by().values("user_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


def user_mfa_summary(*, user: User) -> MfaSummary:
    """The kinds and counts of `user`'s second factors, for the console's member page, in one query. The
    same definitions as identity.mfa.selectors: confirmed authenticator apps, passkeys, unused codes of the
    current recovery set."""
    row = User.objects.filter(pk=user.pk).annotate(
        apps=_count(TotpDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
        keys=_count(Passkey.objects.filter(user=OuterRef("pk"))),
        has_codes=Exists(RecoveryCodeSet.objects.filter(user=OuterRef("pk"))),
        codes_left=Coalesce(Subquery(
            RecoveryCode.objects.filter(code_set__user=OuterRef("pk"), used_at__isnull=True).order_by()
            .values("code_set__user").annotate(n=Count("pk")).values("n")[:1]), 0),
    ).values("apps", "keys", "has_codes", "codes_left").first()
    if row is None:
        return MfaSummary(authenticator_apps=0, passkeys=0, recovery_codes_left=None)
    return MfaSummary(authenticator_apps=row["apps"], passkeys=row["keys"],
                      recovery_codes_left=row["codes_left"] if row["has_codes"] else None)


def mfa_reset_refusal(*, user: User, actor: User | None, org=None) -> str:
    """Why `actor` may not reset `user`'s second factors, or "". A platform operator (org None) may reset
    anyone's but their own, and so may the system (actor None: `manage.py mfa_reset`, run by whoever has
    the server); an org's admin only those of someone who belongs to that org alone (DESIGN.md: the
    account is one global identity, which one org must not be able to take over)."""
    if actor is None:
        return ""
    if user.pk == actor.pk:
        return "Reset your own two-step verification from your account's security page."
    if org is None:
        return "" if actor.is_superuser else "Only a platform operator can reset this account's two-step verification."
    if not user_belongs_to_org_alone(org=org, user=user):
        return (f"{user.email} also belongs to another organization (or is a platform operator), so only a "
                "platform operator can reset their two-step verification.")
    return ""
