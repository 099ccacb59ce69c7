"""Ties each authenticated request to its UserSession row, so ending that row signs the browser out.

One indexed SELECT per signed-in request (the row by its sid): an ended, expired or unknown row signs
the browser out on that very request. Writes happen at most once a minute (last seen), or when the
session key changed.
"""

from datetime import timedelta

from django.contrib.auth import logout
from django.utils import timezone

from config.compiled_queries import CompiledQuery, first_row
from identity.models import UserSession

# Read on every signed-in request: its SQL is built once (config/compiled_queries.py).
_SESSION_OF_USER = CompiledQuery(lambda sid, user_id: first_row(UserSession.objects.filter(sid=sid, user_id=user_id)),
                                 "stand-in-sid", -1)

SESSION_SID_KEY = "gatehouse.sid"
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class UserSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user_session = None
        if request.user.is_authenticated:
            sid = request.session.get(SESSION_SID_KEY)
            user_session = _SESSION_OF_USER.first(sid, request.user.pk) if sid else None
            if user_session is None or not user_session.is_live:
                # Revoked, expired or never recorded: the cookie alone no longer signs anyone in.
                logout(request)
            else:
                request.user_session = user_session
                now = timezone.now()
                changes = {}
                if now - user_session.last_seen_at > LAST_SEEN_RESOLUTION:
                    changes["last_seen_at"] = now
                session_key = request.session.session_key
                if session_key and user_session.session_key != session_key:
                    # Cycled since the row was written (a password change keeps the browser signed in
                    # under a new key): the row must name the key it would delete.
                    changes["session_key"] = session_key
                if changes:
                    UserSession.objects.filter(pk=user_session.pk).update(**changes)
                    for field, value in changes.items():
                        setattr(user_session, field, value)
        return self.get_response(request)
