"""Reading sessions."""

from django.db.models import Case, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from identity.models import UserSession


def user_session_list(*, user) -> QuerySet[UserSession]:
    """The user's sessions still in force, most recently used first."""
    return UserSession.objects.live().filter(user=user, expires_at__gt=timezone.now()).order_by("-last_seen_at")


def user_sessions_listed(*, user, current_pk: int | None, limit: int) -> tuple[list[UserSession], int]:
    """At most `limit` of the user's sessions still in force, this browser's (`current_pk`) first, then the
    most recently used; and how many there are in all. The account page lists these: someone signing in from
    a script can pile up hundreds, and the page stays one screen."""
    live = user_session_list(user=user)
    if current_pk is not None:
        live = live.order_by(Case(When(pk=current_pk, then=Value(0)), default=Value(1)), "-last_seen_at")
    listed = list(live[:limit])
    return listed, (len(listed) if len(listed) < limit else live.count())


def user_session_get(*, user, pk: int) -> UserSession:
    """One of the user's sessions still in force; another user's, an ended or an unknown one is Http404."""
    user_session = user_session_list(user=user).filter(pk=pk).first()
    if user_session is None:
        raise Http404("No such session.")
    return user_session
