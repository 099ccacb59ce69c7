"""One way to show a time: `{{ value|when }}` → "6 Dec 2026, 15:05 CET", in the viewer's zone with its
abbreviation (identity/time_zone.py activates it); `{{ value|when:"seconds" }}` → "6 Dec 2026, 15:05:09 CET"
where seconds matter (logs); `{{ value|when_day }}` → "6 Dec 2026" for a day.

Machine-readable attributes (`<time datetime="…">`) keep `|date:"c"`: an ISO time with its offset.
"""

from datetime import date, datetime

from django import template
from django.utils import dateformat, timezone

register = template.Library()

DATE_TIME = "j M Y, H:i"
DATE_TIME_SECONDS = "j M Y, H:i:s"
DAY = "j M Y"


def _zone_name(moment: datetime) -> str:
    name = moment.tzname() or ""
    # Zones without a common abbreviation are named by their offset ("-03"): say what it is an offset from.
    return f"UTC{name}" if name[:1] in "+-" and name else name


def _local(value: datetime) -> datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return timezone.localtime(value)


@register.filter
def when(value, precision: str = "") -> str:
    """A date and time in the viewer's zone, with the zone; a plain date as `when_day`; nothing as ""."""
    if isinstance(value, datetime):
        local = _local(value)
        shape = DATE_TIME_SECONDS if precision == "seconds" else DATE_TIME
        return f"{dateformat.format(local, shape)} {_zone_name(local)}"
    if isinstance(value, date):
        return dateformat.format(value, DAY)
    return ""


@register.filter
def when_day(value) -> str:
    """The calendar day of a date, or of a date and time in the viewer's zone."""
    if isinstance(value, datetime):
        return dateformat.format(_local(value), DAY)
    if isinstance(value, date):
        return dateformat.format(value, DAY)
    return ""
