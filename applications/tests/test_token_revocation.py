"""Revoking tokens in bulk, and disabling or enabling an application."""

import pytest

from applications.models import Application
from applications.services import application_disable, application_enable
from applications.tests.token_factories import (
    AccessToken,
    Grant,
    IDToken,
    RefreshToken,
    build_world,
    issue_tokens,
)
from applications.tokens import tokens_revoke
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

EVERYONE = {"alice@acme_web", "alice@globex_web", "bob@acme_web", "olive@acme_web", "greta@globex_web",
            "acme_machine"}


@pytest.fixture
def world():
    return build_world()


# --- tokens_revoke --------------------------------------------------------------------------------


def test_by_user_revokes_that_user_in_every_org_and_nothing_else(world):
    revoked = tokens_revoke(user=world.alice, reason="test")

    assert world.revoked() == {"alice@acme_web", "alice@globex_web"}
    assert world.live() == EVERYONE - world.revoked()
    # Two sign-ins of three rows each (refresh, access, ID token), and her unused code.
    assert revoked == 7
    assert not Grant.objects.filter(pk=world.grant.pk).exists()


def test_by_user_and_org_keeps_the_users_tokens_in_other_orgs(world):
    revoked = tokens_revoke(user=world.alice, org=world.acme, reason="test")

    assert world.revoked() == {"alice@acme_web"}
    assert world.live() == EVERYONE - {"alice@acme_web"}
    assert revoked == 4


def test_by_application_includes_client_credentials_tokens(world):
    assert tokens_revoke(application=world.acme_machine, reason="test") == 1
    assert world.revoked() == {"acme_machine"}

    tokens_revoke(application=world.acme_web, reason="test")

    assert world.revoked() == {"acme_machine", "alice@acme_web", "bob@acme_web", "olive@acme_web"}
    assert world.live() == {"alice@globex_web", "greta@globex_web"}


def test_by_org_revokes_every_app_of_that_org_only(world):
    tokens_revoke(org=world.acme, reason="test")

    assert world.revoked() == {"alice@acme_web", "bob@acme_web", "olive@acme_web", "acme_machine"}
    assert world.live() == {"alice@globex_web", "greta@globex_web"}


def test_revoking_again_finds_nothing(world):
    tokens_revoke(org=world.acme, reason="test")
    first_revoked_at = RefreshToken.objects.get(pk=world.tokens["bob@acme_web"].refresh.pk).revoked

    assert tokens_revoke(org=world.acme, reason="test") == 0
    assert RefreshToken.objects.get(pk=world.tokens["bob@acme_web"].refresh.pk).revoked == first_revoked_at


def test_a_refresh_token_rotated_earlier_keeps_its_revocation_time(world):
    rotated = world.tokens["bob@acme_web"].refresh
    rotated.revoke()
    rotated.refresh_from_db()

    tokens_revoke(user=world.bob, reason="test")

    assert RefreshToken.objects.get(pk=rotated.pk).revoked == rotated.revoked


def test_without_a_filter_nothing_is_revoked(world):
    with pytest.raises(ValueError, match="never revokes everything"):
        tokens_revoke(reason="test")

    assert world.live() == EVERYONE


def test_leaves_the_same_rows_as_dot_revoke(world):
    by_dot, by_us = world.tokens["bob@acme_web"], world.tokens["alice@acme_web"]
    by_dot.refresh.revoke()
    tokens_revoke(user=world.alice, reason="test")

    for issued in (by_dot, by_us):
        refresh = RefreshToken.objects.get(pk=issued.refresh.pk)
        assert refresh.revoked is not None
        assert refresh.access_token_id is None
        assert refresh.updated >= refresh.revoked
        assert not AccessToken.objects.filter(pk=issued.access.pk).exists()


