"""What an administrator may know about a member's second factors: their kinds and counts, never a secret,
a name or a device (docs/mfa-admin.md)."""

from dataclasses import dataclass

from directory.models import User
from directory.selectors import user_belongs_to_org_alone
from identity.mfa.selectors import user_recovery_codes_left, user_totp_devices
from identity.passkeys.selectors import user_passkey_count


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


def user_mfa_summary(*, user: User) -> MfaSummary:
    """The kinds and counts of `user`'s second factors, for the console's member page."""
    return MfaSummary(authenticator_apps=user_totp_devices(user=user).count(),
                      passkeys=user_passkey_count(user=user),
                      recovery_codes_left=user_recovery_codes_left(user=user))


def mfa_reset_refusal(*, user: User, actor: User, org=None) -> str:
    """Why `actor` may not reset `user`'s second factors, or "". A platform operator (org None) may reset
    anyone's but their own; an org's admin only those of someone who belongs to that org alone (DESIGN.md:
    the account is one global identity, which one org must not be able to take over)."""
    if user.pk == actor.pk:
        return "Reset your own two-step verification from your account's security page."
    if org is None:
        return "" if actor.is_superuser else "Only a platform operator can reset this account's two-step verification."
    if not user_belongs_to_org_alone(org=org, user=user):
        return (f"{user.email} also belongs to another organization (or is a platform operator), so only a "
                "platform operator can reset their two-step verification.")
    return ""
