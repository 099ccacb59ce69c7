"""Disabling and enabling an account: tokens everywhere and signed-in sessions end with it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from applications.tests.token_factories import build_world, issue_tokens
from audit.models import AuditEvent
from directory.models import User
from directory.services import user_disable, user_enable
from identity.models import UserSession

pytestmark = pytest.mark.django_db

EVERYONE = {"alice@acme_web", "alice@globex_web", "bob@acme_web", "olive@acme_web", "greta@globex_web",
            "acme_machine"}


@pytest.fixture
def world():
    return build_world()


def _session(user: User, **fields) -> UserSession:
    now = timezone.now()
    return UserSession.objects.create(user=user, expires_at=now + timedelta(hours=8), **fields)


@pytest.fixture
def alice_sessions(world):
    signed_out_at = timezone.now() - timedelta(hours=1)
    return {
        "laptop": _session(world.alice, device="Laptop"),
        "phone": _session(world.alice, device="Phone"),
        "old": _session(world.alice, device="Old", ended_at=signed_out_at,
                        end_reason=UserSession.EndReason.LOGOUT),
        "bob": _session(world.bob, device="Bob's laptop"),
    }


def test_disabling_revokes_the_users_tokens_in_every_org_and_nothing_else(world, operator, alice_sessions):
    user = user_disable(user=world.alice, actor=operator, reason="left the company")

    assert user.status == User.Status.DISABLED
    assert not User.objects.get(pk=world.alice.pk).is_active
    assert world.revoked() == {"alice@acme_web", "alice@globex_web"}
    assert world.live() == EVERYONE - world.revoked()
    event = AuditEvent.objects.get(action="user.disabled", org=None)
    assert event.actor == operator
    # A global identity: the event is platform-level, and each org Alice is an active member of gets a copy.
    copies = AuditEvent.objects.filter(action="user.disabled", org__isnull=False)
    assert sorted(copy.org_id for copy in copies) == sorted([world.acme.pk, world.globex.pk])
    assert {copy.metadata["tokens_revoked"] for copy in copies} == {7}
    assert event.target_id == str(world.alice.pk)
    assert event.metadata == {"email": "alice@example.test", "before": "active", "after": "disabled",
                              "reason": "left the company", "tokens_revoked": 7, "sessions_ended": 2}


def test_disabling_ends_live_sessions_as_revoked(world, operator, alice_sessions):
    user_disable(user=world.alice, actor=operator)

    rows = {name: UserSession.objects.get(pk=row.pk) for name, row in alice_sessions.items()}
    for name in ("laptop", "phone"):
        assert rows[name].ended_at is not None
        assert rows[name].end_reason == UserSession.EndReason.REVOKED
    assert rows["old"].ended_at == alice_sessions["old"].ended_at
    assert rows["old"].end_reason == UserSession.EndReason.LOGOUT
    assert rows["bob"].ended_at is None


def test_a_disabled_users_browser_is_signed_out_at_its_next_request(world, operator, sign_in):
    browser = sign_in(world.alice)
    assert browser.get("/account/").wsgi_request.user.is_authenticated

    user_disable(user=world.alice, actor=operator)

    assert not browser.get("/account/").wsgi_request.user.is_authenticated


def test_disabling_a_disabled_user_writes_nothing(world, operator):
    user_disable(user=world.alice, actor=operator)
    later = issue_tokens(application=world.acme_web, user=world.alice)
    later_session = _session(world.alice)

    user_disable(user=world.alice, actor=operator)

    assert AuditEvent.objects.filter(action="user.disabled", org=None).count() == 1
    assert AuditEvent.objects.filter(action="user.disabled").count() == 3  # and a copy each in Acme and Globex
    assert later.is_live()
    assert UserSession.objects.get(pk=later_session.pk).ended_at is None


def test_enabling_restores_the_account_but_no_token_or_session(world, operator, alice_sessions):
    user_disable(user=world.alice, actor=operator)

    user = user_enable(user=world.alice, actor=operator, reason="came back")
    user_enable(user=world.alice, actor=operator)

    assert user.status == User.Status.ACTIVE
    assert User.objects.get(pk=world.alice.pk).is_active
    assert world.revoked() == {"alice@acme_web", "alice@globex_web"}
    assert not UserSession.objects.live().filter(user=world.alice).exists()
    assert AuditEvent.objects.filter(action="user.enabled").count() == 3  # and a copy each in Acme and Globex
    events = AuditEvent.objects.filter(action="user.enabled", org=None)
    assert events.count() == 1
    assert events.get().actor == operator
    assert events.get().metadata == {"email": "alice@example.test", "before": "disabled", "after": "active",
                                     "reason": "came back"}
