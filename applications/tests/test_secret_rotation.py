"""Client secret rotation with an overlap: the old secret works at the token endpoint until the overlap
ends and never after; the console offers the overlap, shows it running, and can end it early."""

import base64
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.models import Application
from applications.services import application_create, client_secret_overlap_end, client_secret_rotate
from audit.models import AuditEvent
from config.exceptions import DomainError
from identity.tests.oidc_support import make_machine_app, make_web_app

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def cc_token(client, client_id: str, secret: str, *, in_body: bool = False):
    """A real client-credentials request to /oauth/token (Basic auth, or the secret in the body)."""
    if in_body:
        return client.post("/oauth/token", {"grant_type": "client_credentials", "client_id": client_id,
                                            "client_secret": secret})
    return client.post("/oauth/token", {"grant_type": "client_credentials"},
                       HTTP_AUTHORIZATION=basic(client_id, secret))


def url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


@pytest.fixture
def machine(org):
    made = make_machine_app(org)
    return Application.objects.get(client_id=made.client_id), made.client_secret


def last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


# ------------------------------------------------------------------------------------------ token endpoint

@pytest.mark.parametrize("in_body", [False, True])
def test_old_secret_works_during_the_overlap_and_the_new_one_too(client, machine, org_admin, in_body):
    app, old = machine
    new = client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    assert new != old
    for secret in (old, new):
        response = cc_token(client, app.client_id, secret, in_body=in_body)
        assert response.status_code == 200, response.content
        assert response.json()["token_type"] == "Bearer"
    assert cc_token(client, app.client_id, "not-the-secret", in_body=in_body).json()["error"] == "invalid_client"


@pytest.mark.parametrize("in_body", [False, True])
def test_old_secret_fails_once_the_overlap_has_ended(client, machine, org_admin, in_body):
    app, old = machine
    new = client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    # The clock moved past the overlap's end: the row still holds the old hash, but it no longer counts.
    Application.objects.filter(pk=app.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    response = cc_token(client, app.client_id, old, in_body=in_body)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert cc_token(client, app.client_id, new, in_body=in_body).status_code == 200


def test_old_secret_fails_at_once_with_no_overlap(client, machine, org_admin):
    app, old = machine
    new = client_secret_rotate(application=app, actor=org_admin)
    app.refresh_from_db()
    assert app.previous_client_secret == ""
    assert app.previous_secret_expires_at is None
    assert cc_token(client, app.client_id, old).json()["error"] == "invalid_client"
    assert cc_token(client, app.client_id, new).status_code == 200


def test_previous_secret_of_one_app_does_not_authenticate_another(client, org, org_admin, machine):
    app, old = machine
    client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    other = make_machine_app(org, client_id="other-machine")
    assert cc_token(client, other.client_id, old).json()["error"] == "invalid_client"


def test_second_rotation_during_an_overlap_replaces_it(client, machine, org_admin):
    app, first = machine
    second = client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    third = client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(minutes=30))
    assert cc_token(client, app.client_id, first).json()["error"] == "invalid_client"
    assert cc_token(client, app.client_id, second).status_code == 200
    assert cc_token(client, app.client_id, third).status_code == 200
    event = last_event("application.secret_rotated")
    assert event.metadata["replaced_running_overlap"] is True
    assert event.metadata["overlap_seconds"] == 1800


def test_web_app_old_secret_authenticates_at_introspection_during_the_overlap(client, org, org_admin):
    made = make_web_app(org)
    app = Application.objects.get(client_id=made.client_id)
    client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=24))
    response = client.post("/oauth/introspect", {"token": "unknown"},
                           HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))
    assert response.status_code == 200
    assert response.json() == {"active": False}
    # A refresh with a bad token: the old secret authenticates, so the error is about the grant.
    response = client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": "nope"},
                           HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))
    assert response.json()["error"] == "invalid_grant"


# ------------------------------------------------------------------------------------------ services

