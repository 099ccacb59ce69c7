"""Revoking the OAuth tokens a user, an application or an organization holds, in bulk."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

logger = logging.getLogger(__name__)


def _token_filter(*, user, application, org) -> Q:
    """Every token model carries `user` and `application`, so one Q fits all four."""
    conditions = Q()
    if user is not None:
        conditions &= Q(user=user)
    if application is not None:
        conditions &= Q(application=application)
    if org is not None:
        conditions &= Q(application__org=org)
    return conditions


def _refresh_tokens_mark_revoked(refresh_tokens) -> int:
    """Set `revoked` on the live rows of `refresh_tokens`; DOT's RefreshToken.revoke() for many at once."""
    now = timezone.now()
    try:
        # A savepoint, so a failed bulk write leaves the caller's transaction usable for the fallback.
        with transaction.atomic():
            # `updated` is auto_now, which a queryset update does not set.
            return refresh_tokens.filter(revoked__isnull=True).update(revoked=now, updated=now)
    except IntegrityError:
        # (token_checksum, revoked) is unique and one shared timestamp collides when two live rows
        # hold the same checksum; DOT's revoke_family() falls back the same way (DOT #1816).
        live = list(refresh_tokens.filter(revoked__isnull=True))
        for refresh_token in live:
            refresh_token.revoke()
        return len(live)


@transaction.atomic
def tokens_revoke(*, user=None, application=None, org=None, reason: str) -> int:
    """Revoke every token matching all the given filters and return how many rows were revoked.

    - `user`: that user's tokens in every application; with `org` or `application`, only there.
    - `application`: every token of that application, client-credentials tokens included.
    - `org`: every token of that organization's applications.

    Refresh tokens are marked revoked (kept, as DOT keeps them, so a replay is recognised) and their
    access tokens deleted — the end state of DOT's RefreshToken.revoke(). Access tokens without a
    refresh token are deleted. ID tokens are deleted too: DOT accepts an ID token as a bearer token
    at userinfo (oauthlib's JWT token type), so a surviving row would still read the user's claims.
    Unused authorization codes are deleted, so a code issued a moment before cannot mint new tokens.
    The count covers all four kinds. Callers write the audit event; `reason` only goes to the log.
    """
    if user is None and application is None and org is None:
        raise ValueError("tokens_revoke needs a user, an application or an org; it never revokes everything.")
    conditions = _token_filter(user=user, application=application, org=org)
    refresh_token_model = get_refresh_token_model()
    access_token_model = get_access_token_model()
    refresh_tokens = refresh_token_model.objects.filter(conditions)

    # Refresh tokens first, then access tokens: the lock order of DOT's revoke() and rotation, so a
    # concurrent refresh cannot deadlock against this. A refresh token rotated in meanwhile loses its
    # access token below and is left an orphan, which DOT's validate_refresh_token refuses.
    revoked = _refresh_tokens_mark_revoked(refresh_tokens)
    # The forward FK, not the reverse accessor, whose name a swapped model may change (as DOT does).
    linked_access_tokens = access_token_model.objects.filter(
        pk__in=refresh_tokens.filter(access_token__isnull=False).values("access_token_id")
    )
    revoked += linked_access_tokens.delete()[0]
    revoked += access_token_model.objects.filter(conditions).delete()[0]
    # Deleting an ID token cascades to an access token still pointing at it; none is left by now.
    revoked += get_id_token_model().objects.filter(conditions).delete()[0]
    revoked += get_grant_model().objects.filter(conditions).delete()[0]
    logger.info("Revoked %d OAuth token rows (%s).", revoked, reason)
    return revoked