def test_falls_back_to_one_by_one_when_two_live_refresh_tokens_share_a_checksum(world):
    # (token_checksum, revoked) is unique, so one shared revocation time cannot cover both rows.
    twin = issue_tokens(application=world.acme_web, user=world.bob)
    RefreshToken.objects.filter(pk=twin.refresh.pk).update(
        token=world.tokens["bob@acme_web"].refresh.token,
        token_checksum=world.tokens["bob@acme_web"].refresh.token_checksum,
    )

    tokens_revoke(user=world.bob, reason="test")

    assert twin.is_revoked()
    assert world.revoked() == {"bob@acme_web"}


def test_thousands_of_tokens_take_a_bounded_number_of_queries(world, django_assert_max_num_queries):
    expires = world.tokens["bob@acme_web"].access.expires
    count = 2000
    id_tokens = IDToken.objects.bulk_create(
        IDToken(user=world.bob, application=world.acme_web, expires=expires, scope="openid")
        for _ in range(count)
    )
    access_tokens = AccessToken.objects.bulk_create(
        AccessToken(user=world.bob, application=world.acme_web, token=f"bulk-access-{i}", expires=expires,
                    scope="openid", id_token=id_token)
        for i, id_token in enumerate(id_tokens)
    )
    RefreshToken.objects.bulk_create(
        RefreshToken(user=world.bob, application=world.acme_web, token=f"bulk-refresh-{i}", access_token=access)
        for i, access in enumerate(access_tokens)
    )

    # Django's delete collector deletes 100 rows a statement: under 60 statements for these 6,000 rows
    # on SQLite (fewer on PostgreSQL), where revoking one by one takes several statements per token.
    with django_assert_max_num_queries(80):
        revoked = tokens_revoke(user=world.bob, reason="test")

    assert revoked == 3 * (count + 1)
    assert not AccessToken.objects.filter(user=world.bob).exists()
    assert not IDToken.objects.filter(user=world.bob).exists()
    assert not RefreshToken.objects.filter(user=world.bob, revoked__isnull=True).exists()
    assert world.live() == EVERYONE - {"bob@acme_web"}


# --- application_disable / application_enable ----------------------------------------------------


def test_disabling_an_app_revokes_its_tokens_and_is_audited(world, operator):
    app = application_disable(application=world.acme_web, actor=operator)

    assert app.status == Application.Status.DISABLED
    assert Application.objects.get(pk=app.pk).status == Application.Status.DISABLED
    assert world.revoked() == {"alice@acme_web", "bob@acme_web", "olive@acme_web"}
    assert world.live() == {"alice@globex_web", "greta@globex_web", "acme_machine"}
    event = AuditEvent.objects.get(action="application.disabled")
    assert event.actor == operator
    assert event.org == world.acme
    assert event.target_id == str(app.pk)
    assert event.metadata == {"client_id": app.client_id, "before": "active", "after": "disabled",
                              "tokens_revoked": 10}


def test_disabling_keeps_the_client_secret(world, operator):
    secret_before = Application.objects.get(pk=world.acme_web.pk).client_secret

    application_disable(application=world.acme_web, actor=operator)

    assert Application.objects.get(pk=world.acme_web.pk).client_secret == secret_before


def test_disabling_a_disabled_app_writes_nothing(world, operator):
    application_disable(application=world.acme_machine, actor=operator)
    later = issue_tokens(application=world.acme_machine, user=None, refresh=False, id_token=False)

    application_disable(application=world.acme_machine, actor=operator)

    assert AuditEvent.objects.filter(action="application.disabled").count() == 1
    assert later.is_live()


def test_enabling_an_app_restores_no_token(world, operator):
    application_disable(application=world.acme_web, actor=operator)

    app = application_enable(application=world.acme_web, actor=operator)
    application_enable(application=world.acme_web, actor=operator)

    assert app.status == Application.Status.ACTIVE
    assert Application.objects.get(pk=app.pk).status == Application.Status.ACTIVE
    assert world.revoked() == {"alice@acme_web", "bob@acme_web", "olive@acme_web"}
    events = AuditEvent.objects.filter(action="application.enabled")
    assert events.count() == 1
    assert events.get().metadata == {"client_id": app.client_id, "before": "disabled", "after": "active"}
    assert events.get().org == world.acme
