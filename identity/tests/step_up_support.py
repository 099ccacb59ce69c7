"""Helpers for tests of step-up (identity/step_up.py): age a sign-in, or mark a browser as just confirmed."""

import time
from datetime import timedelta

from django.utils import timezone

from identity.middleware import SESSION_SID_KEY
from identity.models import UserSession
from identity.step_up import STEP_UP_SESSION_KEY


def sign_in_age(client, minutes: int) -> UserSession:
    """Make the test client's sign-in `minutes` old (its UserSession's auth_time), as if signed in then."""
    user_session = UserSession.objects.get(sid=client.session[SESSION_SID_KEY])
    user_session.auth_time = timezone.now() - timedelta(minutes=minutes)
    user_session.save(update_fields=["auth_time"])
    return user_session


def step_up_mark(client, *, minutes_ago: int = 0) -> None:
    """Record on the test client's session a step-up `minutes_ago`, as /account/confirm does."""
    session = client.session
    sid = session[SESSION_SID_KEY]
    session[STEP_UP_SESSION_KEY] = {"sid": sid, "at": time.time() - minutes_ago * 60}
    session.save()
