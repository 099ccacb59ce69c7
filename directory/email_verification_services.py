"""Verifying an account's email address: the link that proves the mailbox, for accounts that never proved it.

An invitation, a password reset or an email change proves the address on its own (its link went there).
An account created with a password by an operator (or the API) has proved nothing, so `email_verified`
stays false, and ID tokens and userinfo say so, until the link in this module's mail is used.
"""

import math
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from config.exceptions import DomainError, NotAllowed
from directory.models import User
from directory.selectors import user_mail_org
from emailqueue.services import email_enqueue
from identity.models import OneTimeToken
from identity.tokens import EMAIL_VERIFICATION_LIFETIME, token_get, token_issue, token_link, token_use

PURPOSE = OneTimeToken.Purpose.EMAIL_VERIFICATION


class SentRecently(DomainError):
    """A link went out less than the caller's interval ago; `retry_after`: whole seconds until one may."""

    def __init__(self, retry_after: int):
        super().__init__(f"A verification email was sent moments ago; another may go in {retry_after} s.")
        self.retry_after = retry_after


def email_verification_needed(user: User) -> bool:
    """Whether the account should be offered a verification link: an unproved address on an account that
    can sign in (one without a password yet gets an invitation or reset link, which proves it anyway)."""
    return not user.email_verified and user.is_active and user.has_usable_password()


@transaction.atomic
def email_verification_send(*, user: User, actor=None, request=None,
                            not_within: timedelta | None = None) -> OneTimeToken | None:
    """Email a verification link to the account's address, voiding any earlier one; None (and no mail)
    when there is nothing to verify. Callers throttle requests made by people.

    `not_within`: refuse (SentRecently) while the last link is younger than that. Measured from the link
    itself, under the account's row lock, so it holds exactly, however the requests fall across clock
    minutes and however many arrive at once (a fixed-window counter lets two through at a window's edge)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not email_verification_needed(user):
        return None
    if not_within is not None:
        last = (OneTimeToken.objects.filter(user=user, purpose=PURPOSE).order_by("-created_at")
                .values_list("created_at", flat=True).first())
        if last is not None and (wait := (last + not_within - timezone.now()).total_seconds()) > 0:
            raise SentRecently(math.ceil(wait))
    token, raw = token_issue(purpose=PURPOSE, user=user, lifetime=EMAIL_VERIFICATION_LIFETIME, email=user.email)
    org = user_mail_org(user)
    email_enqueue(to=user.email, template="email_verification", kind="email_verification", org=org,
                  context={"user": user, "link": token_link(purpose=PURPOSE, raw=raw),
                           "expires_hours": int(EMAIL_VERIFICATION_LIFETIME.total_seconds() // 3600)})
    audit_record(action="email.verification_sent", actor=actor, org=org, target=user, request=request,
                 metadata={"email": user.email})
    return token


def _address_check(token: OneTimeToken) -> None:
    if token.email.lower() != token.user.email.lower():
        # The account moved to another address since; that change proved the new one already.
        raise NotAllowed("This link was sent to an address this account no longer uses, so it verifies nothing.")


def email_verification_get(*, raw_token: str) -> OneTimeToken:
    """The live verification link for `raw_token` (InvalidLink otherwise). Reading never uses it up."""
    token = token_get(purpose=PURPOSE, raw=raw_token)
    _address_check(token)
    return token


@transaction.atomic
def email_verification_confirm(*, raw_token: str, request=None) -> User:
    """Mark the address verified and use the link up. Whoever holds the link proved the mailbox, so no
    sign-in is needed; the link only ever verifies the address it was sent to."""
    token = token_get(purpose=PURPOSE, raw=raw_token, for_update=True)
    token.user = User.objects.select_for_update().get(pk=token.user_id)
    _address_check(token)
    token_use(token=token)
    user = token.user
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified", "updated_at"])
        audit_record(action="email.verified", actor=user, org=user_mail_org(user), target=user, request=request,
                     metadata={"email": user.email})
    return user
