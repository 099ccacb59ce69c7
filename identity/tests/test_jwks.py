"""The JWKS view: JSON, Cache-Control, methods, and its short in-process cache."""

import json

import pytest
from django.test import RequestFactory
from django.utils import timezone

from identity import jwks as jwks_module
from identity import signing
from identity.jwks import jwks, jwks_cache_clear
from identity.models import SigningKey
from identity.signing import JWKS_PROCESS_CACHE_SECONDS, signing_key_ensure


@pytest.fixture(autouse=True)
def _fresh_caches():
    signing.signing_key_cache_clear()
    yield
    signing.signing_key_cache_clear()


@pytest.fixture
def rf():
    return RequestFactory()


def _kids(response) -> list[str]:
    return [key["kid"] for key in json.loads(response.content)["keys"]]


def _published_kids() -> list[str]:
    return [
        SigningKey.objects.get(state=SigningKey.State.ACTIVE).kid,
        SigningKey.objects.get(state=SigningKey.State.NEXT).kid,
    ]


@pytest.mark.django_db
def test_get_serves_the_public_keys_with_cache_control(rf):
    response = jwks(rf.get("/.well-known/jwks.json"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == f"public, max-age={signing.jwks_max_age_seconds()}"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert _kids(response) == _published_kids()  # the first keys are made on first use
    for key in json.loads(response.content)["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


@pytest.mark.django_db
def test_head_is_allowed_and_post_is_405(rf):
    assert jwks(rf.head("/.well-known/jwks.json")).status_code == 200
    response = jwks(rf.post("/.well-known/jwks.json"))
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD"}


@pytest.mark.django_db
def test_steady_state_costs_no_query(rf, django_assert_num_queries):
    jwks(rf.get("/.well-known/jwks.json"))
    with django_assert_num_queries(0):
        response = jwks(rf.get("/.well-known/jwks.json"))
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_rotation_elsewhere_is_served_once_the_short_cache_expires(rf, monkeypatch):
    signing_key_ensure()
    clock = [1000.0]
    monkeypatch.setattr(jwks_module.time, "monotonic", lambda: clock[0])
    before = _kids(jwks(rf.get("/.well-known/jwks.json")))

    # Another process makes an emergency rotation: this process is not told.
    old, upcoming = (SigningKey.objects.get(state=state) for state in (SigningKey.State.ACTIVE, SigningKey.State.NEXT))
    now = timezone.now()
    SigningKey.objects.filter(pk=old.pk).update(state=SigningKey.State.RETIRED, retired_at=now, verify_until=now)
    SigningKey.objects.filter(pk=upcoming.pk).update(state=SigningKey.State.ACTIVE, activated_at=now)
    signing._create(material=signing._generate(), state=SigningKey.State.NEXT, now=now)

    clock[0] += JWKS_PROCESS_CACHE_SECONDS - 1
    assert _kids(jwks(rf.get("/.well-known/jwks.json"))) == before
    clock[0] += 2
    after = _kids(jwks(rf.get("/.well-known/jwks.json")))
    assert after == _published_kids()
    assert old.kid not in after


@pytest.mark.django_db
def test_a_rotation_in_this_process_is_served_at_once(rf):
    signing_key_ensure()
    jwks(rf.get("/.well-known/jwks.json"))

    signing.signing_key_rotate(force=True)

    assert _kids(jwks(rf.get("/.well-known/jwks.json"))) == _published_kids()


@pytest.mark.django_db
def test_cache_clear_rebuilds_the_document(rf):
    signing_key_ensure()
    first = jwks(rf.get("/.well-known/jwks.json")).content
    SigningKey.objects.filter(state=SigningKey.State.NEXT).delete()

    assert jwks(rf.get("/.well-known/jwks.json")).content == first
    jwks_cache_clear()
    assert len(_kids(jwks(rf.get("/.well-known/jwks.json")))) == 1
