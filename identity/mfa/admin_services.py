"""An administrator's reset of a member's second factors (docs/mfa-admin.md): for a person who lost them."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from audit.fanout import audit_record_with_org_copies
from config.exceptions import NotAllowed
from directory.models import User
from directory.selectors import user_mail_org
from emailqueue.services import email_enqueue
from identity.mfa.admin_selectors import MfaSummary, mfa_reset_refusal, user_mfa_summary
from identity.mfa.models import RecoveryCodeSet, TotpDevice
from identity.passkeys.models import Passkey
from orgs.selectors import member_org_ids


@dataclass(frozen=True)
class MfaReset:
    removed: MfaSummary

    @property
    def changed(self) -> bool:
        return self.removed.anything


@transaction.atomic
def user_mfa_reset(*, user: User, actor: User | None, org=None, request=None) -> MfaReset:
    """Remove every second factor of `user`: authenticator apps (pending ones too), recovery codes and
    passkeys. Nothing else: their password, sessions and memberships stay; an MFA policy that covers them
    asks them to set up a new factor at their next sign-in.

    `org` is the org whose admin does it (None: a platform operator, or the system when `actor` is None);
    the rule is mfa_reset_refusal's
    (raises NotAllowed, nothing changed). Audited as `mfa.reset` in that org's log (the platform's for an
    operator), and the user is emailed. With nothing to remove, nothing is written and no mail goes.
    """
    if refusal := mfa_reset_refusal(user=user, actor=actor, org=org):
        raise NotAllowed(refusal)
    User.objects.select_for_update().filter(pk=user.pk).first()  # one reset (or removal) at a time per user
    removed = user_mfa_summary(user=user)
    if not removed.anything:
        return MfaReset(removed=removed)
    TotpDevice.objects.filter(user=user).delete()
    RecoveryCodeSet.objects.filter(user=user).delete()
    Passkey.objects.filter(user=user).delete()
    # The admin's org (or the platform's log), and each org where the account is an active member.
    audit_record_with_org_copies(
        action="mfa.reset", copy_action="mfa.reset", copy_org_ids=member_org_ids(user=user), actor=actor, org=org,
        target=user, request=request,
        metadata={"email": user.email, "authenticator_apps": removed.authenticator_apps,
                  "passkeys": removed.passkeys, "recovery_codes_left": removed.recovery_codes_left,
                  "by": "org_admin" if org is not None else "operator" if actor is not None else "command"})
    email_enqueue(to=user.email, template="mfa_reset", kind="mfa_reset", org=user_mail_org(user),
                  context={"user": user, "org_name": org.name if org is not None else "", "when": timezone.now(),
                           "removed": removed})
    return MfaReset(removed=removed)
