"""The session sweep deletes UserSession rows long ended, and keeps what the new-device notice still reads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from identity.models import UserSession
from identity.services import NEW_DEVICE_MEMORY
from identity.tasks import expired_sessions_purge

pytestmark = pytest.mark.django_db


def test_rows_ended_longer_ago_than_the_device_memory_are_deleted(org_member, org_admin):
    now = timezone.now()

    def row(user, *, ended_ago=None):
        ended = now - ended_ago if ended_ago is not None else None
        return UserSession.objects.create(user=user, expires_at=now + timedelta(hours=1), created_at=now - timedelta(
            days=200), ended_at=ended, end_reason=UserSession.EndReason.LOGOUT if ended else "")

    long_ended = [row(org_member, ended_ago=NEW_DEVICE_MEMORY + timedelta(days=1)),
                  row(org_admin, ended_ago=NEW_DEVICE_MEMORY + timedelta(days=30))]
    recently_ended = row(org_member, ended_ago=NEW_DEVICE_MEMORY - timedelta(days=1))
    live = row(org_member)

    result = expired_sessions_purge()

    assert result["ended_sessions_deleted"] == 2
    assert not UserSession.objects.filter(pk__in=[r.pk for r in long_ended]).exists()
    assert set(UserSession.objects.values_list("pk", flat=True)) == {recently_ended.pk, live.pk}
    assert expired_sessions_purge()["ended_sessions_deleted"] == 0
