"""Writes for webhooks: endpoints (create, edit, disable, enable, delete, new secret), the deliveries an
audit event fans out to, a test event, and requeue. Each is atomic and audited; deliveries are handed to
the broker once the transaction commits."""

import base64
import os
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.events import WEBHOOK_EVENT_NAMES
from audit.models import AuditEvent
from audit.services import audit_chain_listeners_set, audit_record
from config.encryption import encrypt
from config.exceptions import DomainError, NotAllowed
from config.outbox import DEAD, FAILED, PENDING, outbox_requeue
from orgs.models import Organization
from webhooks.models import WebhookDelivery, WebhookEndpoint, new_message_id
from webhooks.targets import TargetRefused, resolve
from webhooks.tasks import webhook_dispatch

TEST_EVENT = "webhook.test"
REQUEUEABLE = (DEAD, FAILED)
SECRET_BYTES = 32
SECRET_OVERLAP = timedelta(hours=24)
# Metadata keys whose text never leaves Gatehouse in a webhook (an audit row should not hold such values
# anyway; this is the second line). Numbers and yes/no under them (e.g. `tokens_revoked: 3`) are kept.
_WITHHELD = ("secret", "password", "token", "link", "code", "otp", "hash")


def _new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [name for name in chosen if name not in WEBHOOK_EVENT_NAMES]
    if unknown:
        raise DomainError(f"Not an event webhooks can subscribe to: {', '.join(unknown)}.", field="events")
    if not chosen:
        raise DomainError("Choose at least one event to send.", field="events")
    return chosen


def _checked_url(url: str) -> str:
    url = url.strip()
    try:
        resolve(url)
    except TargetRefused as exc:
        raise DomainError(str(exc), field="url") from None
    return url


def _listeners_recount(org: Organization) -> None:
    audit_chain_listeners_set(org=org, count=WebhookEndpoint.objects.for_org(org).active().count())


@transaction.atomic
def webhook_endpoint_create(*, org: Organization, url: str, events: Iterable[str], description: str = "",
                            actor, request=None) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint; returns it and its signing secret, which is shown this once and stored encrypted.

    The URL must be http(s) and resolve only to public addresses (targets.py); the events must come from
    the catalogue's webhook-visible actions. Either refusal is a DomainError naming the field, and
    nothing is saved.
    """
    url = _checked_url(url)
    chosen = _clean_events(events)
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(org=org, url=url, events=chosen, description=description.strip()[:200],
                                              secret_encrypted=encrypt(secret),
                                              created_by=actor if getattr(actor, "is_authenticated", False) else None)
    _listeners_recount(org)
    audit_record(action="webhook.created", actor=actor, org=org, target=endpoint, request=request,
                 metadata={"url": url, "events": chosen})
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, url: str, events: Iterable[str], description: str = "",
                            actor, request=None) -> WebhookEndpoint:
    """Change an endpoint's URL, events or description (the URL is checked again, as on creation)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description}
    after = {"url": _checked_url(url) if url.strip() != endpoint.url else endpoint.url,
             "events": _clean_events(events), "description": description.strip()[:200]}
    if after == before:
        return endpoint
    for name, value in after.items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=["url", "events", "description", "updated_at"])
    audit_record(action="webhook.updated", actor=actor, org=endpoint.org, target=endpoint, request=request,
                 metadata={"before": before, "after": after})
    return endpoint


@transaction.atomic
def webhook_endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool, actor, request=None) -> WebhookEndpoint:
    """Disable an endpoint (no new deliveries; waiting ones die when their turn comes) or enable it again."""
    endpoint = WebhookEndpoint.objects.select_for_update().select_related("org").get(pk=endpoint.pk)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    endpoint.save(update_fields=["is_active", "updated_at"])
    _listeners_recount(endpoint.org)
    audit_record(action="webhook.enabled" if active else "webhook.disabled", actor=actor, org=endpoint.org,
                 target=endpoint, request=request, metadata={"url": endpoint.url})
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor, request=None) -> None:
    """Delete an endpoint with its deliveries and their attempts; the audit log keeps what it was."""
    endpoint = WebhookEndpoint.objects.select_for_update().select_related("org").get(pk=endpoint.pk)
    org = endpoint.org
    deliveries = endpoint.deliveries.count()
    audit_record(action="webhook.deleted", actor=actor, org=org, target=endpoint, request=request,
                 metadata={"url": endpoint.url, "events": endpoint.events, "deliveries_deleted": deliveries})
    endpoint.delete()
    _listeners_recount(org)


@transaction.atomic
def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint, actor, request=None) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, shown once. For SECRET_OVERLAP (24 hours) each request carries a signature by
    the old secret too, so the receiver can switch to the new one without refusing a delivery."""
    endpoint = WebhookEndpoint.objects.select_for_update().select_related("org").get(pk=endpoint.pk)
    secret = _new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    until = timezone.now() + SECRET_OVERLAP
    endpoint.previous_secret_expires_at = until
    endpoint.secret_encrypted = encrypt(secret)
    endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at",
                                 "updated_at"])
    audit_record(action="webhook.secret_rotated", actor=actor, org=endpoint.org, target=endpoint, request=request,
                 metadata={"url": endpoint.url, "old_secret_signs_until": until.isoformat()})
    return endpoint, secret


# ------------------------------------------------------------------------------------------- payloads


def _withheld(key: str) -> bool:
    key = key.lower()
    return any(part in key for part in _WITHHELD)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: ("[withheld]" if _withheld(str(key)) and isinstance(item, str) else _scrub(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def webhook_payload(event: AuditEvent, *, org: Organization | None = None) -> dict[str, Any]:
    """The body of an event's delivery: `{type, timestamp, data}` — no secrets, no one-time links."""
    org_slug = org.slug if org is not None else None
    return {
        "type": event.action,
        "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "event_id": event.pk,
            "org": {"id": event.org_id, "slug": org_slug},
            "actor": {"email": event.actor_label} if event.actor_label else None,
            "target": ({"type": event.target_type, "id": event.target_id, "label": event.target_label}
                       if event.target_type or event.target_id else None),
            "metadata": _scrub(event.metadata),
        },
    }


