"""Reading sign-in protection state."""

from datetime import datetime

from django.utils import timezone

from security.models import SignInLock
from security.services import signin_key


def account_locked_until(*, user, now: datetime | None = None) -> datetime | None:
    """When `user`'s sign-in lock ends, or None when it is not locked."""
    until = SignInLock.objects.filter(key=signin_key(user.email)).values_list("locked_until", flat=True).first()
    return until if until is not None and until > (now or timezone.now()) else None
