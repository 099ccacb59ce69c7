"""The console's back-channel logout page: states, errors, requeue by admins only, 404 for another org."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from identity.backchannel.models import BackchannelLogout
from identity.backchannel.tests.support import make_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(org, receiver):
    return make_app(org, client_id="hr", logout_uri=receiver.url)


def _delivery(app, user, status, **fields):
    return BackchannelLogout.objects.create(
        org=app.org, application=app, user=user, subject=str(user.public_id), sid=f"sid-{status}-{user.pk}",
        reason="logout", status=status, **fields)


def _list_url(app):
    return reverse("console:app-backchannel-logouts", args=[app.org.slug, app.pk])


def _requeue_url(app, delivery):
    return reverse("console:app-backchannel-logout-requeue", args=[app.org.slug, app.pk, delivery.pk])


@pytest.fixture
def deliveries(app, org_member):
    next_attempt = timezone.now() + timedelta(minutes=4)
    return {
        "sent": _delivery(app, org_member, "sent", attempts=1, sent_at=timezone.now()),
        "failed": _delivery(app, org_member, "failed", attempts=2, last_error="HTTP 503",
                            next_attempt_at=next_attempt),
        "dead": _delivery(app, org_member, "dead", attempts=8, last_error="ConnectionRefusedError: refused"),
    }


def test_admin_sees_every_state_with_errors_next_attempts_and_a_requeue_button_for_failed_and_dead(
    org_admin_client, app, deliveries,
):
    response = org_admin_client.get(_list_url(app))

    assert response.status_code == 200
    html = response.content.decode()
    assert "member@acme.test" in html
    assert "HTTP 503" in html
    assert "ConnectionRefusedError: refused" in html
    next_at = timezone.localtime(deliveries["failed"].next_attempt_at)
    assert f"Next attempt {next_at.day} {next_at:%b %Y, %H:%M:%S} UTC" in html
    assert "8 attempts" in html
    assert html.count(">Send again</button>") == 2
    assert _requeue_url(app, deliveries["dead"]) in html
    assert _requeue_url(app, deliveries["sent"]) not in html
    counts = {value: n for value, _, n in response.context["counts"]}
    assert counts == {"pending": 0, "sending": 0, "sent": 1, "failed": 1, "dead": 1}


def test_the_state_filter_narrows_the_list_and_a_bad_one_is_an_error(org_admin_client, app, deliveries):
    dead_only = org_admin_client.get(_list_url(app), {"status": "dead"})
    assert [row[0].pk for row in dead_only.context["rows"]] == [deliveries["dead"].pk]

    bad = org_admin_client.get(_list_url(app), {"status": "exploded", "before": "x"})
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) == {"status", "before"}
    assert len(bad.context["rows"]) == 3


def test_the_application_page_summarises_the_deliveries(org_admin_client, app, deliveries):
    html = org_admin_client.get(reverse("console:app-detail", args=[app.org.slug, app.pk])).content.decode()

    assert "Sent: 1 · Failed: 1 · Dead: 1" in html
    assert _list_url(app) in html


def test_an_auditor_reads_the_page_but_cannot_requeue(sign_in, org_auditor, app, deliveries):
    client = sign_in(org_auditor)

    html = client.get(_list_url(app)).content.decode()
    assert "HTTP 503" in html
    assert "Send again" not in html
    response = client.post(_requeue_url(app, deliveries["dead"]))
    assert response.status_code == 403
    deliveries["dead"].refresh_from_db()
    assert deliveries["dead"].status == "dead"


def test_requeue_sends_a_dead_delivery_again_and_audits_it(
    org_admin_client, org_admin, app, deliveries, receiver, django_capture_on_commit_callbacks,
):
    dead = deliveries["dead"]
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(_requeue_url(app, dead))

    assert response.status_code == 302
    assert response["Location"] == _list_url(app)
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("sent", 1)
    assert len(receiver.requests) == 1
    event = AuditEvent.objects.get(action="backchannel_logout.requeued")
    assert (event.actor, event.org) == (org_admin, app.org)
    assert event.metadata["before"]["status"] == "dead"
    assert event.metadata["before"]["attempts"] == 8


def test_a_sent_delivery_cannot_be_requeued(org_admin_client, app, deliveries, receiver):
    response = org_admin_client.post(_requeue_url(app, deliveries["sent"]), follow=True)

    assert "only dead or failed deliveries can be requeued" in response.content.decode()
    assert receiver.requests == []
    assert not AuditEvent.objects.filter(action="backchannel_logout.requeued").exists()


def test_requeue_is_refused_while_another_delivery_for_the_session_waits(
    org_admin_client, app, org_member, receiver,
):
    dead = _delivery(app, org_member, "dead", attempts=8)
    BackchannelLogout.objects.create(org=app.org, application=app, user=org_member, subject=dead.subject,
                                     sid=dead.sid, reason="logout", status="pending")

    response = org_admin_client.post(_requeue_url(app, dead), follow=True)

    assert "already on its way" in response.content.decode()
    dead.refresh_from_db()
    assert dead.status == "dead"


def test_another_orgs_admin_gets_404(other_org_admin_client, other_org, app, deliveries):
    assert other_org_admin_client.get(_list_url(app)).status_code == 404
    assert other_org_admin_client.post(_requeue_url(app, deliveries["dead"])).status_code == 404
    # Through their own org's URL, the app is still not theirs.
    own = [other_org.slug, app.pk]
    assert other_org_admin_client.get(reverse("console:app-backchannel-logouts", args=own)).status_code == 404
    requeue = reverse("console:app-backchannel-logout-requeue", args=[*own, deliveries["dead"].pk])
    assert other_org_admin_client.post(requeue).status_code == 404
    deliveries["dead"].refresh_from_db()
    assert deliveries["dead"].status == "dead"


def test_a_delivery_of_another_app_is_404(org_admin_client, org, app, org_member, receiver):
    other_app = make_app(org, client_id="wiki", logout_uri=receiver.url)
    foreign = _delivery(other_app, org_member, "dead")

    assert org_admin_client.post(_requeue_url(app, foreign)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "dead"