def test_rotation_with_overlap_is_audited_with_its_expiry(machine, org_admin):
    app, _ = machine
    before = timezone.now()
    client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=24))
    app.refresh_from_db()
    assert app.previous_client_secret.startswith("gatehouse_secret_sha256$")
    assert before + timedelta(hours=24) <= app.previous_secret_expires_at <= timezone.now() + timedelta(hours=24)
    event = last_event("application.secret_rotated")
    assert event.actor == org_admin
    assert event.target_id == str(app.pk)
    assert event.metadata["overlap_seconds"] == 86400
    assert event.metadata["previous_secret_expires_at"] == app.previous_secret_expires_at.isoformat()
    assert event.metadata["replaced_running_overlap"] is False


@pytest.mark.parametrize("overlap", [timedelta(hours=24, seconds=1), timedelta(seconds=-1)])
def test_overlap_out_of_bounds_is_refused_and_changes_nothing(machine, org_admin, overlap):
    app, _ = machine
    stored = Application.objects.get(pk=app.pk).client_secret
    with pytest.raises(DomainError):
        client_secret_rotate(application=app, actor=org_admin, overlap=overlap)
    assert Application.objects.get(pk=app.pk).client_secret == stored
    assert not AuditEvent.objects.filter(action="application.secret_rotated").exists()


def test_public_app_has_nothing_to_rotate(org, org_admin):
    spa = application_create(org=org, name="SPA", kind="spa", redirect_uris=["https://spa.example/cb"]).application
    with pytest.raises(DomainError):
        client_secret_rotate(application=spa, actor=org_admin, overlap=timedelta(hours=1))
    spa.refresh_from_db()
    assert spa.previous_client_secret == ""
    assert not AuditEvent.objects.filter(action="application.secret_rotated").exists()


def test_ending_the_overlap_stops_the_old_secret_and_is_audited(client, machine, org_admin):
    app, old = machine
    client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    expires = Application.objects.get(pk=app.pk).previous_secret_expires_at
    client_secret_overlap_end(application=app, actor=org_admin)
    assert cc_token(client, app.client_id, old).json()["error"] == "invalid_client"
    event = last_event("application.secret_overlap_ended")
    assert event.actor == org_admin
    assert event.metadata["before"] == {"previous_secret_expires_at": expires.isoformat()}
    assert event.metadata["after"] == {"previous_secret_expires_at": None}
    # Nothing running: ending again writes nothing.
    client_secret_overlap_end(application=app, actor=org_admin)
    assert AuditEvent.objects.filter(action="application.secret_overlap_ended").count() == 1


# ------------------------------------------------------------------------------------------ console

@pytest.mark.parametrize(("choice", "minutes", "seconds"),
                         [("none", "", 0), ("1h", "", 3600), ("24h", "", 86400), ("custom", "90", 5400)])
def test_rotate_page_offers_the_overlap(org_admin_client, org, machine, choice, minutes, seconds):
    app, old = machine
    page = org_admin_client.get(url("app-secret-rotate", org, app.pk)).content.decode()
    for label in ("No time: it stops working now", "1 hour", "24 hours", "A number of minutes"):
        assert label in page
    response = org_admin_client.post(url("app-secret-rotate", org, app.pk),
                                      {"overlap": choice, "overlap_minutes": minutes})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Copy it now" in body
    assert last_event("application.secret_rotated").metadata["overlap_seconds"] == seconds
    if seconds:
        assert "The old secret keeps working until" in body
    else:
        assert "The old secret stopped working now." in body


@pytest.mark.parametrize("minutes", ["", "0", "1441", "abc"])
def test_custom_overlap_needs_minutes_within_a_day(org_admin_client, org, machine, minutes):
    app, _ = machine
    response = org_admin_client.post(url("app-secret-rotate", org, app.pk),
                                     {"overlap": "custom", "overlap_minutes": minutes})
    assert response.status_code == 200
    assert "Copy it now" not in response.content.decode()
    assert "field-error" in response.content.decode()
    assert not AuditEvent.objects.filter(action="application.secret_rotated").exists()


