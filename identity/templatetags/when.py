"""One way to show a time: `{{ value|when }}` → "6 Dec 2026, 15:05 CET", in the viewer's zone with its
abbreviation (identity/time_zone.py activates it); `{{ value|when:"seconds" }}` → "6 Dec 2026, 15:05:09 CET"
where seconds matter (logs); `{{ value|when_day }}` → "6 Dec 2026" for a day. The format lives in
directory/time_zones.py, so a message written in Python reads the same.

Machine-readable attributes (`<time datetime="…">`) keep `|date:"c"`: an ISO time with its offset.
"""

from django import template

from directory.time_zones import format_day, format_when

register = template.Library()


@register.filter
def when(value, precision: str = "") -> str:
    """A date and time in the viewer's zone, with the zone; a plain date as `when_day`; nothing as ""."""
    return format_when(value, precision)


@register.filter
def when_day(value) -> str:
    """The calendar day of a date, or of a date and time in the viewer's zone."""
    return format_day(value)
