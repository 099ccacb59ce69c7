"""Shared throttles for hosted pages; the implementation lives in security/throttle.py."""

from security.throttle import ThrottleDecision, throttle_hit

__all__ = ["ThrottleDecision", "throttle_hit"]