def test_detail_shows_a_running_overlap_and_ends_it(org_admin_client, org, machine, org_admin):
    app, _ = machine
    detail = url("app-detail", org, app.pk)
    assert "Previous secret valid until" not in org_admin_client.get(detail).content.decode()
    client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    page = org_admin_client.get(detail).content.decode()
    assert "Previous secret valid until" in page
    assert url("app-secret-overlap-end", org, app.pk) in page
    rotate_page = org_admin_client.get(url("app-secret-rotate", org, app.pk)).content.decode()
    assert "Rotating again replaces it" in rotate_page
    response = org_admin_client.post(url("app-secret-overlap-end", org, app.pk), {"confirmed": "1"})
    assert response.status_code == 302
    assert "Previous secret valid until" not in org_admin_client.get(detail).content.decode()
    assert last_event("application.secret_overlap_ended").actor == org_admin


def test_expired_overlap_is_not_shown(org_admin_client, org, machine, org_admin):
    app, _ = machine
    client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    Application.objects.filter(pk=app.pk).update(previous_secret_expires_at=timezone.now() - timedelta(minutes=1))
    assert "Previous secret valid until" not in org_admin_client.get(url("app-detail", org, app.pk)).content.decode()


def test_ending_the_overlap_is_post_only_and_for_managers(client, sign_in, org, machine, org_auditor,
                                                          other_org_admin, org_admin):
    app, _ = machine
    client_secret_rotate(application=app, actor=org_admin, overlap=timedelta(hours=1))
    end = url("app-secret-overlap-end", org, app.pk)
    admin = sign_in(org_admin)
    assert "Stop the previous client secret" in admin.get(end).content.decode()  # a GET only asks
    assert sign_in(org_auditor).post(end, {"confirmed": "1"}).status_code == 403
    assert sign_in(other_org_admin).post(end, {"confirmed": "1"}).status_code == 404
    assert Application.objects.get(pk=app.pk).previous_client_secret
    assert not AuditEvent.objects.filter(action="application.secret_overlap_ended").exists()


# ------------------------------------------------------------------------------------------ resent forms

def _submit_once_token(page: str) -> str:
    match = re.search(r'name="submit_once" value="([^"]+)"', page)
    assert match, "the form carries a one-time token"
    return match.group(1)


def test_resending_the_rotate_form_does_not_rotate_again(org_admin_client, org, machine):
    app, _ = machine
    token = _submit_once_token(org_admin_client.get(url("app-secret-rotate", org, app.pk)).content.decode())
    data = {"overlap": "1h", "submit_once": token}
    first = org_admin_client.post(url("app-secret-rotate", org, app.pk), data)
    assert "Copy it now" in first.content.decode()
    stored = Application.objects.get(pk=app.pk).client_secret
    again = org_admin_client.post(url("app-secret-rotate", org, app.pk), data, follow=True)
    assert again.redirect_chain[-1][0] == url("app-detail", org, app.pk)
    assert "That rotation was already done" in again.content.decode()
    assert Application.objects.get(pk=app.pk).client_secret == stored
    assert AuditEvent.objects.filter(action="application.secret_rotated").count() == 1


def test_resending_the_create_form_does_not_create_a_second_app(org_admin_client, org):
    token = _submit_once_token(org_admin_client.get(url("app-create", org, "web")).content.decode())
    data = {"name": "HR portal", "redirect_uris": "https://hr.example/cb", "submit_once": token}
    first = org_admin_client.post(url("app-create", org, "web"), data)
    assert "Copy it now" in first.content.decode()
    again = org_admin_client.post(url("app-create", org, "web"), data, follow=True)
    assert again.redirect_chain[-1][0] == url("app-list", org)
    assert "already sent and the application created" in again.content.decode()
    assert Application.objects.filter(name="HR portal").count() == 1


def test_an_invalid_create_can_be_corrected_and_sent(org_admin_client, org):
    token = _submit_once_token(org_admin_client.get(url("app-create", org, "web")).content.decode())
    bad = org_admin_client.post(url("app-create", org, "web"),
                                {"name": "HR", "redirect_uris": "http://hr.example/cb", "submit_once": token})
    assert "use https" in bad.content.decode()
    fresh = _submit_once_token(bad.content.decode())
    good = org_admin_client.post(url("app-create", org, "web"),
                                 {"name": "HR", "redirect_uris": "https://hr.example/cb", "submit_once": fresh})
    assert "Copy it now" in good.content.decode()