def webhook_deliveries_enqueue(events: Sequence[AuditEvent]) -> list[WebhookDelivery]:
    """The audit listener: for each new webhook-visible event of an org, a pending delivery per active endpoint
    that asked for it, written in the event's transaction and handed to the broker after its commit.
    One query for the endpoints of every org in the batch, one INSERT for the deliveries."""
    visible = [event for event in events if event.org_id is not None and event.action in WEBHOOK_EVENT_NAMES]
    if not visible:
        return []
    endpoints = list(WebhookEndpoint.objects.filter(org_id__in={event.org_id for event in visible}, is_active=True)
                     .select_related("org").only("id", "org_id", "events", "org__slug"))
    if not endpoints:
        return []
    now = timezone.now()
    rows = []
    for event in visible:
        for endpoint in endpoints:
            if endpoint.org_id == event.org_id and event.action in endpoint.events:
                rows.append(WebhookDelivery(org_id=event.org_id, endpoint=endpoint, event_type=event.action,
                                            audit_event_id=event.pk, payload=webhook_payload(event, org=endpoint.org),
                                            message_id=new_message_id(), status=PENDING, next_attempt_at=now,
                                            dispatched_at=now, created_at=now))
    if not rows:
        return []
    WebhookDelivery.objects.bulk_create(rows, batch_size=500)
    _dispatch_on_commit([row.pk for row in rows])
    return rows


_batch = threading.local()


def _dispatch_on_commit(ids: list[int]) -> None:
    """Hand `ids` to the broker after the commit, together with every other delivery the transaction wrote:
    a transaction recording 300 events sends 3 broker messages of 100, not 300 of one.

    Each call registers a callback, and the first to run drains this thread's batch; later ones find it
    empty. Ids of rows a rollback removed may stay in the batch until the next commit drains it: their
    tasks find no row to claim. Every committed row has a callback that runs after it, and the sweeper
    covers the rest, so nothing is left behind.
    """
    pending = getattr(_batch, "ids", None)
    if pending is None:
        pending = _batch.ids = []
    pending.extend(ids)
    transaction.on_commit(_dispatch_batch)


def _dispatch_batch() -> None:
    ids = getattr(_batch, "ids", None) or []
    _batch.ids = []
    if ids:
        webhook_dispatch(ids)


@transaction.atomic
def webhook_test_send(*, endpoint: WebhookEndpoint, actor, request=None) -> WebhookDelivery:
    """Send a `webhook.test` event to one endpoint now (through the outbox, like any other)."""
    endpoint = WebhookEndpoint.objects.select_related("org").get(pk=endpoint.pk)
    if not endpoint.is_active:
        raise NotAllowed("This endpoint is disabled; enable it to send it a test event.")
    now = timezone.now()
    event = audit_record(action="webhook.test_sent", actor=actor, org=endpoint.org, target=endpoint,
                         request=request, metadata={"url": endpoint.url})
    payload = webhook_payload(event, org=endpoint.org)
    payload["type"] = TEST_EVENT
    payload["data"]["metadata"] = {"message": "A test event from Gatehouse: your endpoint is reachable."}
    delivery = WebhookDelivery.objects.create(org=endpoint.org, endpoint=endpoint, event_type=TEST_EVENT,
                                              audit_event_id=event.pk, payload=payload, status=PENDING,
                                              next_attempt_at=now, dispatched_at=now, created_at=now)
    transaction.on_commit(partial(webhook_dispatch, [delivery.pk]))
    return delivery


@transaction.atomic
def webhook_delivery_requeue(*, delivery: WebhookDelivery, actor, request=None) -> WebhookDelivery:
    """A dead or failed delivery goes back to pending, due now, with a fresh set of attempts (same webhook-id).

    The attempts and error it had are kept in the audit event.
    """
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint", "org").get(pk=delivery.pk)
    if delivery.status not in REQUEUEABLE:
        raise NotAllowed(f"This delivery is {delivery.get_status_display().lower()}; only dead or failed "
                         "deliveries can be requeued.")
    if not delivery.endpoint.is_active:
        raise NotAllowed("The endpoint is disabled; enable it before sending its deliveries again.")
    before = {"status": delivery.status, "attempts": delivery.attempts, "last_error": delivery.last_error[:500]}
    delivery.save(update_fields=outbox_requeue(delivery))
    audit_record(action="webhook.delivery_requeued", actor=actor, org=delivery.org, target=delivery.endpoint,
                 request=request, metadata={"before": before, "after": {"status": delivery.status},
                                            "delivery_id": delivery.pk, "webhook_id": delivery.message_id})
    transaction.on_commit(partial(webhook_dispatch, [delivery.pk]))
    return delivery
