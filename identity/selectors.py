"""Reading sessions."""

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from identity.models import UserSession


def user_session_list(*, user) -> QuerySet[UserSession]:
    """The user's sessions still in force, most recently used first."""
    return UserSession.objects.live().filter(user=user, expires_at__gt=timezone.now()).order_by("-last_seen_at")


def user_session_get(*, user, pk: int) -> UserSession:
    """One of the user's sessions still in force; another user's, an ended or an unknown one is Http404."""
    user_session = user_session_list(user=user).filter(pk=pk).first()
    if user_session is None:
        raise Http404("No such session.")
    return user_session
