"""Token housekeeping: expired tokens are cleared; every periodic job names a real task."""

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.services import application_create
from applications.tasks import expired_tokens_clear
from directory.tests.factories import UserFactory

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
    expired_tokens_clear()
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert not RefreshToken.objects.filter(token="old-refresh").exists()


def test_every_beat_entry_names_a_registered_task():
    from config.celery import app

    app.loader.import_default_modules()
    for name, entry in app.conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name
