"""Signing keys: first keys, encryption at rest, JWKS contents, rotation (normal and forced), pruning."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from applications.services import application_create
from audit.models import AuditEvent
from config.encryption import decrypt
from config.exceptions import DomainError
from directory.tests.factories import OrganizationFactory, UserFactory
from identity import signing
from identity.models import SigningKey
from identity.signing import (
    published_jwks,
    signing_key_active_jwk,
    signing_key_ensure,
    signing_key_for_kid,
    signing_key_prune,
    signing_key_rotate,
)

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}
READY = timedelta(seconds=signing.next_key_min_published_seconds())


@pytest.fixture(autouse=True)
def _fresh_caches():
    signing.signing_key_cache_clear()
    yield
    signing.signing_key_cache_clear()


def _key(state: str) -> SigningKey:
    return SigningKey.objects.get(state=state)


def _sign(claims: dict) -> str:
    """Sign as DOT's finalize_id_token does: kid = the signing key's thumbprint."""
    key = signing_key_active_jwk()
    token = jwt.JWT(header={"alg": "RS256", "typ": "JWT", "kid": key.thumbprint()}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def _verify_with_jwks(serialized: str, jwks: dict) -> dict:
    """Verify the way an RP does: pick the published key by the token's kid."""
    kid = json.loads(jwk.base64url_decode(serialized.split(".")[0]))["kid"]
    keyset = jwk.JWKSet.from_json(json.dumps(jwks))
    key = keyset.get_key(kid)
    assert key is not None, f"kid {kid} is not published"
    return json.loads(jwt.JWT(jwt=serialized, key=key, algs=["RS256"]).claims)


def _rotate_when_ready(**kwargs) -> SigningKey:
    return signing_key_rotate(now=_key(SigningKey.State.NEXT).published_at + READY, **kwargs)


# --- first keys --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_first_keys_are_made_once_and_audited():
    first = signing_key_ensure()
    second = signing_key_ensure()

    assert first.pk == second.pk
    assert first.state == SigningKey.State.ACTIVE
    assert first.activated_at is not None
    assert SigningKey.objects.filter(state=SigningKey.State.ACTIVE).count() == 1
    assert SigningKey.objects.filter(state=SigningKey.State.NEXT).count() == 1
    created = AuditEvent.objects.filter(action="signing_key.created")
    assert sorted(event.metadata["state"] for event in created) == ["active", "next"]
    assert {event.metadata["kid"] for event in created} == set(SigningKey.objects.values_list("kid", flat=True))


@pytest.mark.django_db
def test_signing_makes_the_first_key_when_there_is_none():
    key = signing_key_active_jwk()

    assert key.has_private
    assert key.thumbprint() == _key(SigningKey.State.ACTIVE).kid


@pytest.mark.django_db
def test_ensure_that_loses_the_race_uses_the_winners_keys(monkeypatch):
    # Another process commits its first keys between our "is there an active key?" read and our
    # insert: the partial unique constraint refuses ours and ensure() reads theirs.
    real_generate = signing._generate
    winner = {}

    def generate_while_another_process_wins():
        if not winner:
            now = timezone.now()
            winner["active"] = signing._create(material=real_generate(), state=SigningKey.State.ACTIVE, now=now)
            signing._create(material=real_generate(), state=SigningKey.State.NEXT, now=now)
        return real_generate()

    monkeypatch.setattr(signing, "_generate", generate_while_another_process_wins)

    active = signing_key_ensure()

    assert active.pk == winner["active"].pk
    assert SigningKey.objects.filter(state=SigningKey.State.ACTIVE).count() == 1
    assert SigningKey.objects.filter(state=SigningKey.State.NEXT).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_key():
    from django.db import IntegrityError, transaction

    signing_key_ensure()
    with pytest.raises(IntegrityError), transaction.atomic():
        signing._create(material=signing._generate(), state=SigningKey.State.ACTIVE, now=timezone.now())


@pytest.mark.django_db(transaction=True)
@pytest.mark.services
def test_two_processes_starting_together_make_one_active_key():
    # A services test: .ci/run gives it PostgreSQL; the in-memory test SQLite refuses concurrent writers.
    assert connection.vendor == "postgresql", "run with DATABASE_URL pointing at PostgreSQL (see .ci/run)"
    barrier = threading.Barrier(2)
    results, errors = [], []

    def start():
        try:
            barrier.wait()
            results.append(signing_key_ensure().kid)
        except Exception as exc:  # reported below, not hidden
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1
    assert SigningKey.objects.filter(state=SigningKey.State.ACTIVE).count() == 1
    assert SigningKey.objects.filter(state=SigningKey.State.NEXT).count() == 1


# --- storage -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_private_key_is_encrypted_at_rest_and_decrypts_with_the_configured_key():
    key = signing_key_ensure()
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_encrypted, public_jwk FROM identity_signingkey WHERE id = %s", [key.pk])
        stored, stored_public = cursor.fetchone()

    pem = decrypt(stored)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    body_lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    assert "PRIVATE KEY" not in stored
    assert not any(line in stored for line in body_lines)
    assert jwk.JWK.from_pem(pem.encode()).thumbprint() == key.kid
    assert not PRIVATE_MEMBERS & set(json.loads(stored_public) if isinstance(stored_public, str) else stored_public)


