"""Fields that take JSON types at their word: "5" is not a number, 5 is not a string, 1 is not true. And text
fields whose max_length holds for the text as sent."""

from typing import Any

from rest_framework import serializers


class _LengthAsSentMixin:
    """DRF checks max_length after trimming the value's surrounding whitespace, so 501 characters with a leading
    space passed a limit of 500 that the published schema (maxLength) says is refused. The limit now holds for
    the value as sent, and trimming still happens after."""

    max_length: int | None

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class CharField(_LengthAsSentMixin, serializers.CharField):
    """serializers.CharField, for query parameters (strings by nature), with max_length as sent."""


class StrictCharField(_LengthAsSentMixin, serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictEmailField(_LengthAsSentMixin, serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
