"""Revoking the OAuth tokens a user, an application or an organization holds, in bulk."""

import hashlib
import logging
from collections.abc import Collection

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from applications.models import AuthorizationRecord
from applications.token_selectors import token_filter

logger = logging.getLogger(__name__)


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
    conditions = token_filter(user=user, application=application, org=org)
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


@transaction.atomic
def tokens_revoke_for_sessions(*, sids: Collection[str], reason: str, org=None) -> int:
    """Revoke what was issued in the signed-in browser sessions `sids`, in every application (only `org`'s,
    if given), and return how many rows were revoked (the count tokens_revoke gives).

    A code's AuthorizationRecord names the session it came from and the refresh token family it was
    redeemed for: that family's refresh tokens are marked revoked, their access and ID tokens deleted,
    and codes issued in the session but not yet redeemed are deleted, so they cannot mint tokens after
    the session ended. Tokens the user holds from other sessions are untouched. A JWT access token
    already handed to an API stays valid at that API until it expires (minutes); introspection says
    inactive at once.
    """
    sids = [sid for sid in sids if sid]
    if not sids:
        return 0
    records = AuthorizationRecord.objects.filter(sid__in=sids)
    if org is not None:
        records = records.filter(application__org=org)
    refresh_token_model = get_refresh_token_model()
    access_token_model = get_access_token_model()
    family = refresh_token_model.objects.filter(
        token_family__in=records.filter(token_family__isnull=False).values("token_family"))
    revoked = _refresh_tokens_mark_revoked(family)
    access_tokens = access_token_model.objects.filter(
        Q(pk__in=family.filter(access_token__isnull=False).values("access_token_id"))
        | Q(source_refresh_token__in=family))
    # An ID token's deletion cascades to its access token; what is left is deleted after.
    revoked += get_id_token_model().objects.filter(
        pk__in=access_tokens.filter(id_token__isnull=False).values("id_token_id")).delete()[0]
    revoked += access_tokens.delete()[0]
    revoked += _unredeemed_codes_delete(records)
    logger.info("Revoked %d OAuth token rows of %d sessions (%s).", revoked, len(sids), reason)
    return revoked


def _unredeemed_codes_delete(records) -> int:
    """Delete the codes of `records` not yet exchanged. DOT keeps a code in the clear and the record only
    its checksum, so the user's few live codes (they last a minute) are matched here, not in SQL."""
    pending = records.filter(redeemed_at__isnull=True)
    checksums = set(pending.values_list("code_checksum", flat=True))
    if not checksums:
        return 0
    grant_model = get_grant_model()
    live = grant_model.objects.filter(user_id__in=pending.values("user_id"), expires__gt=timezone.now())
    doomed = [pk for pk, code in live.values_list("pk", "code")
              if hashlib.sha256(code.encode()).hexdigest() in checksums]
    return grant_model.objects.filter(pk__in=doomed).delete()[0] if doomed else 0
