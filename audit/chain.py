"""The audit hash chain's arithmetic: the canonical form of an event and its SHA-256 (no database here).

Each chain (one per organization, plus the platform's for events that belong to no org) links its
events by `seq` (1, 2, 3, … with no gap) and `prev_hash` (the previous event's `hash`, "" for the first).
An event's `hash` is the SHA-256 of the sorted-key, compact JSON of the fields below, so changing any
of them — or removing, inserting or reordering an event — breaks the link that follows.

Left out on purpose: `id` (assigned by the database after the hash is computed), `org_id` and
`actor_id` (links to rows that may be deleted: Django then sets them to NULL, the one UPDATE the
PostgreSQL trigger allows). The chain number carries the org, `actor_label` the actor.
"""

import hashlib
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = ""  # the prev_hash of a chain's first event
PLATFORM_CHAIN = 0  # the chain of events that belong to no organization; an org's chain is its id
VERSION = 1  # bumped if the canonical form ever changes, so old rows still verify under their version


def chain_for(org_id: int | None) -> int:
    return org_id if org_id is not None else PLATFORM_CHAIN


def _ip(value: Any) -> str:
    # PostgreSQL's inet prints an address its own way; hash the address, not the spelling.
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return str(value)


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_value(value: Any) -> Any:
    """The metadata as the database gives it back (tuples as lists, keys as strings)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def canonical(event: Any) -> bytes:
    """The bytes hashed for `event` (an AuditEvent, or anything with the same attributes)."""
    fields = {
        "v": VERSION,
        "chain": event.chain,
        "seq": event.seq,
        "prev_hash": event.prev_hash,
        "created_at": _when(event.created_at),
        "action": event.action,
        "actor_label": event.actor_label,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "ip": _ip(event.ip),
        "user_agent": event.user_agent,
        "forwarded_for": event.forwarded_for,
        "metadata": _json_value(event.metadata),
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Any) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()
