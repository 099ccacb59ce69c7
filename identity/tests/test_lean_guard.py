"""The lean token paths answer only for the library versions they were verified with, and only while
GATEHOUSE_LEAN_PATHS is on; otherwise DOT's path answers, the same way."""

import base64

import pytest
from django.core.checks import run_checks
from django.test import RequestFactory, override_settings

from identity.oidc import lean, lean_guard
from identity.tests.oidc_support import make_machine_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_guard():
    lean_guard.lean_paths_enabled.cache_clear()
    yield
    lean_guard.lean_paths_enabled.cache_clear()


def _request(machine):
    raw = base64.b64encode(f"{machine.client_id}:{machine.client_secret}".encode()).decode()
    return RequestFactory().post("/oauth/token", "grant_type=client_credentials",
                                 content_type="application/x-www-form-urlencoded", HTTP_AUTHORIZATION=f"Basic {raw}")


def _token(client, machine):
    raw = base64.b64encode(f"{machine.client_id}:{machine.client_secret}".encode()).decode()
    return client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {raw}")


def test_the_verified_versions_are_the_installed_ones():
    assert lean_guard.version_mismatches() == {}
    assert lean_guard.lean_paths_enabled()
    assert not [message for message in run_checks() if message.id == "gatehouse.W001"]


def test_another_library_version_turns_the_lean_paths_off_with_a_warning(client, org, monkeypatch):
    machine = make_machine_app(org)
    assert lean.token_response(_request(machine)) is not None
    monkeypatch.setitem(lean_guard.VERIFIED_VERSIONS, "oauthlib", "3.2.2")
    lean_guard.lean_paths_enabled.cache_clear()
    assert lean.token_response(_request(machine)) is None
    warnings = [message for message in run_checks() if message.id == "gatehouse.W001"]
    assert len(warnings) == 1
    assert "oauthlib 4.0.1 (verified: 3.2.2)" in warnings[0].msg
    answer = _token(client, machine)  # DOT's path: the same answer
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer"


def test_the_setting_turns_the_lean_paths_off_without_a_warning(client, org):
    machine = make_machine_app(org)
    with override_settings(GATEHOUSE_LEAN_PATHS=False):
        assert lean.token_response(_request(machine)) is None
        assert not [message for message in run_checks() if message.id == "gatehouse.W001"]
        assert _token(client, machine).status_code == 200
    assert lean.token_response(_request(machine)) is not None
