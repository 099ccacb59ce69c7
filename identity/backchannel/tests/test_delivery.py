"""Back-channel logout received by a real HTTP receiver: the token, retries, the sweeper, and who is told."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from directory.services import user_disable
from directory.tests.factories import MembershipFactory, OrganizationFactory
from identity.backchannel.models import BackchannelLogout
from identity.backchannel.tasks import backchannel_logout_sweep
from identity.backchannel.tests.support import Receiver, make_app, use_app, verify_logout_token
from identity.models import UserSession
from identity.tasks import expired_sessions_purge
from orgs.models import Membership
from orgs.services import membership_suspend, organization_suspend

pytestmark = pytest.mark.django_db


def _jwks(client) -> dict:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


def test_sign_out_posts_a_verifiable_logout_token_to_each_app_used_in_the_session(
    client, sign_in, org, org_member, receiver, django_capture_on_commit_callbacks,
):
    used = make_app(org, client_id="hr", logout_uri=f"{receiver.url}/hr")
    no_uri = make_app(org, client_id="wiki")
    make_app(org, client_id="unused", logout_uri=f"{receiver.url}/unused")
    sign_in(org_member)
    use_app(client, used)
    use_app(client, no_uri)
    session = UserSession.objects.get(user=org_member)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/logout")

    assert response.status_code == 302
    assert [request.path for request in receiver.requests] == ["/backchannel-logout/hr"]
    assert receiver.requests[0].content_type == "application/x-www-form-urlencoded"
    claims = verify_logout_token(receiver.tokens()[0], jwks=_jwks(client), issuer=settings.GATEHOUSE_ISSUER,
                                 client_id="hr")
    assert claims["sub"] == str(org_member.public_id)
    assert claims["sid"] == session.sid
    assert 0 < claims["exp"] - claims["iat"] <= 120
    delivery = BackchannelLogout.objects.get()
    assert (delivery.application_id, delivery.status, delivery.attempts, delivery.reason) == (
        used.pk, "sent", 1, "logout")
    assert delivery.sent_at is not None
    assert delivery.last_error == ""


def test_receiver_down_fails_with_a_next_attempt_and_the_sweeper_delivers_once_it_is_up(
    client, sign_in, org, org_member, later, django_capture_on_commit_callbacks,
):
    receiver = Receiver().start()
    port, url = receiver.port, receiver.url
    receiver.stop()  # the app is down when the user signs out
    app = make_app(org, client_id="hr", logout_uri=url)
    sign_in(org_member)
    use_app(client, app)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/logout")

    delivery = BackchannelLogout.objects.get()
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert delivery.last_error.startswith("ConnectionRefusedError")
    # The first retry is due 15-30 s later (base 30 s, equal jitter).
    assert timezone.now() + timedelta(seconds=14) < delivery.next_attempt_at < timezone.now() + timedelta(seconds=31)

    revived = Receiver(port=port).start()
    try:
        assert backchannel_logout_sweep()["due"] == 0  # not due yet: nothing is sent early
        assert revived.requests == []
        later(timedelta(seconds=31))
        result = backchannel_logout_sweep()
        assert (result["due"], result["dispatched"]) == (1, 1)
        assert len(revived.requests) == 1
        claims = verify_logout_token(revived.tokens()[0], jwks=_jwks(client), issuer=settings.GATEHOUSE_ISSUER,
                                     client_id="hr")
        assert claims["sub"] == str(org_member.public_id)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
        assert backchannel_logout_sweep()["due"] == 0  # sent rows are never sent again
        assert len(revived.requests) == 1
    finally:
        revived.stop()


def test_an_error_status_is_recorded_and_redirects_are_not_followed(
    client, sign_in, org, org_member, receiver, django_capture_on_commit_callbacks,
):
    elsewhere = Receiver().start()
    receiver.status = 302
    receiver.headers = {"Location": elsewhere.url}
    app = make_app(org, client_id="hr", logout_uri=receiver.url)
    sign_in(org_member)
    use_app(client, app)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/logout")
    finally:
        elsewhere.stop()

    delivery = BackchannelLogout.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", "HTTP 302")
    assert len(receiver.requests) == 1
    assert elsewhere.requests == []


def test_after_the_last_attempt_a_delivery_is_dead(
    client, sign_in, org, org_member, receiver, later, django_capture_on_commit_callbacks,
):
    receiver.status = 503
    app = make_app(org, client_id="hr", logout_uri=receiver.url)
    sign_in(org_member)
    use_app(client, app)

    with override_settings(GATEHOUSE_BACKCHANNEL_MAX_ATTEMPTS=2):
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/logout")
        later(timedelta(minutes=5))
        backchannel_logout_sweep()

    delivery = BackchannelLogout.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("dead", 2, "HTTP 503")
    assert len(receiver.requests) == 2
    later(timedelta(days=1))
    assert backchannel_logout_sweep()["due"] == 0  # dead rows wait for a person


def test_a_row_abandoned_while_sending_is_taken_back_by_the_sweeper(
    client, sign_in, org, org_member, receiver, later,
):
    app = make_app(org, client_id="hr", logout_uri=receiver.url)
    sign_in(org_member)
    use_app(client, app)
    client.post("/logout")  # on-commit callbacks not run: no worker picked the row up
    BackchannelLogout.objects.update(status="sending", attempts=1, claimed_at=timezone.now())

    assert backchannel_logout_sweep()["stuck_retried"] == 0  # still within its timeout
    later(timedelta(minutes=2))
    result = backchannel_logout_sweep()

    assert result["stuck_retried"] == 1
    delivery = BackchannelLogout.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert len(receiver.requests) == 1


@pytest.fixture
def two_orgs_in_one_session(client, sign_in, org, org_member, receiver):
    """org_member also belongs to a second org; the session used an app of each, and one without a URI."""
    second = OrganizationFactory(slug="initech", name="Initech")
    MembershipFactory(org=second, user=org_member)
    ours = make_app(org, client_id="ours", logout_uri=f"{receiver.url}/ours")
    quiet = make_app(org, client_id="quiet")
    theirs = make_app(second, client_id="theirs", logout_uri=f"{receiver.url}/theirs")
    sign_in(org_member)
    for app in (ours, quiet, theirs):
        use_app(client, app)
    return second


def test_suspending_a_membership_tells_only_that_orgs_apps(
    org, org_member, org_admin, receiver, two_orgs_in_one_session, django_capture_on_commit_callbacks, client,
):
    membership = Membership.objects.get(org=org, user=org_member)

    with django_capture_on_commit_callbacks(execute=True):
        membership_suspend(membership=membership, actor=org_admin)

    assert [request.path for request in receiver.requests] == ["/backchannel-logout/ours"]
    claims = verify_logout_token(receiver.tokens()[0], jwks=_jwks(client), issuer=settings.GATEHOUSE_ISSUER,
                                 client_id="ours")
    assert claims["sid"] == UserSession.objects.get(user=org_member).sid
    assert BackchannelLogout.objects.get().reason == "membership.suspended"


def test_disabling_a_user_tells_every_app_of_every_session(
    org, org_member, operator, receiver, two_orgs_in_one_session, django_capture_on_commit_callbacks, client,
):
    with django_capture_on_commit_callbacks(execute=True):
        user_disable(user=org_member, actor=operator)

    assert sorted(request.path for request in receiver.requests) == [
        "/backchannel-logout/ours", "/backchannel-logout/theirs"]
    assert set(BackchannelLogout.objects.values_list("status", "reason")) == {("sent", "user.disabled")}
    jwks = _jwks(client)
    for request in receiver.requests:
        client_id = request.path.rsplit("/", 1)[1]
        claims = verify_logout_token(request.form["logout_token"][0], jwks=jwks,
                                     issuer=settings.GATEHOUSE_ISSUER, client_id=client_id)
        assert claims["sub"] == str(org_member.public_id)


def test_suspending_an_organization_tells_its_apps_about_every_live_session(
    org, org_member, operator, receiver, two_orgs_in_one_session, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        organization_suspend(org=two_orgs_in_one_session, actor=operator)

    assert [request.path for request in receiver.requests] == ["/backchannel-logout/theirs"]


def test_an_expired_session_is_told_when_the_sweep_closes_it(
    client, sign_in, org, org_member, receiver, django_capture_on_commit_callbacks,
):
    app = make_app(org, client_id="hr", logout_uri=receiver.url)
    sign_in(org_member)
    use_app(client, app)
    UserSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert expired_sessions_purge()["sessions_closed"] == 1

    assert len(receiver.requests) == 1
    assert BackchannelLogout.objects.get().reason == "expired"


def test_an_already_ended_session_is_not_told_twice(
    client, sign_in, org, org_member, org_admin, receiver, django_capture_on_commit_callbacks,
):
    app = make_app(org, client_id="hr", logout_uri=receiver.url)
    sign_in(org_member)
    use_app(client, app)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/logout")
        membership_suspend(membership=Membership.objects.get(org=org, user=org_member), actor=org_admin)

    assert len(receiver.requests) == 1
    assert BackchannelLogout.objects.count() == 1


def test_a_loopback_uri_is_not_delivered_once_the_deployment_stops_allowing_it(
    client, sign_in, org, org_member, receiver, django_capture_on_commit_callbacks,
):
    app = make_app(org, client_id="hr", logout_uri=receiver.url)
    sign_in(org_member)
    use_app(client, app)

    with override_settings(GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK=False), \
            django_capture_on_commit_callbacks(execute=True):
        client.post("/logout")

    delivery = BackchannelLogout.objects.get()
    assert delivery.status == "dead"
    assert "loopback" in delivery.last_error
    assert receiver.requests == []
