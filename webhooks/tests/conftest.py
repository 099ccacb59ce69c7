"""Webhook fixtures: a real HTTP receiver on 127.0.0.1 that verifies signatures with `standardwebhooks`."""

import pytest

from webhooks.tests.receiver import Receiver


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def allow_private(settings):
    """The receiver listens on 127.0.0.1: let webhooks reach it (production refuses loopback targets)."""
    settings.GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE = True
    return settings
