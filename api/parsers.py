"""The body formats the API reads: JSON, at most GATEHOUSE_API_MAX_BODY_BYTES, an object at the top; and, for
the one upload (the org's logo), the image's own bytes."""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from api.problems import PayloadTooLarge
from orgs.branding import LOGO_MAX_BYTES


class JSONParser(parsers.JSONParser):
    """DRF's, reading no more than the limit (a body sent without Content-Length is cut off here too) and
    refusing NaN/Infinity, which are not JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.GATEHOUSE_API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The body may have at most {limit} bytes.")
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}.") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


class LogoParser(parsers.BaseParser):
    """An image body, as bytes, read no further than the logo's limit (one byte more tells a body that is too
    large, with or without Content-Length). What the bytes are is orgs.branding.logo_inspect's to decide:
    the declared type only routes the body here."""

    media_type = "image/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        limit = LOGO_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"A logo may have at most {limit // 1024} KB ({limit} bytes).")
        return raw
