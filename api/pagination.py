"""Cursor pages: opaque, signed cursors bound to the list, org and filters that made them.

A cursor is `django.core.signing` over (list name, org, filters, position): a forged or edited cursor
fails its signature, and a cursor from another list, org or filter set is refused rather than
silently read as a position in this one. Positions are keyset positions (value, id), so every page
is one bounded query however deep it lies.
"""

import hashlib
import json
from typing import Any

from django.conf import settings
from django.core import signing
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from api.fields import CharField

CURSOR_SALT = "gatehouse.api.cursor"


def _scope(list_name: str, org_id: int | None, filters: dict[str, Any]) -> str:
    canonical = json.dumps([list_name, org_id, filters], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def cursor_encode(position: Any, *, list_name: str, org_id: int | None, filters: dict[str, Any]) -> str:
    return signing.dumps({"p": position, "s": _scope(list_name, org_id, filters)}, salt=CURSOR_SALT, compress=True)


def cursor_decode(cursor: str, *, list_name: str, org_id: int | None, filters: dict[str, Any]) -> Any:
    """The position a cursor names; a 400 (field `cursor`) for anything this list did not hand out."""
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise ValidationError({"cursor": ["This cursor was not issued by this API; start again without one."]}) \
            from None
    if not isinstance(payload, dict) or payload.get("s") != _scope(list_name, org_id, filters):
        raise ValidationError({"cursor": ["This cursor belongs to another list or other filters; start again "
                                          "without one, or repeat the filters it was issued with."]})
    return payload.get("p")


class PageQuery(serializers.Serializer):
    """`limit` and `cursor`, shared by every list."""

    limit = serializers.IntegerField(required=False, min_value=1, max_value=settings.GATEHOUSE_API_PAGE_SIZE_MAX,
                                     default=settings.GATEHOUSE_API_PAGE_SIZE)
    cursor = CharField(required=False, max_length=2000, allow_blank=False)


def page_body(items: list, next_cursor: str | None) -> dict:
    return {"data": items, "next_cursor": next_cursor}
