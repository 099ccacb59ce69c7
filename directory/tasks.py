"""Background work for accounts: password reset requests and CSV imports of users, off the request path."""

from celery import shared_task

from directory import import_services, services


@shared_task(name="directory.password_reset_request")
def password_reset_request(email: str, ip: str = "", request_id: str = "") -> None:
    """Look the address up and, for an active account, write the reset email. A redelivered
    task with the same `request_id` does nothing."""
    services.password_reset_request(email=email, ip=ip, request_id=request_id)


@shared_task(name="directory.apply_user_import")
def apply_user_import(import_id: int) -> str | None:
    """Apply a confirmed CSV import. Idempotent: the claim and the per-batch lock let no row apply twice."""
    user_import = import_services.user_import_apply(import_id=import_id)
    return user_import.status if user_import is not None else None
