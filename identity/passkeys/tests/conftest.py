"""Passkey fixtures: an issuer on a host name (browsers refuse WebAuthn on an IP address) and a software
authenticator for it."""

import pytest

from identity.passkeys.tests.authenticator import SoftAuthenticator
from identity.passkeys.tests.support import ISSUER


@pytest.fixture(autouse=True)
def _issuer_on_a_host_name(settings):
    settings.GATEHOUSE_ISSUER = ISSUER


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ISSUER, rp_id="localhost")
