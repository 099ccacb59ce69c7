"""Reading the audit log."""

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_event_list(*, org, action: str | None = None) -> QuerySet[AuditEvent]:
    """An org's events, newest first; an org never sees another org's or the platform's events."""
    events = AuditEvent.objects.for_org(org).select_related("actor")
    if action:
        events = events.filter(action=action)
    return events
