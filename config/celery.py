"""The Celery app: reads CELERY_* settings, finds each app's tasks.py, and runs periodic jobs."""

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("gatehouse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages with tasks of their own (autodiscovery looks only at each app's tasks.py).
app.autodiscover_tasks(["identity.backchannel"])

app.conf.beat_schedule = {
    "identity.expired_sessions_purge": {
        "task": "identity.tasks.expired_sessions_purge",
        "schedule": crontab(minute=17),
    },
    "signing-keys-prune": {
        "task": "identity.tasks.signing_keys_prune",
        "schedule": crontab(minute=23),
    },
    # The outbox's one retrier (DESIGN.md): due failed rows, rows stuck in `sending`, lost tasks.
    "emailqueue.outbox_sweep": {
        "task": "emailqueue.tasks.outbox_sweep",
        "schedule": 60.0,
    },
    # Back-channel logout's one retrier, the same shape as the email outbox's.
    "identity.backchannel_sweep": {
        "task": "identity.backchannel.sweep",
        "schedule": 60.0,
    },
    "applications.previous_secrets_clear": {
        "task": "applications.tasks.previous_secrets_clear",
        "schedule": crontab(minute=41, hour=3),
    },
    # Expired and spent token rows, a bounded number of batches per run, so the tables stay bounded.
    "identity.tokens_prune": {
        "task": "identity.tasks.tokens_prune",
        "schedule": float(settings.GATEHOUSE_TOKENS_PRUNE_INTERVAL_SECONDS),
    },
    # Each org's audit retention (and the platform's): old events go, an anchoring purge event stays.
    "audit.retention_purge": {
        "task": "audit.tasks.audit_retention_purge",
        "schedule": crontab(minute=53, hour=2),
    },
    # Webhooks' one retrier, the same shape as the email outbox's.
    "webhooks.sweep": {
        "task": "webhooks.tasks.webhook_sweep",
        "schedule": 60.0,
    },
    "security.counters_prune": {
        "task": "security.tasks.security_counters_prune",
        "schedule": crontab(minute="*/15"),
    },
}


@app.on_after_configure.connect
def _prepare_filesystem_broker(sender, **kwargs):
    """kombu's filesystem transport needs its folders to exist before the first message."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


def registered_task(name: str):
    """A task by its name, for a service that hands work to the broker: the module defining the task
    imports the service, so the service must not import it back (DESIGN.md: no cycles). Each app's
    AppConfig.ready() imports its tasks module, so every process has them registered."""
    return app.tasks[name]

