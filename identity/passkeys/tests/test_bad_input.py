"""Every malformed WebAuthn response gets a clear JSON error and changes nothing: each field of a real
response replaced by the wrong kind of value, by garbage bytes or cut short, and each one left out."""

import copy
import random

import cbor2
import pytest
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from directory.tests.factories import DEFAULT_PASSWORD
from identity.mfa.tests.support import shows_second_factor_step
from identity.models import UserSession
from identity.passkeys.models import Passkey
from identity.passkeys.tests.support import post_json, register, sign_in_options

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_throttles(settings, monkeypatch):
    """Hundreds of refusals in a row: the throttles (tested elsewhere) would stop them first."""
    settings.GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT = 100_000
    monkeypatch.setattr("identity.passkeys.services.REGISTER_LIMIT", 100_000)

REFUSALS = {400, 409}


def _paths(credential: dict, prefix=()) -> list[tuple]:
    paths = []
    for key, value in credential.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths.extend(_paths(value, (*prefix, key)))
    return paths


def _set(credential: dict, path: tuple, value) -> dict:
    mutant = copy.deepcopy(credential)
    target = mutant
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return mutant


_DELETE = object()
_RANDOM = random.Random(11)  # the same garbage on every run
GARBAGE = [_DELETE, None, 7, [], {}, "", "!!!", "A", "AAAAA", "x" * 3000,
           bytes_to_base64url(_RANDOM.randbytes(40)), bytes_to_base64url(cbor2.dumps([1, 2, 3])),
           bytes_to_base64url(b'["webauthn.get"]'), bytes_to_base64url(b"{}")]


def _mutants(credential: dict):
    for path in _paths(credential):
        for value in GARBAGE:
            yield path, _set(credential, path, value)
        original = _get(credential, path)
        if isinstance(original, str) and len(original) > 8:
            # Cut short: valid base64url of a truncated structure.
            raw = base64url_to_bytes(original) if path[-1] != "type" else original.encode()
            yield path, _set(credential, path, bytes_to_base64url(raw[: len(raw) // 2]))


def _get(credential: dict, path: tuple):
    for key in path:
        credential = credential[key]
    return credential


def _assert_clear_refusal(response, path) -> None:
    assert response.status_code in REFUSALS, (path, response.status_code, response.content[:200])
    body = response.json()
    assert body["error"], path
    assert body["message"], path


def test_registration_mutants_are_refused(client, sign_in, org_member, authenticator):
    member = sign_in(org_member)
    options = post_json(member, "/passkeys/register/options").json()
    valid = authenticator.create(options)
    tried = 0
    for path, mutant in _mutants(valid):
        post_json(member, "/passkeys/register/options")
        response = post_json(member, "/passkeys/register/verify", {"credential": mutant, "name": "Mutant"})
        if path in {("authenticatorAttachment",), ("clientExtensionResults",), ("response", "transports"), ("id",)}:
            # Fields the server does not rely on (id is checked against rawId at sign-in): either outcome is fine,
            # as long as it is not a 500.
            assert response.status_code in REFUSALS | {201}, (path, response.status_code)
            Passkey.objects.all().delete()
            continue
        _assert_clear_refusal(response, path)
        tried += 1
    assert tried > 50
    assert Passkey.objects.count() == 0


def test_sign_in_mutants_are_refused(client, sign_in, org_member, authenticator):
    registered = sign_in(org_member)
    assert register(registered, authenticator).status_code == 201
    registered.logout()
    UserSession.objects.all().delete()
    valid = authenticator.get(sign_in_options(client))
    tried = 0
    for path, mutant in _mutants(valid):
        sign_in_options(client)
        response = post_json(client, "/passkeys/login/verify", {"credential": mutant})
        assert response.status_code != 200 or path in {("authenticatorAttachment",), ("clientExtensionResults",)}, path
        if response.status_code == 200:
            client.logout()
            continue
        _assert_clear_refusal(response, path)
        tried += 1
    assert tried > 50
    assert not UserSession.objects.exists()


@pytest.mark.parametrize("body", [None, "string", 5, [], {"credential": None}])
def test_the_second_factor_refuses_bad_bodies_after_a_password(client, org_member, authenticator, sign_in, body):
    assert register(sign_in(org_member), authenticator).status_code == 201
    client.logout()
    assert shows_second_factor_step(client.post("/login", {"email": org_member.email, "password": DEFAULT_PASSWORD}))
    post_json(client, "/passkeys/second-factor/options")

    response = post_json(client, "/passkeys/second-factor/verify", body)

    assert response.status_code == 400
    assert response.json()["error"] in {"malformed_response"}
