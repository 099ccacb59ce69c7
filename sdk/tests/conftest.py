"""Fixtures: a live local issuer and a ResourceServer pointed at it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gatehouse_sdk import ResourceServer

from .issuer import API_CLIENT, AUDIENCE, Issuer


class Clock:
    """A clock the tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    issuer = Issuer()
    yield issuer
    issuer.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(issuer: Issuer, clock: Clock) -> ResourceServer:
    return ResourceServer(
        issuer=issuer.url,
        audience=AUDIENCE,
        introspection_client_id=API_CLIENT[0],
        introspection_client_secret=API_CLIENT[1],
        clock=clock,
    )
