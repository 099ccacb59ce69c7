"""Webhook fixtures: a real HTTP receiver on 127.0.0.1 that verifies signatures with `standardwebhooks`."""

import pytest

from webhooks.services import _batch
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


@pytest.fixture(autouse=True)
def _fresh_dispatch_batch():
    """A test's transaction is rolled back, never committed: ids it left in this thread's dispatch batch
    must not be handed to the broker by the next test's commit (ids are reused after a rollback)."""
    yield
    _batch.ids = []
