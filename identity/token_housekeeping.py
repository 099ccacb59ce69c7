"""Token housekeeping: expired and spent OAuth rows deleted in bounded batches, as a periodic job runs it."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.settings import oauth2_settings

from applications.models import Application, AuthorizationRecord
from identity.models import UserSession

logger = logging.getLogger(__name__)

# A code is redeemable for AUTHORIZATION_CODE_EXPIRE_SECONDS; its record is kept this much longer,
# for a token request already on its way and for clocks that differ between web hosts and the worker.
UNREDEEMED_RECORD_MARGIN = timedelta(minutes=5)

TABLES = ("access_tokens", "refresh_tokens", "id_tokens", "grants", "authorization_records")


@dataclass
class TokensPruned:
    """What one run deleted, per table, and which steps stopped at the per-run cap with rows left."""

    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    unfinished: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


@dataclass(frozen=True)
class _Rules:
    """The clock and lifetimes of one run, read once at its start."""

    now: datetime
    default_refresh_lifetime: timedelta | None  # DOT's REFRESH_TOKEN_EXPIRE_SECONDS, after the access token expires
    own_refresh_lifetimes: tuple[int, ...]  # the distinct Application.refresh_token_lifetime values in use

    def refresh_lifetime_over(self, *, before_default: str, before_own: str) -> Q:
        """Rows whose refresh lifetime has run out: `before_default` (a datetime field) at least the
        deployment's lifetime ago for applications without their own, `before_own` at least the
        application's own lifetime ago otherwise. The validator's rule (GatehouseValidator.
        _validate_live_refresh_token); DOT's clear_expired() knows only the deployment's lifetime and
        would delete the live refresh tokens of an app that sets a longer one."""
        over = Q(pk__in=[])
        if self.default_refresh_lifetime:
            over |= Q(application__refresh_token_lifetime__isnull=True,
                      **{f"{before_default}__lte": self.now - self.default_refresh_lifetime})
        # One condition per distinct lifetime: portable (no interval arithmetic in SQL) and few in practice.
        for seconds in self.own_refresh_lifetimes:
            over |= Q(application__refresh_token_lifetime=seconds,
                      **{f"{before_own}__lte": self.now - timedelta(seconds=seconds)})
        return over


def _refresh_tokens_dead(rules: _Rules) -> QuerySet:
    """Unrevoked refresh tokens that can no longer be used: past their lifetime, or orphaned (their
    access token deleted out of band, which validate_refresh_token refuses)."""
    lifetime_over = rules.refresh_lifetime_over(before_default="access_token__expires", before_own="created")
    return get_refresh_token_model().objects.filter(Q(access_token__isnull=True) | lifetime_over,
                                                    revoked__isnull=True)


def _refresh_tokens_spent(rules: _Rules) -> QuerySet:
    """Revoked refresh tokens that reuse detection no longer needs.

    A replayed revoked token revokes its family (REFRESH_TOKEN_REUSE_PROTECTION), so a revoked row is
    kept while its family still has an unrevoked member; once none is left (the newest expired and was
    deleted above, or the family was revoked) there is nothing to protect. A family in use for longer
    than a refresh token lives drops its rows revoked more than that lifetime ago, as DOT does; a row
    inside the grace period is always kept (a client retrying a refresh whose answer it lost).
    """
    refresh_token_model = get_refresh_token_model()
    grace = timedelta(seconds=oauth2_settings.REFRESH_TOKEN_GRACE_PERIOD_SECONDS or 0)
    revoked = refresh_token_model.objects.filter(revoked__lte=rules.now - grace)
    if not oauth2_settings.REFRESH_TOKEN_REUSE_PROTECTION:
        return revoked  # nothing reads a revoked row after the grace period
    family_in_use = refresh_token_model.objects.filter(token_family=OuterRef("token_family"), revoked__isnull=True)
    spent = (Q(token_family__isnull=True) | ~Exists(family_in_use)
             | rules.refresh_lifetime_over(before_default="revoked", before_own="revoked"))
    return revoked.filter(spent)


def _access_tokens_expired(rules: _Rules) -> QuerySet:
    """Expired access tokens that no refresh token points at. A refresh token's own access token
    stays with it (DOT's rule): its expiry is what the idle refresh lifetime counts from, and
    rotation deletes it."""
    refresh_tokens = get_refresh_token_model().objects.filter(access_token=OuterRef("pk"))
    return get_access_token_model().objects.filter(expires__lte=rules.now).filter(~Exists(refresh_tokens))


def _id_tokens_expired(rules: _Rules) -> QuerySet:
    """Expired ID tokens that no access token points at (deleting one would cascade to that access token)."""
    access_tokens = get_access_token_model().objects.filter(id_token=OuterRef("pk"))
    return get_id_token_model().objects.filter(expires__lte=rules.now).filter(~Exists(access_tokens))


def _grants_expired(rules: _Rules) -> QuerySet:
    """Authorization codes past their expiry: the token endpoint refuses them."""
    return get_grant_model().objects.filter(expires__lte=rules.now)


def _authorization_records_unreferenced(rules: _Rules) -> QuerySet:
    """Records nothing reads any more.

    Unredeemed: the code expired unused, so no tokens or RP session came of it. Redeemed: the
    validator reads the record on refresh (sid, amr, auth_time) while its token family has rows, and
    a code replay revokes that family through it; back-channel logout finds the apps to tell by the
    record's sid while that session is live. Both over: it goes.
    """
    code_lifetime = timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS)
    unredeemed = Q(redeemed_at__isnull=True, created_at__lte=rules.now - code_lifetime - UNREDEEMED_RECORD_MARGIN)
    family = get_refresh_token_model().objects.filter(token_family=OuterRef("token_family"))
    live_session = UserSession.objects.live().filter(sid=OuterRef("sid"))
    redeemed = (Q(redeemed_at__isnull=False) & (Q(token_family__isnull=True) | ~Exists(family))
                & (Q(sid="") | ~Exists(live_session)))
    return AuthorizationRecord.objects.filter(unredeemed | redeemed)


# In dependency order: refresh tokens release their access tokens, access tokens their ID tokens,
# and records are free once their family's rows are gone.
STEPS: tuple[tuple[str, str, Callable[[_Rules], QuerySet]], ...] = (
    ("refresh_tokens", "dead refresh tokens", _refresh_tokens_dead),
    ("refresh_tokens", "spent refresh tokens", _refresh_tokens_spent),
    ("access_tokens", "expired access tokens", _access_tokens_expired),
    ("id_tokens", "expired ID tokens", _id_tokens_expired),
    ("grants", "expired grants", _grants_expired),
    ("authorization_records", "unreferenced authorization records", _authorization_records_unreferenced),
)


def _delete_in_batches(queryset: QuerySet, *, batch_size: int, max_batches: int) -> tuple[int, bool]:
    """Delete the rows of `queryset`, `batch_size` per transaction, at most `max_batches` times.
    Returns (rows deleted, whether none are left)."""
    model = queryset.model
    deleted = 0
    for _ in range(max_batches):
        with transaction.atomic():
            # Locked rows are skipped, not waited for: a concurrent run (or a token request holding
            # one) takes them, and the lock keeps anyone from linking to a row between the pick and
            # the delete. PostgreSQL only; SQLite has one writer anyway.
            pks = list(queryset.select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", flat=True)[:batch_size])
            if not pks:
                return deleted, True
            # The ORM delete, so the SET_NULL links to these rows (a successor access token's
            # source_refresh_token) are cleared as DOT's own deletes clear them; only pks are loaded.
            _, per_model = model.objects.filter(pk__in=pks).only("pk").delete()
            deleted += per_model.get(model._meta.label, 0)
        if len(pks) < batch_size:
            return deleted, True
    return deleted, False


def tokens_prune(*, batch_size: int | None = None, max_batches: int | None = None) -> TokensPruned:
    """Delete expired and spent token rows — refresh tokens, access tokens, ID tokens, grants and
    authorization records — in batches, bounded per run (GATEHOUSE_TOKENS_PRUNE_*), and log one line.

    Never deletes what a live token, reuse detection or back-channel logout still reads (each step
    says its rule). Idempotent; a run that stops at the cap leaves the rest to the next run.
    """
    started = time.monotonic()
    batch_size = batch_size or settings.GATEHOUSE_TOKENS_PRUNE_BATCH_SIZE
    max_batches = max_batches or settings.GATEHOUSE_TOKENS_PRUNE_MAX_BATCHES
    rules = _Rules(
        now=timezone.now(),
        default_refresh_lifetime=refresh_token_expire_timedelta(),
        own_refresh_lifetimes=tuple(
            Application.objects.filter(refresh_token_lifetime__isnull=False).order_by()
            .values_list("refresh_token_lifetime", flat=True).distinct()),
    )
    result = TokensPruned()
    for table, step, rows in STEPS:
        deleted, finished = _delete_in_batches(rows(rules), batch_size=batch_size, max_batches=max_batches)
        result.deleted[table] += deleted
        if not finished:
            result.unfinished.append(step)
    result.seconds = time.monotonic() - started
    logger.info(
        "Token housekeeping deleted %s in %.1f s%s",
        ", ".join(f"{count} {table}" for table, count in result.deleted.items()), result.seconds,
        f"; the cap of {max_batches} x {batch_size} rows stopped: {', '.join(result.unfinished)} (next run goes on)"
        if result.unfinished else "",
    )
    return result
