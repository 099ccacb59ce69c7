"""One-time links: issuing, checking and using the tokens of invitations, password resets, email changes and
email verification.

A token is 256 random bits shown once (in the email) and stored only as its SHA-256 hash, bound to one
purpose, valid until it expires, is used, or is voided by a newer link for the same thing. Only the
POST that completes the action uses it up, with a conditional UPDATE, so two submissions of one link
cannot both succeed.
"""

import enum
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.exceptions import DomainError
from identity.models import OneTimeToken, token_hash

Purpose = OneTimeToken.Purpose

# The console's email queue redacts links under these paths (emailqueue.redaction.ONE_TIME_LINK_PREFIXES).
PATH_PREFIXES: dict[str, str] = {
    Purpose.INVITATION: "/invitation/",
    Purpose.PASSWORD_RESET: "/password/reset/",
    Purpose.EMAIL_CHANGE: "/account/email/confirm/",
    Purpose.EMAIL_VERIFICATION: "/account/email/verify/",
}
PASSWORD_RESET_LIFETIME = timedelta(hours=1)
EMAIL_CHANGE_LIFETIME = timedelta(hours=24)
# Longer than a change's: the mail arrives unasked (the account was created for the person), maybe on a Friday.
EMAIL_VERIFICATION_LIFETIME = timedelta(hours=72)
# secrets.token_urlsafe(32) is 43 characters; anything not shaped like a token is refused before any lookup.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,64}")


def invitation_lifetime() -> timedelta:
    return timedelta(hours=settings.GATEHOUSE_INVITATION_HOURS)


class LinkProblem(enum.Enum):
    UNKNOWN = "unknown"  # never issued, mistyped or tampered with
    USED = "used"
    EXPIRED = "expired"
    REPLACED = "replaced"  # a newer link for the same thing was sent


class InvalidLink(DomainError):
    """The link cannot be used; `problem` says why, so the page can say how to get a new one."""

    MESSAGES = {
        LinkProblem.UNKNOWN: _("This link is not valid. It may have been copied incompletely."),
        LinkProblem.USED: _("This link has already been used."),
        LinkProblem.EXPIRED: _("This link has expired."),
        LinkProblem.REPLACED: _("This link was replaced by a newer one. Use the link in the most recent email."),
    }

    def __init__(self, problem: LinkProblem, token: OneTimeToken | None = None):
        super().__init__(str(self.MESSAGES[problem]))
        self.problem = problem
        # Known for used, expired and replaced links: the page can name who to ask for a new one.
        self.token = token


def token_link(*, purpose: str, raw: str) -> str:
    """The absolute link for an email, on the issuer's origin."""
    return f"{settings.GATEHOUSE_ISSUER}{PATH_PREFIXES[purpose]}{raw}"


def token_void(*, user, purpose: str, membership=None) -> int:
    """Void the live links of `user` for `purpose` (for invitations: for that membership only)."""
    live = OneTimeToken.objects.for_purpose(purpose).filter(user=user, used_at__isnull=True, voided_at__isnull=True)
    if membership is not None:
        live = live.filter(membership=membership)
    return live.update(voided_at=timezone.now())


def token_issue(
    *, purpose: str, user, lifetime: timedelta, membership=None, email: str = "",
) -> tuple[OneTimeToken, str]:
    """Issue a new link, voiding the previous one for the same thing. Returns the row and the raw value.

    Call inside the transaction that needs the link; the raw value goes into the email and nowhere else.
    """
    token_void(user=user, purpose=purpose, membership=membership)
    token, raw = token_build(purpose=purpose, user=user, lifetime=lifetime, membership=membership, email=email)
    token.save(force_insert=True)
    return token, raw


def token_build(
    *, purpose: str, user, lifetime: timedelta, membership=None, email: str = "", now=None,
) -> tuple[OneTimeToken, str]:
    """A new link's row, not saved yet, and its raw value: token_issue saves one, a bulk caller many at once.

    Saving it voids nothing: a bulk caller voids what the new links replace itself (a membership created in
    the same transaction has no link to void).
    """
    raw = secrets.token_urlsafe(32)
    now = now or timezone.now()
    token = OneTimeToken(
        purpose=purpose, token_hash=token_hash(raw), user=user, membership=membership, email=email,
        created_at=now, expires_at=now + lifetime,
    )
    return token, raw


def _problem(token: OneTimeToken, now) -> LinkProblem | None:
    if token.used_at is not None:
        return LinkProblem.USED
    if token.voided_at is not None:
        return LinkProblem.REPLACED
    if token.expires_at <= now:
        return LinkProblem.EXPIRED
    return None


def token_get(*, purpose: str, raw: str, for_update: bool = False) -> OneTimeToken:
    """The live token for `raw` and `purpose`, or InvalidLink saying why not. Reading never uses it up.

    A token issued for another purpose is unknown here: a reset link pasted into the invitation
    page is simply not valid.
    """
    if not isinstance(raw, str) or not _TOKEN_SHAPE.fullmatch(raw):
        raise InvalidLink(LinkProblem.UNKNOWN)
    tokens = OneTimeToken.objects.for_purpose(purpose).by_value(raw).select_related("user")
    if for_update:
        tokens = tokens.select_for_update(of=("self",))
    token = tokens.first()
    if token is None:
        raise InvalidLink(LinkProblem.UNKNOWN)
    if problem := _problem(token, timezone.now()):
        raise InvalidLink(problem, token)
    return token


def token_use(*, token: OneTimeToken) -> OneTimeToken:
    """Use the token up. The conditional UPDATE is what makes it single-use under concurrency."""
    now = timezone.now()
    used = OneTimeToken.objects.filter(
        pk=token.pk, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=now,
    ).update(used_at=now)
    if not used:
        token.refresh_from_db()
        raise InvalidLink(_problem(token, now) or LinkProblem.USED, token)
    token.used_at = now
    return token
