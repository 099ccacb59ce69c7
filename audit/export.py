"""Streaming exports of the audit log, as CSV or JSON Lines, for the console and the management API.

Both read the events a few thousand at a time (a million events never sit in memory) in the order
given — pass `audit_event_list(...)` for an org's filtered log. Each row carries its chain fields
(chain, seq, prev_hash, hash), so an export can be checked against the chain later.
CSV cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR) are prefixed with an
apostrophe (OWASP "CSV injection"); the metadata column is its JSON.
"""

import csv
import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from django.db.models import QuerySet

from audit.models import AuditEvent

COLUMNS = ("id", "created_at", "org", "actor", "action", "target_type", "target_id", "target_label", "ip",
           "user_agent", "forwarded_for", "metadata", "chain", "seq", "prev_hash", "hash")
FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"), "jsonl": ("application/jsonl; charset=utf-8", "jsonl")}
CHUNK = 2000
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _record(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "org": event.org.slug if event.org_id and event.org else None,
        "actor": event.actor_label or None,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "forwarded_for": event.forwarded_for,
        "metadata": event.metadata,
        "chain": event.chain,
        "seq": event.seq,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def audit_export_records(*, events: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    """Each event as a plain dict (the JSON Lines record; the API may serialize it its own way)."""
    for event in events.select_related("org").iterator(chunk_size=CHUNK):
        yield _record(event)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict | list) else str(value)
    if text.startswith(_FORMULA_PREFIXES) or text.lstrip().startswith(_FORMULA_PREFIXES[:4]):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def audit_export_csv(*, events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV lines: a UTF-8 BOM and the header, then one quoted row per event."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow(COLUMNS)
    for record in audit_export_records(events=events):
        yield writer.writerow([_cell(record[column]) for column in COLUMNS])


def audit_export_jsonl(*, events: QuerySet[AuditEvent]) -> Iterator[str]:
    """JSON Lines: one compact JSON object per event, each ending in a newline."""
    for record in audit_export_records(events=events):
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def audit_export(*, events: QuerySet[AuditEvent], fmt: str) -> Iterator[str]:
    """The lines of `fmt` ("csv" or "jsonl"; anything else is a ValueError)."""
    if fmt == "csv":
        return audit_export_csv(events=events)
    if fmt == "jsonl":
        return audit_export_jsonl(events=events)
    raise ValueError(f"Unknown export format: {fmt!r}")
