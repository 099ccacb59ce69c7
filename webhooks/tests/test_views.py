"""The webhook console pages: who may do what, tenant isolation, the secret shown once, bad input, deliveries
with attempts and response codes, requeue, test events."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from config.encryption import decrypt
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def url(name: str, org, *args) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


@pytest.fixture
def endpoint(org, org_admin, receiver, allow_private):
    endpoint, secret = webhook_endpoint_create(org=org, url=receiver.url, actor=org_admin, description="CRM sync",
                                               events=["group.created", "membership.suspended"])
    receiver.secret = secret
    return endpoint


@pytest.fixture
def dead_delivery(endpoint, org):
    delivery = WebhookDelivery.objects.create(org=org, endpoint=endpoint, event_type="group.created",
                                              payload={"type": "group.created", "data": {}}, status=Status.DEAD,
                                              attempts=8, last_status_code=503, last_error="HTTP 503")
    WebhookAttempt.objects.create(delivery=delivery, status_code=503, error="HTTP 503", duration_ms=12)
    WebhookAttempt.objects.create(delivery=delivery, status_code=None, error="ConnectionRefusedError: refused")
    return delivery


def test_admin_adds_an_endpoint_and_sees_the_secret_once(org, org_admin_client, receiver, allow_private):
    response = org_admin_client.post(url("webhook-create", org), {
        "url": receiver.url, "description": "CRM sync", "events": ["group.created", "session.ended"]})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    secret = response.context["secret"]
    assert secret.startswith("whsec_")
    assert secret in response.content.decode()
    assert decrypt(endpoint.secret_encrypted) == secret
    assert secret not in endpoint.secret_encrypted
    assert (endpoint.url, endpoint.events, endpoint.description) == (receiver.url, ["group.created", "session.ended"],
                                                                     "CRM sync")
    event = AuditEvent.objects.get(action="webhook.created")
    assert event.metadata == {"url": receiver.url, "events": ["group.created", "session.ended"]}
    assert secret not in str(event.metadata)
    # Never again on a GET.
    assert secret not in org_admin_client.get(url("webhook-detail", org, endpoint.pk)).content.decode()
    assert secret not in org_admin_client.get(url("webhook-list", org)).content.decode()


@pytest.mark.parametrize(("target", "message"), [
    ("ftp://hooks.example.com/x", "The URL must start with https:// (or http://)."),
    ("not a url", "The URL must start with https:// (or http://)."),
    ("http://127.0.0.1:8000/hook", "127.0.0.1 resolves to 127.0.0.1, a loopback address"),
    ("http://169.254.169.254/", "a link-local address"),
])
def test_a_bad_or_private_url_is_a_clear_error_and_nothing_is_saved(org, org_admin_client, target, message):
    response = org_admin_client.post(url("webhook-create", org), {"url": target, "events": ["group.created"]})

    assert response.status_code == 200
    assert message in response.context["form"].errors["url"][0]
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action="webhook.created").exists()


@pytest.mark.parametrize("events", [[], ["login.failed"], ["nope"]])
def test_missing_or_unknown_events_are_refused(org, org_admin_client, receiver, allow_private, events):
    response = org_admin_client.post(url("webhook-create", org), {"url": receiver.url, "events": events})
    assert response.status_code == 200
    assert response.context["form"].errors["events"]
    assert not WebhookEndpoint.objects.exists()


def test_the_list_and_detail_show_deliveries_with_attempts_and_codes(org, org_admin_client, endpoint, dead_delivery):
    page = org_admin_client.get(url("webhook-list", org)).content.decode()
    assert "CRM sync" in page
    assert endpoint.url in page

    response = org_admin_client.get(url("webhook-detail", org, endpoint.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert "group.created" in html
    assert "<code>503</code>" in html
    assert "Send again" in html
    assert dict((value, n) for value, _label, n in response.context["counts"])["dead"] == 1

    response = org_admin_client.get(url("webhook-delivery", org, endpoint.pk, dead_delivery.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert [a.status_code for a in response.context["attempts"]] == [None, 503]
    assert "ConnectionRefusedError: refused" in html
    assert dead_delivery.message_id in html

    filtered = org_admin_client.get(url("webhook-detail", org, endpoint.pk) + "?status=sent")
    assert [d for d, _ in filtered.context["rows"]] == []
    bad = org_admin_client.get(url("webhook-detail", org, endpoint.pk) + "?status=bogus")
    assert bad.status_code == 200
    assert bad.context["form"].errors["status"]


def test_requeue_from_the_console_sends_it_again(org, org_admin_client, endpoint, dead_delivery, receiver,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(url("webhook-delivery-requeue", org, endpoint.pk, dead_delivery.pk))

    assert response.status_code == 302
    dead_delivery.refresh_from_db()
    assert (dead_delivery.status, dead_delivery.last_status_code) == (Status.SENT, 204)
    assert receiver.ids() == [dead_delivery.message_id]
    assert AuditEvent.objects.filter(action="webhook.delivery_requeued").exists()

    response = org_admin_client.post(url("webhook-delivery-requeue", org, endpoint.pk, dead_delivery.pk),
                                     follow=True)
    assert "only dead or failed deliveries can be requeued" in response.content.decode()


def test_send_test_event(org, org_admin_client, endpoint, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(url("webhook-test", org, endpoint.pk), follow=True)

    assert "A test event is on its way" in response.content.decode()
    [payload] = receiver.payloads()
    assert payload["type"] == "webhook.test"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_type, delivery.status) == ("webhook.test", Status.SENT)
    assert AuditEvent.objects.filter(action="webhook.test_sent").exists()


def test_edit_events_disable_enable(org, org_admin_client, endpoint, receiver):
    response = org_admin_client.post(url("webhook-edit", org, endpoint.pk), {
        "url": receiver.url, "description": "CRM", "events": ["session.ended"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.description) == (["session.ended"], "CRM")
    changed = AuditEvent.objects.get(action="webhook.updated")
    assert changed.metadata["before"]["events"] == ["group.created", "membership.suspended"]
    assert changed.metadata["after"]["events"] == ["session.ended"]

    response = org_admin_client.post(url("webhook-edit", org, endpoint.pk), {
        "url": "gopher://x", "events": ["session.ended"]})
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url

    org_admin_client.post(url("webhook-disable", org, endpoint.pk), {"confirmed": "1"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert "Disabled" in org_admin_client.get(url("webhook-list", org)).content.decode()
    org_admin_client.post(url("webhook-enable", org, endpoint.pk))
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert list(AuditEvent.objects.filter(action__in=["webhook.disabled", "webhook.enabled"])
                .order_by("seq").values_list("action", flat=True)) == ["webhook.disabled", "webhook.enabled"]


def test_new_secret_is_shown_once_and_replaces_the_old(org, org_admin_client, endpoint):
    old = decrypt(endpoint.secret_encrypted)
    confirm = org_admin_client.get(url("webhook-secret", org, endpoint.pk))
    assert "Make a new signing secret?" in confirm.content.decode()

    response = org_admin_client.post(url("webhook-secret", org, endpoint.pk))
    new = response.context["secret"]
    endpoint.refresh_from_db()
    assert new != old
    assert decrypt(endpoint.secret_encrypted) == new
    assert "no-store" in response["Cache-Control"]


def test_delete_asks_first_naming_what_goes(org, org_admin_client, endpoint, dead_delivery):
    confirm = org_admin_client.get(url("webhook-delete", org, endpoint.pk))
    assert "Its 1 delivery is deleted, with its attempts." in confirm.content.decode()
    assert WebhookEndpoint.objects.exists()

    response = org_admin_client.post(url("webhook-delete", org, endpoint.pk))
    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert AuditEvent.objects.get(action="webhook.deleted").metadata["deliveries_deleted"] == 1


def test_auditors_read_but_change_nothing(org, sign_in, org_auditor, endpoint, dead_delivery):
    client = sign_in(org_auditor)
    page = client.get(url("webhook-detail", org, endpoint.pk))
    assert page.status_code == 200
    assert "Send again" not in page.content.decode()
    assert "Send test event" not in page.content.decode()
    for name, args in [("webhook-create", ()), ("webhook-edit", (endpoint.pk,)), ("webhook-disable", (endpoint.pk,)),
                       ("webhook-test", (endpoint.pk,)), ("webhook-secret", (endpoint.pk,)),
                       ("webhook-delete", (endpoint.pk,)),
                       ("webhook-delivery-requeue", (endpoint.pk, dead_delivery.pk))]:
        assert client.post(url(name, org, *args), {"confirmed": "1"}).status_code == 403, name
    assert WebhookEndpoint.objects.get().is_active


def test_members_have_no_webhook_pages(org, sign_in, org_member, endpoint):
    assert sign_in(org_member).get(url("webhook-list", org)).status_code == 403


def test_another_orgs_admin_gets_404_everywhere(org, other_org, sign_in, other_org_admin, endpoint, dead_delivery):
    client = sign_in(other_org_admin)
    gets = [("webhook-list", ()), ("webhook-create", ()), ("webhook-detail", (endpoint.pk,)),
            ("webhook-edit", (endpoint.pk,)), ("webhook-secret", (endpoint.pk,)), ("webhook-delete", (endpoint.pk,)),
            ("webhook-delivery", (endpoint.pk, dead_delivery.pk))]
    for name, args in gets:
        assert client.get(url(name, org, *args)).status_code == 404, name
    posts = [("webhook-disable", (endpoint.pk,)), ("webhook-test", (endpoint.pk,)), ("webhook-delete", (endpoint.pk,)),
             ("webhook-delivery-requeue", (endpoint.pk, dead_delivery.pk))]
    for name, args in posts:
        assert client.post(url(name, org, *args), {"confirmed": "1"}).status_code == 404, name
    # Under their own org, this org's endpoint and delivery ids are 404 too.
    for name, args in [("webhook-detail", (endpoint.pk,)), ("webhook-delivery", (endpoint.pk, dead_delivery.pk))]:
        assert client.get(url(name, other_org, *args)).status_code == 404, name
    assert client.post(url("webhook-delete", other_org, endpoint.pk)).status_code == 404
    assert WebhookEndpoint.objects.get().is_active


def test_unknown_ids_are_404(org, org_admin_client, endpoint):
    assert org_admin_client.get(url("webhook-detail", org, 999999)).status_code == 404
    assert org_admin_client.get(url("webhook-delivery", org, endpoint.pk, 999999)).status_code == 404
    assert org_admin_client.post(url("webhook-delivery-requeue", org, endpoint.pk, 999999)).status_code == 404


def test_the_sidebar_links_webhooks_for_console_roles(org, org_admin_client):
    page = org_admin_client.get(url("webhook-list", org)).content.decode()
    assert f'href="{url("webhook-list", org)}" aria-current="page"' in page
