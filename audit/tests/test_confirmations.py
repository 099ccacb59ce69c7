"""Shortening the audit retention purges events: the console says how many go and asks first; only the
confirmed POST changes the retention and writes the audit row (issue #13). Lengthening it, or keeping events
for ever, takes nothing away and acts at once."""

from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from orgs.models import Organization

pytestmark = pytest.mark.django_db


def retention_url(org) -> str:
    return reverse("console:audit-retention", kwargs={"org_slug": org.slug})


@pytest.fixture
def old_events(org, other_org):
    """Three events of Acme's from 100 days ago, one from yesterday, and one of another org's, old too."""
    long_ago = timezone.now() - timedelta(days=100)
    for _ in range(3):
        AuditEvent.objects.create(org=org, action="group.created", created_at=long_ago)
    AuditEvent.objects.create(org=org, action="group.updated", created_at=timezone.now() - timedelta(days=1))
    AuditEvent.objects.create(org=other_org, action="group.created", created_at=long_ago)


def _retention(org):
    return Organization.objects.get(pk=org.pk).audit_retention_days


def test_a_shorter_retention_names_what_is_purged_and_changes_nothing(org, org_admin_client, old_events):
    events = AuditEvent.objects.count()
    response = org_admin_client.post(retention_url(org), {"days": "30"})

    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert "Keep audit events for only 30 days?" in page
    assert "3 events of Acme Corp, older than" in page
    assert "are deleted for good at tonight's purge." in page
    assert '<input type="hidden" name="days" value="30">' in page
    assert '<button type="submit" class="danger">Keep events for 30 days</button>' in page
    assert _retention(org) is None
    assert AuditEvent.objects.count() == events


def test_the_confirmed_post_changes_the_retention_and_audits_it(org, org_admin, org_admin_client, old_events):
    response = org_admin_client.post(retention_url(org), {"days": "30", "confirmed": "1"})

    assert response.status_code == 302
    assert _retention(org) == 30
    event = AuditEvent.objects.get(action="audit.retention_changed")
    assert (event.actor, event.org) == (org_admin, org)
    assert event.metadata == {"before": {"retention_days": None}, "after": {"retention_days": 30}}


def test_a_longer_retention_or_for_ever_acts_at_once(org, org_admin_client):
    Organization.objects.filter(pk=org.pk).update(audit_retention_days=30)
    assert org_admin_client.post(retention_url(org), {"days": "90"}).status_code == 302
    assert _retention(org) == 90
    assert org_admin_client.post(retention_url(org), {"days": ""}).status_code == 302
    assert _retention(org) is None


def test_a_bad_value_is_a_field_error_even_when_confirmed(org, org_admin_client):
    response = org_admin_client.post(retention_url(org), {"days": "-1", "confirmed": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors["days"]
    assert _retention(org) is None


@pytest.mark.parametrize("data", [{"days": "30"}, {"days": "30", "confirmed": "1"}])
def test_another_orgs_admin_gets_404_on_both_steps(org, other_org_admin_client, data):
    assert other_org_admin_client.get(retention_url(org)).status_code == 404
    assert other_org_admin_client.post(retention_url(org), data).status_code == 404
    assert _retention(org) is None
    assert not AuditEvent.objects.filter(action="audit.retention_changed").exists()
