"""Fixtures for back-channel logout tests: a real receiver on 127.0.0.1, and time moved forward."""

from datetime import timedelta

import pytest
from django.utils import timezone

from identity.backchannel.tests.support import Receiver


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def later(monkeypatch):
    """Move the clock forward by a given time: what the retry schedule and the sweeper read."""
    real_now = timezone.now

    def _later(delta: timedelta) -> None:
        monkeypatch.setattr(timezone, "now", lambda: real_now() + delta)

    return _later
