"""The time zones a person may choose to see times in (the IANA names Python's zoneinfo knows), and the one
way a time is written for people: "6 Dec 2026, 15:05 CET" in the zone that is active (the viewer's,
identity/time_zone.py), or "6 Dec 2026" for a day. Templates use it as `|when` and `|when_day`."""

import zoneinfo
from datetime import date, datetime
from functools import cache

from django.core.exceptions import ValidationError
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

DEFAULT_TIME_ZONE = "UTC"
DATE_TIME = "j M Y, H:i"
DATE_TIME_SECONDS = "j M Y, H:i:s"
DAY = "j M Y"


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name, sorted (read once: the tz database does not change while we run)."""
    # "localtime" is the host's zone under another name, never a place anyone chose.
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


def validate_time_zone(value: str) -> None:
    """Refuse a name that is not an IANA time zone, with a message a person can act on."""
    if value not in time_zone_names():
        raise ValidationError(_("“%(value)s” is not a time zone. Choose one from the list, like Europe/Paris or UTC."),
                              code="invalid_time_zone", params={"value": value})


def _zone_name(moment: datetime) -> str:
    name = moment.tzname() or ""
    # Zones without a common abbreviation are named by their offset ("-03"): say what it is an offset from.
    return f"UTC{name}" if name[:1] in "+-" and name else name


def _local(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return timezone.localtime(value)


def format_when(value, precision: str = "") -> str:
    """A date and time in the active zone, with the zone ("seconds": with seconds, for logs); a plain date
    as format_day; anything else (None) as ""."""
    if isinstance(value, datetime):
        local = _local(value)
        shape = DATE_TIME_SECONDS if precision == "seconds" else DATE_TIME
        return f"{dateformat.format(local, shape)} {_zone_name(local)}"
    return format_day(value)


def format_day(value) -> str:
    """The calendar day of a date, or of a date and time in the active zone; anything else as ""."""
    if isinstance(value, datetime):
        return dateformat.format(_local(value), DAY)
    if isinstance(value, date):
        return dateformat.format(value, DAY)
    return ""
