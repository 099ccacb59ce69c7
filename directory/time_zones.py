"""The time zones a person may choose to see times in: the IANA names Python's zoneinfo knows."""

import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

DEFAULT_TIME_ZONE = "UTC"


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
