"""Background work for accounts: password reset requests, handled off the request path."""

from celery import shared_task

from directory import services


@shared_task(name="directory.password_reset_request")
def password_reset_request(email: str, ip: str = "", request_id: str = "") -> None:
    """Look the address up and, for an active account, write the reset email. A redelivered
    task with the same `request_id` does nothing."""
    services.password_reset_request(email=email, ip=ip, request_id=request_id)
