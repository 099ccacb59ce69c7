"""Validation rules for organizations."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _

from orgs.models import RESERVED_SLUGS

slug_format = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    _("Use 1–50 lowercase letters, digits and hyphens, starting and ending with a letter or digit."),
)


def validate_org_slug(value: str) -> None:
    slug_format(value)
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is reserved; choose another slug."), params={"slug": value})
