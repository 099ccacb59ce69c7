"""Reading sessions."""

from django.db.models import QuerySet
from django.utils import timezone

from identity.models import UserSession


def user_session_list(*, user) -> QuerySet[UserSession]:
    """The user's sessions still in force, most recently used first."""
    return UserSession.objects.live().filter(user=user, expires_at__gt=timezone.now()).order_by("-last_seen_at")
