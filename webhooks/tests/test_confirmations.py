"""Disabling and deleting a webhook endpoint, and replacing its secret, show a confirmation page first, naming
what happens, and change nothing until confirmed (issue #13). Disabling was one click."""

from html import unescape

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def url(name: str, org, *args) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


@pytest.fixture
def endpoint(org, org_admin, allow_private):
    endpoint, _secret = webhook_endpoint_create(org=org, url="http://127.0.0.1:9/hook", actor=org_admin,
                                                events=["group.created"])
    for status in (Status.PENDING, Status.FAILED, Status.SENT):
        WebhookDelivery.objects.create(org=org, endpoint=endpoint, event_type="group.created",
                                       payload={"type": "group.created", "data": {}}, status=status)
    return endpoint


def _active(endpoint) -> bool:
    return WebhookEndpoint.objects.get(pk=endpoint.pk).is_active


@pytest.mark.parametrize("method", ["get", "post"])
def test_disabling_shows_what_is_dropped_first_and_changes_nothing(org, org_admin_client, endpoint, method):
    response = getattr(org_admin_client, method)(url("webhook-disable", org, endpoint.pk))

    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert "Disable the endpoint http://127.0.0.1:9/hook?" in page
    assert "2 deliveries still waiting are dropped and never sent." in page
    assert '<button type="submit" class="danger">Disable the endpoint</button>' in page
    assert f'href="{url("webhook-detail", org, endpoint.pk)}" role="button"' in page
    assert _active(endpoint)
    assert not AuditEvent.objects.filter(action="webhook.disabled").exists()


def test_the_confirmed_post_disables_and_audits(org, org_admin, org_admin_client, endpoint):
    response = org_admin_client.post(url("webhook-disable", org, endpoint.pk), {"confirmed": "1"})

    assert response["Location"] == url("webhook-detail", org, endpoint.pk)
    assert not _active(endpoint)
    event = AuditEvent.objects.get(action="webhook.disabled")
    assert (event.actor, event.org, event.metadata["url"]) == (org_admin, org, "http://127.0.0.1:9/hook")


def test_enabling_takes_nothing_away_and_acts_at_once(org, org_admin_client, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    assert org_admin_client.get(url("webhook-enable", org, endpoint.pk)).status_code == 405
    assert org_admin_client.post(url("webhook-enable", org, endpoint.pk)).status_code == 302
    assert _active(endpoint)


@pytest.mark.parametrize("name", ["webhook-disable", "webhook-delete", "webhook-secret"])
def test_another_orgs_admin_gets_404_on_both_steps(org, other_org_admin_client, endpoint, name):
    target = url(name, org, endpoint.pk)
    assert other_org_admin_client.get(target).status_code == 404
    assert other_org_admin_client.post(target).status_code == 404
    assert other_org_admin_client.post(target, {"confirmed": "1"}).status_code == 404
    assert _active(endpoint)
    assert not AuditEvent.objects.filter(action__in=["webhook.disabled", "webhook.deleted",
                                                     "webhook.secret_rotated"]).exists()


@pytest.mark.parametrize(("name", "says", "action"), [
    ("webhook-delete", "Its 3 deliveries are deleted, with their attempts.", "webhook.deleted"),
    ("webhook-secret", "every request carries two signatures", "webhook.secret_rotated"),
])
def test_the_pages_that_asked_already_ask_first_then_act(org, org_admin_client, endpoint, name, says, action):
    target = url(name, org, endpoint.pk)
    page = unescape(org_admin_client.get(target).content.decode())
    assert says in page
    assert not AuditEvent.objects.filter(action=action).exists()
    assert org_admin_client.post(target).status_code in (200, 302)
    assert AuditEvent.objects.filter(action=action, org=org).count() == 1
