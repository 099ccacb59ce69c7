"""The audit log's periodic job: the retention purge (daily, beat)."""

from celery import shared_task

from audit.services import audit_retention_purge


@shared_task(name="audit.tasks.audit_retention_purge")
def audit_retention_purge_task() -> dict[str, int]:
    """Every org with a retention (and the platform, if set): events purged per chain."""
    return {str(result.chain): result.purged for result in audit_retention_purge()}
