"""Lockout and the per-IP throttle as a person (or an attacker) meets them at /login, with the counters in
database rows and in Redis (`services`)."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from identity.models import UserSession
from security.models import SignInLock
from security.services import account_unlock, signin_failures_count, signin_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counter_backend")]

LOGIN_URL = "/login"
INVALID = "Incorrect email or password."
LOCKED = "Too many failed sign-in attempts for this email address"
THROTTLED = "Too many failed sign-in attempts from your network."
WRONG = "not-the-password"
UNKNOWN = "nobody@example.test"


def _post(client, email, password=DEFAULT_PASSWORD, **extra):
    return client.post(LOGIN_URL, {"email": email, "password": password}, **extra)


def _fail(client, email, times, **extra):
    return [_post(client, email, WRONG, **extra) for _ in range(times)]


def _signed_in(client) -> bool:
    return client.get("/account/").status_code == 200


def _page(response) -> str:
    """The page as a person reads it: without the per-response CSRF mask."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", page)


@pytest.fixture
def user(org):
    return MembershipFactory(org=org, user=UserFactory(email="victim@example.test")).user


@pytest.fixture
def threshold(settings) -> int:
    return settings.GATEHOUSE_LOCKOUT_THRESHOLD


# ---------------------------------------------------------------- threshold


def test_one_failure_short_of_the_threshold_the_right_password_still_works(client, user, threshold):
    responses = _fail(client, user.email, threshold - 1)

    assert [r.status_code for r in responses] == [200] * (threshold - 1)
    assert all(INVALID in r.content.decode() for r in responses)
    response = _post(client, user.email)
    assert response.status_code == 302
    assert _signed_in(client)
    # The success forgot the failures: another threshold − 1 do not lock.
    assert all(r.status_code == 200 for r in _fail(Client(), user.email, threshold - 1))
    assert _post(Client(), user.email).status_code == 302


def test_the_thresholdth_failure_locks_and_the_right_password_is_then_refused(client, user, threshold):
    responses = _fail(client, user.email, threshold)

    locking = responses[-1]
    assert locking.status_code == 429
    assert locking["Retry-After"] == "900"
    assert LOCKED in locking.content.decode()
    assert "Try again in 15 minutes" in locking.content.decode()

    refused = _post(client, user.email)
    assert refused.status_code == 429
    assert LOCKED in refused.content.decode()
    assert INVALID not in refused.content.decode()
    assert 899 <= int(refused["Retry-After"]) <= 900
    assert not _signed_in(client)
    assert not UserSession.objects.exists()
    assert AuditEvent.objects.filter(action="login.failed", metadata__reason="locked").count() == 2
    assert not AuditEvent.objects.filter(action="login.succeeded").exists()


def test_lock_period_grows_when_the_account_is_locked_again(client, user, threshold):
    _fail(client, user.email, threshold)
    SignInLock.objects.update(locked_until=timezone.now() - timedelta(seconds=1))  # the lock has run out

    assert _fail(client, user.email, threshold)[-1]["Retry-After"] == "1800"
    SignInLock.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert _fail(client, user.email, threshold)[-1]["Retry-After"] == "3600"


def test_after_the_lock_ends_the_right_password_works(client, user, threshold):
    _fail(client, user.email, threshold)
    SignInLock.objects.update(locked_until=timezone.now() - timedelta(seconds=1))

    assert _post(client, user.email).status_code == 302
    assert _signed_in(client)


# ---------------------------------------------------------------- no enumeration


def test_known_and_unknown_emails_lock_alike_and_read_the_same(client, user, threshold):
    known = _fail(client, user.email, threshold)
    unknown = _fail(client, UNKNOWN, threshold)

    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    for k, u in zip(known, unknown, strict=True):
        assert _page(k).replace(user.email, UNKNOWN) == _page(u)
    assert known[-1]["Retry-After"] == unknown[-1]["Retry-After"] == "900"

    # While locked: the known one with its right password, the unknown one with anything.
    until = timezone.now() + timedelta(minutes=10, seconds=30)
    SignInLock.objects.update(locked_until=until)
    known_locked = _post(client, user.email)
    unknown_locked = _post(client, UNKNOWN)
    assert known_locked.status_code == unknown_locked.status_code == 429
    assert _page(known_locked).replace(user.email, UNKNOWN) == _page(unknown_locked)
    assert "Try again in 11 minutes" in _page(unknown_locked)
    assert abs(int(known_locked["Retry-After"]) - int(unknown_locked["Retry-After"])) <= 1


def test_the_lockout_email_goes_to_the_owner_only(client, user, threshold):
    _fail(client, user.email, threshold)
    _fail(client, UNKNOWN, threshold)
    _fail(client, user.email, 3)  # refused while locked: no further mail

    mail = OutboundEmail.objects.get()
    assert mail.recipient == user.email
    assert mail.kind == "account_locked"
    events = AuditEvent.objects.filter(action="account.locked").order_by("id")
    assert [e.metadata["email"] for e in events] == [user.email, UNKNOWN]
    assert events[0].target_id == str(user.pk)
    assert events[0].ip == "127.0.0.1"


