"""Writing audit events. Call audit_record inside the same transaction as the change it records."""

from typing import Any

from django.db import models

from audit.models import AuditEvent


def _target_fields(target: models.Model | None) -> dict[str, str]:
    if target is None:
        return {}
    return {
        "target_type": target._meta.label_lower,
        "target_id": str(target.pk),
        "target_label": str(target)[:254],
    }


def _request_fields(request) -> dict[str, Any]:
    if request is None:
        return {}
    return {
        "ip": getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:500],
        "forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR", "")[:500],
    }


def audit_record(
    *,
    action: str,
    actor=None,
    org=None,
    target: models.Model | None = None,
    request=None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that `actor` did `action` (a `<noun>.<past-verb>` name) to `target` in `org`.

    The actor is a user or None for the system; its email is kept as a label so the row still
    reads correctly after the user is deleted.
    """
    actor_user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        org=org,
        actor=actor_user,
        actor_label=actor_user.email if actor_user else "",
        action=action,
        metadata=metadata or {},
        **_target_fields(target),
        **_request_fields(request),
    )