@pytest.mark.django_db
def test_kid_is_the_rfc7638_thumbprint_dot_puts_in_the_header():
    signing_key_ensure()
    for key in SigningKey.objects.all():
        assert key.kid == jwk.JWK(**key.public_jwk).thumbprint()
    assert signing_key_active_jwk().thumbprint() == _key(SigningKey.State.ACTIVE).kid


# --- JWKS contents -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_jwks_publishes_active_then_next_without_private_members():
    document = published_jwks()

    active, upcoming = _key(SigningKey.State.ACTIVE), _key(SigningKey.State.NEXT)
    assert [key["kid"] for key in document["keys"]] == [active.kid, upcoming.kid]
    for key in document["keys"]:
        assert not PRIVATE_MEMBERS & set(key)
        assert key["kty"] == "RSA"
        assert key["use"] == "sig"
        assert key["alg"] == "RS256"


@pytest.mark.django_db
def test_for_kid_returns_public_keys_that_are_published_only():
    signing_key_ensure()
    upcoming = _key(SigningKey.State.NEXT)

    public = signing_key_for_kid(upcoming.kid)
    assert public is not None
    assert not public.has_private
    assert signing_key_for_kid("no-such-kid") is None
    assert signing_key_for_kid("") is None


# --- rotation ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_is_refused_while_the_next_key_is_fresh_and_says_how_long_to_wait():
    signing_key_ensure()
    upcoming = _key(SigningKey.State.NEXT)
    # 30 minutes after publication, with a 3600 s JWKS cache and the view's 5 s in-process cache.
    now = upcoming.published_at + timedelta(minutes=30)

    with pytest.raises(DomainError) as refused:
        signing_key_rotate(now=now)

    assert "promoted in 30 min 5 s" in refused.value.message
    assert upcoming.kid in refused.value.message
    assert "\n" not in refused.value.message
    assert _key(SigningKey.State.NEXT).pk == upcoming.pk
    assert not AuditEvent.objects.filter(action="signing_key.rotated").exists()


@pytest.mark.django_db
def test_rotation_after_the_wait_promotes_next_retires_active_and_publishes_a_new_next(operator):
    signing_key_ensure()
    old, upcoming = _key(SigningKey.State.ACTIVE), _key(SigningKey.State.NEXT)
    now = upcoming.published_at + READY

    new_active = signing_key_rotate(actor=operator, now=now)

    old.refresh_from_db()
    assert new_active.pk == upcoming.pk
    assert new_active.state == SigningKey.State.ACTIVE
    assert new_active.activated_at == now
    assert old.state == SigningKey.State.RETIRED
    assert old.retired_at == now
    assert old.verify_until == now + timedelta(seconds=signing.token_lifetime_seconds())
    new_next = _key(SigningKey.State.NEXT)
    assert new_next.pk not in (old.pk, upcoming.pk)
    assert [key["kid"] for key in published_jwks(now=now)["keys"]] == [upcoming.kid, new_next.kid, old.kid]
    event = AuditEvent.objects.get(action="signing_key.rotated")
    assert event.actor == operator
    assert event.metadata["old_kid"] == old.kid
    assert event.metadata["new_kid"] == upcoming.kid
    assert event.metadata["forced"] is False
    assert event.metadata["overlap_seconds"] is None
    assert AuditEvent.objects.filter(action="signing_key.created", metadata__kid=new_next.kid).exists()
    assert signing_key_active_jwk().thumbprint() == upcoming.kid


@pytest.mark.django_db
def test_retired_key_is_kept_for_the_longest_of_token_lifetime_and_overlap(settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ID_TOKEN_EXPIRE_SECONDS": 600,
                                "ACCESS_TOKEN_EXPIRE_SECONDS": 300}
    signing_key_ensure()
    old = _key(SigningKey.State.ACTIVE)
    now = _key(SigningKey.State.NEXT).published_at + READY

    signing_key_rotate(now=now, overlap_seconds=60)
    old.refresh_from_db()
    assert old.verify_until == now + timedelta(seconds=600)

    second_old = _key(SigningKey.State.ACTIVE)
    later = _key(SigningKey.State.NEXT).published_at + READY
    signing_key_rotate(now=later, overlap_seconds=7200)
    second_old.refresh_from_db()
    assert second_old.verify_until == later + timedelta(seconds=7200)
    assert AuditEvent.objects.filter(action="signing_key.rotated", metadata__overlap_seconds=7200).exists()


@pytest.mark.django_db
def test_bad_rotation_arguments_change_nothing():
    signing_key_ensure()
    with pytest.raises(DomainError, match="zero or more"):
        signing_key_rotate(overlap_seconds=-1)
    with pytest.raises(DomainError, match="overlap does not apply"):
        signing_key_rotate(force=True, overlap_seconds=60)
    assert not SigningKey.objects.filter(state=SigningKey.State.RETIRED).exists()


