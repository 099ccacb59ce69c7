"""What the API shows of the audit log and the outbox (one-time links never: they are redacted)."""

from typing import Any

from rest_framework import serializers

from api.fields import CharField, StrictCharField
from api.serializers import StrictSerializer
from audit.models import AuditEvent
from emailqueue.models import OutboundEmail
from emailqueue.redaction import redact_one_time_links


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    actor = serializers.CharField(help_text="The actor's email as recorded; empty for the system.")
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target_label = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class AuditEventDetailSerializer(AuditEventSerializer):
    metadata = serializers.DictField()
    user_agent = serializers.CharField()
    forwarded_for = serializers.CharField()


def audit_event_json(event: AuditEvent, *, detail: bool = False) -> dict[str, Any]:
    body = {"id": event.pk, "action": event.action, "actor": event.actor_label, "target_type": event.target_type,
            "target_id": event.target_id, "target_label": event.target_label, "ip": event.ip,
            "created_at": iso(event.created_at)}
    if detail:
        body.update(metadata=event.metadata, user_agent=event.user_agent, forwarded_for=event.forwarded_for)
    return body


class AuditPageSerializer(serializers.Serializer):
    data = AuditEventSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class AuditQuery(serializers.Serializer):
    action = CharField(required=False, max_length=64, help_text="Exact, or a prefix ending in a dot.")
    actor = CharField(required=False, max_length=254, help_text="A prefix of the actor's email.")
    target = CharField(required=False, max_length=254, help_text="A target id, or a label prefix.")
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    ip = serializers.IPAddressField(required=False)


class EmailSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    recipient = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=OutboundEmail.Status.choices)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class EmailDetailSerializer(EmailSerializer):
    body_text = serializers.CharField(help_text="One-time links are redacted.")


def email_json(email: OutboundEmail, *, detail: bool = False) -> dict[str, Any]:
    body = {"id": email.pk, "kind": email.kind, "recipient": email.recipient,
            "subject": redact_one_time_links(email.subject), "status": email.status, "attempts": email.attempts,
            "last_error": redact_one_time_links(email.last_error), "next_attempt_at": iso(email.next_attempt_at),
            "created_at": iso(email.created_at), "sent_at": iso(email.sent_at)}
    if detail:
        body["body_text"] = redact_one_time_links(email.body_text)
    return body


class EmailPageSerializer(serializers.Serializer):
    data = EmailSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class EmailQuery(serializers.Serializer):
    status = serializers.ChoiceField(required=False, choices=OutboundEmail.Status.choices)
    recipient = CharField(required=False, max_length=254, help_text="A prefix of the address.")


class EmailCancelSerializer(StrictSerializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=500, default="")
