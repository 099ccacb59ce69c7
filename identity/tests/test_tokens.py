"""One-time tokens: stored as a hash, purpose-bound, single-use, expiring, voided by a newer one."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from identity.models import OneTimeToken
from identity.tokens import InvalidLink, LinkProblem, token_get, token_issue, token_link, token_use

pytestmark = pytest.mark.django_db

RESET = OneTimeToken.Purpose.PASSWORD_RESET


def _issue(user, purpose=RESET, lifetime=timedelta(hours=1)):
    return token_issue(purpose=purpose, user=user, lifetime=lifetime)


def _problem(raw, purpose=RESET) -> LinkProblem:
    with pytest.raises(InvalidLink) as refused:
        token_get(purpose=purpose, raw=raw)
    return refused.value.problem


def test_only_the_hash_of_256_random_bits_is_stored(org_member):
    token, raw = _issue(org_member)

    assert len(raw) == 43  # 32 bytes, URL-safe base64
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert OneTimeToken.objects.by_value(raw).get() == token
    assert not OneTimeToken.objects.filter(token_hash=raw).exists()
    assert token_link(purpose=RESET, raw=raw).endswith(f"/password/reset/{raw}")


def test_reading_does_not_use_it_and_using_it_twice_fails(org_member):
    token, raw = _issue(org_member)

    assert token_get(purpose=RESET, raw=raw) == token
    assert token_get(purpose=RESET, raw=raw) == token
    token_use(token=token)

    assert _problem(raw) is LinkProblem.USED
    with pytest.raises(InvalidLink) as second:
        token_use(token=OneTimeToken.objects.get(pk=token.pk))
    assert second.value.problem is LinkProblem.USED


def test_a_stale_copy_cannot_be_used_after_another_request_used_it(org_member):
    """Two requests read the same live token; the conditional UPDATE lets only the first use it."""
    token, raw = _issue(org_member)
    first, second = token_get(purpose=RESET, raw=raw), token_get(purpose=RESET, raw=raw)

    token_use(token=first)

    with pytest.raises(InvalidLink):
        token_use(token=second)


def test_it_is_bound_to_its_purpose(org_member):
    _, raw = _issue(org_member)

    assert _problem(raw, OneTimeToken.Purpose.INVITATION) is LinkProblem.UNKNOWN
    assert _problem(raw, OneTimeToken.Purpose.EMAIL_CHANGE) is LinkProblem.UNKNOWN


def test_it_expires(org_member):
    token, raw = _issue(org_member)
    OneTimeToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())

    assert _problem(raw) is LinkProblem.EXPIRED
    with pytest.raises(InvalidLink):
        token_use(token=token)


def test_a_new_one_voids_the_old_one_of_the_same_user_and_purpose_only(org_member, org_admin):
    _, old = _issue(org_member)
    _, other_purpose = _issue(org_member, OneTimeToken.Purpose.EMAIL_CHANGE)
    _, other_user = _issue(org_admin)
    _, new = _issue(org_member)

    assert _problem(old) is LinkProblem.REPLACED
    assert token_get(purpose=RESET, raw=new)
    assert token_get(purpose=OneTimeToken.Purpose.EMAIL_CHANGE, raw=other_purpose)
    assert token_get(purpose=RESET, raw=other_user)


@pytest.mark.parametrize("raw", ["", "short", "x" * 300, "a/b", "%00" * 15, "ä" * 43, None])
def test_junk_is_unknown(org_member, raw):
    _issue(org_member)

    assert _problem(raw) is LinkProblem.UNKNOWN
