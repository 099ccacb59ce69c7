"""The one body format the API reads: JSON, at most GATEHOUSE_API_MAX_BODY_BYTES, an object at the top."""

import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from api.problems import PayloadTooLarge


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
