"""Ties each authenticated request to its UserSession row, so ending that row signs the browser out."""

from datetime import timedelta

from django.contrib.auth import logout
from django.utils import timezone

from identity.models import UserSession

SESSION_SID_KEY = "gatehouse.sid"
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class UserSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user_session = None
        if request.user.is_authenticated:
            sid = request.session.get(SESSION_SID_KEY)
            user_session = (
                UserSession.objects.filter(sid=sid, user=request.user).first() if sid else None
            )
            if user_session is None or not user_session.is_live:
                # Revoked, expired or never recorded: the cookie alone no longer signs anyone in.
                logout(request)
            else:
                request.user_session = user_session
                now = timezone.now()
                if now - user_session.last_seen_at > LAST_SEEN_RESOLUTION:
                    UserSession.objects.filter(pk=user_session.pk).update(last_seen_at=now)
        return self.get_response(request)
