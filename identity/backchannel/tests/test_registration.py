"""Registering a back-channel logout URI: console forms, the service, the command; bad URIs change nothing."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from applications.models import Application
from applications.services import application_create, application_update
from audit.models import AuditEvent
from config.exceptions import DomainError

pytestmark = pytest.mark.django_db

GOOD = "https://hr.example/backchannel-logout"
REDIRECT = "https://hr.example/cb"


def _url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


@pytest.fixture
def web_app(org):
    return application_create(org=org, name="HR portal", kind="web", redirect_uris=[REDIRECT]).application


BAD_URIS = [
    ("https://hr.example/" + "a" * 490, "at most 500"),
    ("http://hr.example/logout", "use https"),
    ("https://hr.example/logout#frag", "fragment"),
    ("ftp://hr.example/logout", "must be an https URL"),
    ("https:///logout", "must be an https URL"),
    ("https://user:pw@hr.example/logout", "user name or password"),
    ("https://hr.example:port/logout", "not a valid URI"),
    ("https://hr.example/a b", "spaces"),
]


@pytest.mark.parametrize(("uri", "message"), BAD_URIS)
def test_the_edit_form_refuses_a_bad_uri_with_a_field_error_and_saves_nothing(
    org_admin_client, org, web_app, uri, message,
):
    response = org_admin_client.post(_url("app-edit", org, web_app.pk), {
        "name": "Renamed", "redirect_uris": REDIRECT, "backchannel_logout_uri": uri})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["backchannel_logout_uri"]
    assert message in errors["backchannel_logout_uri"][0]
    web_app.refresh_from_db()
    assert (web_app.name, web_app.backchannel_logout_uri) == ("HR portal", "")
    assert not AuditEvent.objects.filter(action="application.updated").exists()


@pytest.mark.parametrize(("uri", "message"), BAD_URIS)
def test_the_service_refuses_a_bad_uri(org, uri, message):
    with pytest.raises(DomainError) as caught:
        application_create(org=org, name="HR", kind="web", redirect_uris=[REDIRECT], backchannel_logout_uri=uri)

    assert caught.value.field == "backchannel_logout_uri"
    assert message in caught.value.message
    assert not Application.objects.exists()


def test_create_form_registers_the_uri_and_audits_it(org_admin_client, org):
    response = org_admin_client.post(_url("app-create", org, "spa"), {
        "name": "Tracker", "redirect_uris": "https://tracker.example/cb", "allowed_origins": "https://tracker.example",
        "backchannel_logout_uri": f"  {GOOD}  "})

    assert response.status_code == 302
    app = Application.objects.get(name="Tracker")
    assert app.backchannel_logout_uri == GOOD
    event = AuditEvent.objects.get(action="application.created")
    assert event.metadata["backchannel_logout_uri"] == GOOD
    detail = org_admin_client.get(response["Location"]).content.decode()
    assert "Back-channel logout" in detail
    assert f"<code>{GOOD}</code>" in detail


def test_editing_changes_and_removes_the_uri_with_its_audit(org_admin_client, org, web_app):
    edit = _url("app-edit", org, web_app.pk)
    assert 'name="backchannel_logout_uri"' in org_admin_client.get(edit).content.decode()

    org_admin_client.post(edit, {"name": "HR portal", "redirect_uris": REDIRECT, "backchannel_logout_uri": GOOD})
    web_app.refresh_from_db()
    assert web_app.backchannel_logout_uri == GOOD
    event = AuditEvent.objects.filter(action="application.updated").latest("id")
    assert event.metadata["before"] == {"backchannel_logout_uri": ""}
    assert event.metadata["after"] == {"backchannel_logout_uri": GOOD}

    org_admin_client.post(edit, {"name": "HR portal", "redirect_uris": REDIRECT, "backchannel_logout_uri": ""})
    web_app.refresh_from_db()
    assert web_app.backchannel_logout_uri == ""


def test_an_update_that_does_not_name_the_uri_keeps_it(org, web_app):
    application_update(application=web_app, actor=None, name="HR portal", redirect_uris=[REDIRECT],
                       backchannel_logout_uri=GOOD)
    application_update(application=web_app, actor=None, name="HR", redirect_uris=[REDIRECT])

    web_app.refresh_from_db()
    assert (web_app.name, web_app.backchannel_logout_uri) == ("HR", GOOD)


def test_a_machine_app_takes_no_uri(org, org_admin_client):
    with pytest.raises(DomainError, match="machine application signs no one in"):
        application_create(org=org, name="Reports", kind="machine", backchannel_logout_uri=GOOD)
    assert not Application.objects.exists()
    form = org_admin_client.get(_url("app-create", org, "machine")).content.decode()
    assert "backchannel_logout_uri" not in form


@pytest.mark.parametrize("uri", ["http://127.0.0.1:4003/logout", "http://127.9.9.9/logout",
                                 "http://[::1]:4003/logout", "http://localhost:4003/logout"])
def test_loopback_http_is_allowed_while_the_deployment_allows_loopback(org, uri):
    with override_settings(GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK=True):
        app = application_create(org=org, name="Dev", kind="web", redirect_uris=[REDIRECT],
                                 backchannel_logout_uri=uri).application
    assert app.backchannel_logout_uri == uri


@pytest.mark.parametrize("uri", ["http://127.0.0.1:6379/", "https://localhost/logout", "https://[::1]/logout"])
def test_a_production_deployment_refuses_its_own_machine(org, uri):
    with override_settings(GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK=False), pytest.raises(DomainError) as caught:
        application_create(org=org, name="Dev", kind="web", redirect_uris=[REDIRECT], backchannel_logout_uri=uri)

    assert "does not allow" in caught.value.message
    assert not Application.objects.exists()


def test_the_command_registers_the_uri(org):
    out = io.StringIO()
    call_command("create_application", "--org", org.slug, "--name", "HR", "--kind", "web", "--redirect-uri",
                 REDIRECT, "--backchannel-logout-uri", GOOD, "--client-id", "hr", stdout=out)

    assert Application.objects.get(client_id="hr").backchannel_logout_uri == GOOD


def test_the_command_refuses_a_bad_uri_and_writes_nothing(org):
    with pytest.raises(CommandError) as caught:
        call_command("create_application", "--org", org.slug, "--name", "HR", "--kind", "web", "--redirect-uri",
                     REDIRECT, "--backchannel-logout-uri", "http://hr.example/logout", stdout=io.StringIO())

    assert caught.value.returncode == 2
    assert "use https" in str(caught.value)
    assert not Application.objects.exists()
