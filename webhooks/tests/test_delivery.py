"""Webhook delivery end to end, in one process (eager Celery): a real service records an event, the
outbox row is written with it, the task POSTs it to a real HTTP receiver that verifies the signature
with `standardwebhooks`; failures retry with backoff, die, and come back when requeued; SSRF refusals."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record
from config.exceptions import DomainError
from directory.services import group_create, group_member_add
from directory.tests.factories import MembershipFactory, UserFactory
from orgs.services import membership_suspend
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    webhook_delivery_requeue,
    webhook_endpoint_create,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_set_active,
)
from webhooks.tasks import webhook_sweep

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture
def endpoint(org, org_admin, receiver, allow_private):
    endpoint, secret = webhook_endpoint_create(
        org=org, url=receiver.url, actor=org_admin,
        events=["group.created", "group.member_added", "membership.suspended"])
    receiver.secret = secret
    return endpoint


def advance_clock(seconds: float) -> None:
    """As if `seconds` had passed for the outbox: every stored time moves back."""
    delta = timedelta(seconds=seconds)
    WebhookDelivery.objects.update(next_attempt_at=F("next_attempt_at") - delta, created_at=F("created_at") - delta)
    WebhookDelivery.objects.filter(dispatched_at__isnull=False).update(dispatched_at=F("dispatched_at") - delta)
    WebhookDelivery.objects.filter(claimed_at__isnull=False).update(claimed_at=F("claimed_at") - delta)


def test_a_real_event_reaches_the_receiver_signed(org, org_admin, endpoint, receiver,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        group = group_create(org=org, name="Engineering", actor=org_admin)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.SENT, 1, 204)
    assert receiver.rejected == []
    [payload] = receiver.payloads()  # verified by standardwebhooks.Webhook(secret).verify
    assert payload["type"] == "group.created"
    assert payload["data"]["org"] == {"id": org.pk, "slug": "acme"}
    assert payload["data"]["actor"] == {"email": "admin@acme.test"}
    assert payload["data"]["target"] == {"type": "directory.group", "id": str(group.pk), "label": str(group)}
    event = AuditEvent.objects.get(action="group.created")
    assert payload["data"]["event_id"] == event.pk
    assert payload["timestamp"].endswith("Z")
    assert receiver.ids() == [delivery.message_id]
    assert receiver.received[0].headers["user-agent"].startswith("Gatehouse-Webhooks")
    attempt = WebhookAttempt.objects.get()
    assert (attempt.status_code, attempt.error) == (204, "")


def test_a_wrong_secret_is_what_the_receiver_refuses(org, org_admin, endpoint, receiver,
                                                     django_capture_on_commit_callbacks):
    """The receiver really checks: with another secret, the same delivery fails verification (401)."""
    receiver.secret = "whsec_" + "A" * 43 + "="
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Engineering", actor=org_admin)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (Status.FAILED, 401)
    assert receiver.rejected == ["No matching signature found"]


def test_only_subscribed_events_of_this_org_go_out(org, other_org, org_admin, endpoint, receiver,
                                                   django_capture_on_commit_callbacks):
    member = MembershipFactory(org=org, user=UserFactory(email="bob@acme.test"))
    with django_capture_on_commit_callbacks(execute=True):
        group = group_create(org=org, name="Eng", actor=org_admin)
        group_member_add(group=group, user=member.user, actor=org_admin, notify=False)
        membership_suspend(membership=member, actor=org_admin, reason="left")
        audit_record(action="login.succeeded", org=org, actor=member.user)  # not webhook-visible
        audit_record(action="group.deleted", org=org)  # visible, not subscribed
        group_create(org=other_org, name="Globex group")  # another org's

    assert [p["type"] for p in receiver.payloads()] == ["group.created", "group.member_added",
                                                         "membership.suspended"]
    assert receiver.payloads()[2]["data"]["metadata"]["reason"] == "left"
    assert WebhookDelivery.objects.filter(status=Status.SENT).count() == 3


def test_retry_after_the_receiver_was_down(org, org_admin, endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.stop()  # nothing listens on its port now
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Engineering", actor=org_admin)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 1
    assert "ConnectionRefusedError" in delivery.last_error
    assert delivery.last_status_code is None
    assert delivery.next_attempt_at > delivery.updated_at  # backoff: not due yet
    assert webhook_sweep()["due"] == 0

    receiver.start()  # back, on the same port
    advance_clock(120)
    assert webhook_sweep() == {"stuck_dead": 0, "stuck_retried": 0, "due": 1, "dispatched": 1}

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (Status.SENT, 2, 204)
    assert receiver.ids() == [delivery.message_id]  # the same webhook-id as the first attempt
    assert list(WebhookAttempt.objects.order_by("id").values_list("status_code", flat=True)) == [None, 204]


def test_an_error_status_is_recorded_then_the_delivery_dies_and_requeue_brings_it_back(
        org, org_admin, endpoint, receiver, settings, django_capture_on_commit_callbacks):
    settings.GATEHOUSE_WEBHOOKS_MAX_ATTEMPTS = 2
    receiver.status = 503
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Engineering", actor=org_admin)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == (Status.FAILED, 503, "HTTP 503")

    advance_clock(3600)
    webhook_sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.DEAD, 2)

    receiver.status = 204
    with django_capture_on_commit_callbacks(execute=True):
        webhook_delivery_requeue(delivery=delivery, actor=org_admin)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    requeued = AuditEvent.objects.get(action="webhook.delivery_requeued")
    assert requeued.metadata["before"] == {"status": "dead", "attempts": 2, "last_error": "HTTP 503"}
    with pytest.raises(DomainError, match="only dead or failed"):
        webhook_delivery_requeue(delivery=delivery, actor=org_admin)


def test_a_disabled_endpoint_gets_nothing_and_its_waiting_deliveries_die(org, org_admin, endpoint, receiver,
                                                                         django_capture_on_commit_callbacks):
    receiver.stop()
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="One", actor=org_admin)
    webhook_endpoint_set_active(endpoint=endpoint, active=False, actor=org_admin)
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Two", actor=org_admin)
    assert WebhookDelivery.objects.count() == 1  # nothing written for "Two"

    advance_clock(120)
    webhook_sweep()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == (Status.DEAD, "The endpoint is disabled.")


def test_an_org_without_webhooks_pays_no_query_for_them(org, org_admin, django_assert_num_queries):
    """The chain head says nobody listens: linking the event is its only extra statement (the UPDATE that
    reserves its seq and reads the listener count), and no webhook table is read."""
    audit_record(action="organization.created", org=org)  # the chain's head exists from the org's first event
    with django_assert_num_queries(2) as captured:
        audit_record(action="group.created", org=org, metadata={"name": "x"})
    assert captured.captured_queries[0]["sql"].startswith('UPDATE "audit_auditchain"')
    assert captured.captured_queries[1]["sql"].startswith('INSERT INTO "audit_auditevent"')
    assert not WebhookDelivery.objects.exists()


def test_secrets_and_links_in_metadata_are_withheld(org, org_admin, endpoint, receiver,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        audit_record(action="group.created", org=org, metadata={
            "name": "Eng", "client_secret": "s3cr3t", "invitation_link": "https://x/invite/abc",
            "tokens_revoked": 3, "nested": {"password": "hunter2"}})
    metadata = receiver.payloads()[0]["data"]["metadata"]
    assert metadata == {"name": "Eng", "client_secret": "[withheld]", "invitation_link": "[withheld]",
                        "tokens_revoked": 3, "nested": {"password": "[withheld]"}}


# ---------------------------------------------------------------------------------------------- SSRF


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://hooks.example.com/x", "must start with https://"),
    ("javascript:alert(1)", "must start with https://"),
    ("https://", "has no host name"),
    ("https://user:pw@hooks.example.com/", "must not contain a user name"),
    ("http://127.0.0.1:9/hook", "127.0.0.1, a loopback address"),
    ("http://localhost/hook", "a loopback address"),
    ("http://[::1]/hook", "::1, a loopback address"),
    ("http://10.1.2.3/hook", "a private address"),
    ("http://192.168.0.10/hook", "a private address"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
    ("http://[::ffff:127.0.0.1]/hook", "a loopback address"),
    ("http://224.0.0.1/hook", "a multicast address"),
    ("http://0.0.0.0/hook", "an unspecified address"),
    ("http://240.0.0.1/hook", "a reserved address"),
    ("http://100.64.0.1/hook", "a reserved address"),
])
def test_ssrf_and_bad_urls_are_refused_at_save_time_and_nothing_is_saved(org, org_admin, url, message):
    with pytest.raises(DomainError, match=message) as excinfo:
        webhook_endpoint_create(org=org, url=url, events=["group.created"], actor=org_admin)
    assert excinfo.value.field == "url"
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action="webhook.created").exists()


def test_a_name_that_does_not_resolve_is_refused(org, org_admin):
    with pytest.raises(DomainError, match="could not be resolved"):
        webhook_endpoint_create(org=org, url="https://no-such-host.invalid/hook", events=["group.created"],
                                actor=org_admin)


def test_a_target_that_became_private_is_refused_at_delivery_time(org, org_admin, endpoint, receiver, settings,
                                                                  django_capture_on_commit_callbacks):
    """Saved while allowed (or while the name pointed elsewhere: DNS rebinding), checked again when sent."""
    settings.GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE = False
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Engineering", actor=org_admin)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.DEAD  # a rule, not a passing failure: no retries
    assert "127.0.0.1, a loopback address" in delivery.last_error
    assert receiver.received == []
    assert receiver.rejected == []


def test_redirects_are_not_followed(org, org_admin, endpoint, receiver, django_capture_on_commit_callbacks):
    receiver.status = 307
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Engineering", actor=org_admin)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (Status.FAILED, 307)


def test_unknown_or_no_events_are_refused(org, org_admin, receiver, allow_private):
    with pytest.raises(DomainError, match="Not an event webhooks can subscribe to: login.failed") as excinfo:
        webhook_endpoint_create(org=org, url=receiver.url, events=["login.failed"], actor=org_admin)
    assert excinfo.value.field == "events"
    with pytest.raises(DomainError, match="at least one event"):
        webhook_endpoint_create(org=org, url=receiver.url, events=[], actor=org_admin)
    assert not WebhookEndpoint.objects.exists()


def test_after_a_new_secret_both_sign_for_a_day(org, org_admin, endpoint, receiver,
                                                django_capture_on_commit_callbacks):
    old_secret = receiver.secret
    endpoint, new_secret = webhook_endpoint_secret_rotate(endpoint=endpoint, actor=org_admin)

    with django_capture_on_commit_callbacks(execute=True):  # the receiver still has the old secret
        group_create(org=org, name="One", actor=org_admin)
    receiver.secret = new_secret  # it switched
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Two", actor=org_admin)
    assert receiver.rejected == []
    assert len(receiver.received) == 2
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    receiver.secret = old_secret  # a receiver that never switched is refused once the overlap is over
    with django_capture_on_commit_callbacks(execute=True):
        group_create(org=org, name="Three", actor=org_admin)
    assert receiver.rejected == ["No matching signature found"]


def test_one_transactions_deliveries_go_to_the_broker_together(org, org_admin, endpoint, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    handed = []
    monkeypatch.setattr("webhooks.services.webhook_dispatch", handed.append)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(150):
            audit_record(action="group.created", org=org, metadata={"n": i})

    assert len(handed) == 1  # one hand-over (webhook_dispatch sends it as two messages of at most 100)
    assert sorted(handed[0]) == sorted(WebhookDelivery.objects.values_list("pk", flat=True))
    assert len(handed[0]) == 150


def test_rows_of_a_task_that_never_ran_are_handed_over_again_after_a_minute(org, org_admin, endpoint, receiver):
    """A worker that died with the task in hand (SIGKILL) never acknowledges it, and the broker keeps it for an
    hour: the sweeper hands the row over again once a minute has passed, and it is delivered once."""
    # The test's transaction never commits, so the task is never handed over: as if a dead worker held it.
    group_create(org=org, name="Engineering", actor=org_admin)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.PENDING
    assert delivery.dispatched_at is not None

    advance_clock(50)
    assert webhook_sweep()["due"] == 0  # its task may still be waiting its turn in the broker

    advance_clock(11)
    assert webhook_sweep() == {"stuck_dead": 0, "stuck_retried": 0, "due": 1, "dispatched": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    assert receiver.ids() == [delivery.message_id]
