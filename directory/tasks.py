"""Background work for the directory: CSV imports of users, off the request path."""

from celery import shared_task

from directory import import_services


@shared_task(name=import_services.APPLY_USER_IMPORT)
def apply_user_import(import_id: int) -> str | None:
    """Apply a confirmed CSV import. Idempotent: the claim and the per-batch lock let no row apply twice."""
    user_import = import_services.user_import_apply(import_id=import_id)
    return user_import.status if user_import is not None else None
