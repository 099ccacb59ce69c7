"""Token housekeeping: expired tokens are cleared; every periodic job names a real task."""

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.services import application_create
from applications.tasks import previous_secrets_clear
from directory.tests.factories import UserFactory
from identity.tasks import tokens_prune

pytestmark = pytest.mark.django_db


def test_expired_tokens_are_cleared_and_live_ones_kept(org, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": 60}
    app = application_create(org=org, name="A", kind="machine").application
    user = UserFactory()
    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    old = AccessToken.objects.create(user=user, application=app, token="old", scope="openid",
                                     expires=timezone.now() - timedelta(days=2))
    RefreshToken.objects.create(user=user, application=app, token="old-refresh", access_token=old)
    live = AccessToken.objects.create(user=user, application=app, token="live", scope="openid",
                                      expires=timezone.now() + timedelta(hours=1))
    tokens_prune()
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert not RefreshToken.objects.filter(token="old-refresh").exists()


def test_every_beat_entry_names_a_registered_task():
    from config.celery import app

    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name


def test_previous_secrets_are_forgotten_once_their_overlap_has_ended(org):
    from applications.models import Application
    from applications.services import client_secret_rotate

    ended = application_create(org=org, name="Ended", kind="machine").application
    running = application_create(org=org, name="Running", kind="machine").application
    client_secret_rotate(application=ended, actor=None, overlap=timedelta(hours=1))
    client_secret_rotate(application=running, actor=None, overlap=timedelta(hours=1))
    Application.objects.filter(pk=ended.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    previous_secrets_clear()
    ended.refresh_from_db()
    running.refresh_from_db()
    assert (ended.previous_client_secret, ended.previous_secret_expires_at) == ("", None)
    assert running.previous_client_secret
    assert running.previous_secret_expires_at > timezone.now()
