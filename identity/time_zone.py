"""The viewer's time zone: the account's own setting, changed from the account page, activated for each of their
requests so every time the pages show (and every date a form takes) is in it. Nobody signed in: UTC."""

import zoneinfo
from functools import cache

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from directory.models import User
from directory.time_zones import DEFAULT_TIME_ZONE, validate_time_zone


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


class TimeZoneMiddleware:
    """Activate the signed-in viewer's zone (after AuthenticationMiddleware). No query of its own: the user row
    is the one authentication already loaded. A chain without authentication (the OAuth API endpoints) is UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        name = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        try:
            timezone.activate(_zone(name or DEFAULT_TIME_ZONE))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            # A zone the tz database dropped since it was chosen: UTC rather than a failed page.
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


@transaction.atomic
def user_time_zone_update(*, user: User, time_zone: str, request=None) -> User:
    """Set the zone `user` reads times in (an IANA name; anything else is a ValidationError). Audited as
    `user.time_zone_changed` with before and after; choosing the zone already set changes nothing."""
    validate_time_zone(time_zone)
    before = User.objects.filter(pk=user.pk).values_list("time_zone", flat=True).get()
    if before == time_zone:
        return user
    User.objects.filter(pk=user.pk).update(time_zone=time_zone)
    user.time_zone = time_zone
    audit_record(action="user.time_zone_changed", actor=user, target=user, request=request,
                 metadata={"before": {"time_zone": before}, "after": {"time_zone": time_zone}})
    return user
