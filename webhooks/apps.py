from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Registers the delivery tasks (handed to the broker by name) and the audit listener that writes
        # a delivery for each subscribed endpoint in the transaction of the event (audit/events.py).
        from audit.events import audit_listener_register
        from webhooks import tasks  # noqa: F401
        from webhooks.services import webhook_deliveries_enqueue

        audit_listener_register(webhook_deliveries_enqueue)