@pytest.mark.django_db
def test_token_signed_before_rotation_verifies_during_the_overlap_then_its_key_is_pruned():
    signing_key_ensure()
    old_kid = _key(SigningKey.State.ACTIVE).kid
    token = _sign({"sub": "u1", "nonce": "n"})

    now = _key(SigningKey.State.NEXT).published_at + READY
    signing_key_rotate(now=now)
    retired = SigningKey.objects.get(kid=old_kid)

    during = retired.verify_until - timedelta(seconds=1)
    assert _verify_with_jwks(token, published_jwks(now=during))["sub"] == "u1"
    assert signing_key_for_kid(old_kid, now=during) is not None  # an id_token_hint at logout
    assert signing_key_prune(now=during) == []
    # New tokens are signed with the new key, which is published too.
    assert _verify_with_jwks(_sign({"sub": "u2"}), published_jwks(now=during))["sub"] == "u2"

    after = retired.verify_until + timedelta(seconds=1)
    assert old_kid not in [key["kid"] for key in published_jwks(now=after)["keys"]]
    assert signing_key_for_kid(old_kid, now=after) is None
    assert signing_key_prune(now=after) == [old_kid]
    assert not SigningKey.objects.filter(kid=old_kid).exists()
    assert AuditEvent.objects.filter(action="signing_key.deleted", metadata__kid=old_kid).exists()


@pytest.mark.django_db
def test_rotation_in_another_process_takes_effect_on_the_next_signature():
    signing_key_ensure()
    old, upcoming = _key(SigningKey.State.ACTIVE), _key(SigningKey.State.NEXT)
    assert signing_key_active_jwk().thumbprint() == old.kid  # decrypted and cached here

    # Another process rotates: nothing in this process is told.
    SigningKey.objects.filter(pk=old.pk).update(state=SigningKey.State.RETIRED, verify_until=timezone.now())
    SigningKey.objects.filter(pk=upcoming.pk).update(state=SigningKey.State.ACTIVE)

    assert signing_key_active_jwk().thumbprint() == upcoming.kid


# --- forced rotation ---------------------------------------------------------------------------


def _tokens(application, user, label: str) -> dict:
    expires = timezone.now() + timedelta(hours=1)
    id_token = get_id_token_model().objects.create(user=user, application=application, expires=expires,
                                                   jti=uuid.uuid4(), scope="openid")
    access = get_access_token_model().objects.create(user=user, application=application, token=f"at-{label}",
                                                     expires=expires, scope="openid", id_token=id_token)
    refresh = get_refresh_token_model().objects.create(user=user, application=application, token=f"rt-{label}",
                                                       access_token=access)
    return {"id": id_token, "access": access, "refresh": refresh}


@pytest.mark.django_db
def test_forced_rotation_drops_the_old_key_at_once_and_revokes_what_it_signed():
    application = application_create(org=OrganizationFactory(), name="A", kind="machine").application
    user = UserFactory()
    before = _tokens(application, user, "before")
    signing_key_ensure()
    old, upcoming = _key(SigningKey.State.ACTIVE), _key(SigningKey.State.NEXT)
    # Issued before the old key became active: signed by an earlier key, so they stay.
    for model, token in ((get_id_token_model(), before["id"]), (get_access_token_model(), before["access"]),
                         (get_refresh_token_model(), before["refresh"])):
        model.objects.filter(pk=token.pk).update(created=old.activated_at - timedelta(days=1))
    during = _tokens(application, user, "during")
    token = _sign({"sub": "u1"})

    new_active = signing_key_rotate(force=True)  # the next key is seconds old: only force allows it

    old.refresh_from_db()
    assert new_active.pk == upcoming.pk
    assert old.state == SigningKey.State.RETIRED
    assert old.verify_until == old.retired_at
    jwks = published_jwks()
    assert old.kid not in [key["kid"] for key in jwks["keys"]]
    assert signing_key_for_kid(old.kid) is None
    with pytest.raises(AssertionError, match="not published"):
        _verify_with_jwks(token, jwks)

    refresh = get_refresh_token_model().objects.get(pk=during["refresh"].pk)
    assert refresh.revoked is not None
    assert not get_access_token_model().objects.filter(pk=during["access"].pk).exists()
    assert not get_id_token_model().objects.filter(pk=during["id"].pk).exists()
    assert get_refresh_token_model().objects.get(pk=before["refresh"].pk).revoked is None
    assert get_access_token_model().objects.filter(pk=before["access"].pk).exists()
    assert get_id_token_model().objects.filter(pk=before["id"].pk).exists()

    event = AuditEvent.objects.get(action="signing_key.rotated")
    assert event.metadata["forced"] is True
    assert event.metadata["old_kid"] == old.kid
    assert event.metadata["new_kid"] == upcoming.kid
    assert event.metadata["revoked"] == {"refresh_tokens": 1, "access_tokens": 1, "id_tokens": 1}
    assert signing_key_prune() == [old.kid]