def test_the_lockout_email_is_delivered_after_commit(client, user, threshold, django_capture_on_commit_callbacks,
                                                     mailoutbox):
    with django_capture_on_commit_callbacks(execute=True):
        _fail(client, user.email, threshold)

    assert OutboundEmail.objects.get().status == OutboundEmail.Status.SENT
    assert [m.to for m in mailoutbox] == [[user.email]]


# ---------------------------------------------------------------- admin unlock


def test_an_unlocked_account_signs_in_at_once_and_the_unlock_is_audited(client, user, operator, threshold):
    _fail(client, user.email, threshold)
    assert _post(client, user.email).status_code == 429

    assert account_unlock(user=user, actor=operator)

    assert _post(client, user.email).status_code == 302
    assert _signed_in(client)
    event = AuditEvent.objects.get(action="account.unlocked", org=None)
    assert AuditEvent.objects.filter(action="account.unlocked").exclude(org=None).count() == 1  # the user's org
    assert (event.actor, event.target_id, event.metadata["was_locked"]) == (operator, str(user.pk), True)


# ---------------------------------------------------------------- per-IP throttle


@pytest.fixture
def ip_limit(settings) -> int:
    settings.GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT = 4
    return 4


def test_defaults_throttle_an_ip_after_fifty_failures_in_fifteen_minutes(settings):
    assert settings.GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT == 50
    assert settings.GATEHOUSE_THROTTLE_LOGIN_IP_WINDOW_SECONDS == 15 * 60


def test_too_many_failures_from_one_ip_answer_429_with_retry_after(client, user, ip_limit):
    # Spraying: one guess each at many addresses, none of them reaching its own lockout.
    responses = [_post(client, f"spray{i}@example.test", WRONG) for i in range(ip_limit + 1)]

    assert [r.status_code for r in responses] == [200] * ip_limit + [429]
    throttled = responses[-1]
    assert 1 <= int(throttled["Retry-After"]) <= 900
    assert THROTTLED in throttled.content.decode()
    # The right password from that IP is refused too, without touching the account's counter.
    refused = _post(client, user.email)
    assert refused.status_code == 429
    assert THROTTLED in refused.content.decode()
    assert not _signed_in(client)
    assert not SignInLock.objects.filter(key=signin_key(user.email)).exists()
    assert signin_failures_count(email=user.email) == 0
    events = AuditEvent.objects.filter(action="login.throttled").order_by("id")
    assert [e.metadata["email"] for e in events] == [f"spray{ip_limit}@example.test", user.email]
    assert all(e.ip == "127.0.0.1" for e in events)


def test_another_ip_is_not_throttled(client, user, ip_limit):
    _fail(client, UNKNOWN, ip_limit + 1, REMOTE_ADDR="203.0.113.7")

    assert _post(client, user.email, REMOTE_ADDR="203.0.113.8").status_code == 302


def test_successful_sign_ins_do_not_count_against_the_ip(client, user, ip_limit):
    for _ in range(ip_limit * 2):
        assert _post(Client(), user.email).status_code == 302
    assert all(r.status_code == 200 for r in _fail(client, UNKNOWN, ip_limit))


def test_a_throttled_attacker_cannot_push_the_victim_into_a_lockout(client, user, ip_limit, threshold):
    assert ip_limit < threshold
    _fail(client, user.email, threshold * 2, REMOTE_ADDR="198.51.100.9")

    assert signin_failures_count(email=user.email) == ip_limit
    assert not SignInLock.objects.exists()
    assert _post(Client(), user.email, REMOTE_ADDR="203.0.113.50").status_code == 302


def test_forged_forwarded_for_is_ignored_without_a_trusted_proxy(client, user, ip_limit, settings):
    settings.GATEHOUSE_TRUSTED_PROXIES = []
    responses = [_post(client, UNKNOWN, WRONG, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}") for i in range(ip_limit + 1)]

    assert responses[-1].status_code == 429
    assert AuditEvent.objects.filter(action="login.throttled").get().forwarded_for == f"192.0.2.{ip_limit}"


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_on_its_own(client, user, ip_limit, settings):
    settings.GATEHOUSE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    attacker = _fail(client, UNKNOWN, ip_limit + 1, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)

    assert attacker[-1].status_code == 429
    assert AuditEvent.objects.get(action="login.throttled").ip == "198.51.100.1"
    # Someone else behind the same proxy, and the attacker trying to hide behind a forged hop.
    assert _post(client, user.email, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code == 302
    forged = _post(Client(), UNKNOWN, WRONG, HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.1", **proxy)
    assert forged.status_code == 429


def test_addresses_in_one_ipv6_64_share_a_throttle(client, user, ip_limit):
    for i in range(ip_limit):
        _post(client, UNKNOWN, WRONG, REMOTE_ADDR=f"2001:db8:1:2::{i + 1:x}")

    assert _post(client, user.email, REMOTE_ADDR="2001:db8:1:2:ffff::1").status_code == 429
    assert _post(client, user.email, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302
