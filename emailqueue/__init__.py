"""The outbound email outbox, delivered by Celery."""
