"""Console pages for applications: roles, tenant isolation, guided create, secrets shown once, audits."""

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications.models import Application, AppRole
from applications.role_services import app_role_create
from applications.services import application_allowed_groups_set, application_create
from audit.models import AuditEvent
from config.exceptions import DomainError
from directory.tests.factories import GroupFactory

pytestmark = pytest.mark.django_db


def url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


@pytest.fixture
def web_app(org):
    return application_create(org=org, name="HR portal", kind="web", redirect_uris=["https://hr.example/cb"]).application


@pytest.fixture
def role(web_app):
    return app_role_create(application=web_app, key="app:admin", name="Admins", actor=None)


@pytest.fixture
def foreign_group(other_org):
    return GroupFactory(org=other_org, name="Globex staff", slug="staff")


def last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def page_urls(org, app, role):
    """Every page (GET) and every action (POST) of the applications console, with what it needs."""
    reads = [url("app-list", org), url("app-detail", org, app.pk)]
    manage_pages = [url("app-kind-choice", org), url("app-create", org, "web"), url("app-edit", org, app.pk),
                    url("app-secret-rotate", org, app.pk), url("app-delete", org, app.pk),
                    url("app-role-create", org, app.pk), url("app-role-edit", org, app.pk, role.pk)]
    actions = [url("app-create", org, "web"), url("app-edit", org, app.pk), url("app-disable", org, app.pk),
               url("app-enable", org, app.pk), url("app-secret-rotate", org, app.pk), url("app-delete", org, app.pk),
               url("app-role-create", org, app.pk), url("app-role-edit", org, app.pk, role.pk),
               url("app-role-delete", org, app.pk, role.pk)]
    return reads, manage_pages, actions


# ------------------------------------------------------------------------------------------ who may do what

@pytest.mark.parametrize("who", ["org_owner", "org_admin"])
def test_owner_and_admin_open_every_page(request, sign_in, org, web_app, role, who):
    client = sign_in(request.getfixturevalue(who))
    reads, manage_pages, _ = page_urls(org, web_app, role)
    for page in reads + manage_pages:
        assert client.get(page).status_code == 200, page


def test_auditor_reads_but_every_write_is_403(sign_in, org, org_auditor, web_app, role):
    client = sign_in(org_auditor)
    reads, manage_pages, actions = page_urls(org, web_app, role)
    for page in reads:
        assert client.get(page).status_code == 200, page
    for page in manage_pages:
        assert client.get(page).status_code == 403, page
    for action in actions:
        assert client.post(action, {"name": "x", "key": "app:x", "confirmed": "1"}).status_code == 403, action
    detail = client.get(url("app-detail", org, web_app.pk)).content.decode()
    assert "Rotate client secret" not in detail
    assert "Delete application" not in detail
    assert not AuditEvent.objects.filter(actor=org_auditor).exists()
    assert Application.objects.filter(pk=web_app.pk, status="active").exists()


def test_member_has_no_console(sign_in, org, org_member, web_app, role):
    client = sign_in(org_member)
    reads, manage_pages, actions = page_urls(org, web_app, role)
    for page in reads + manage_pages:
        assert client.get(page).status_code == 403, page
    for action in actions:
        assert client.post(action, {"confirmed": "1"}).status_code == 403, action


def test_another_orgs_admin_gets_404_on_every_page_and_action(other_org_admin_client, org, web_app, role):
    reads, manage_pages, actions = page_urls(org, web_app, role)
    for page in reads + manage_pages:
        assert other_org_admin_client.get(page).status_code == 404, page
    for action in actions:
        assert other_org_admin_client.post(action, {"name": "x", "confirmed": "1"}).status_code == 404, action
    assert AppRole.objects.filter(pk=role.pk).exists()
    assert Application.objects.get(pk=web_app.pk).status == "active"


def test_another_orgs_app_id_is_404_in_own_console(org_admin_client, org, other_org):
    theirs = application_create(org=other_org, name="Theirs", kind="web",
                                redirect_uris=["https://globex.example/cb"]).application
    their_role = app_role_create(application=theirs, key="app:admin", actor=None)
    reads, manage_pages, actions = page_urls(org, theirs, their_role)
    for page in reads[1:] + manage_pages[2:]:
        assert org_admin_client.get(page).status_code == 404, page
    for action in actions[1:]:
        assert org_admin_client.post(action, {"name": "x", "confirmed": "1"}).status_code == 404, action
    assert Application.objects.get(pk=theirs.pk).name == "Theirs"
    assert AppRole.objects.filter(pk=their_role.pk).exists()


def test_junk_ids_kinds_and_other_apps_roles_are_404(org_admin_client, org, web_app, role):
    other = application_create(org=org, name="Other", kind="machine").application
    for page in [f"/console/{org.slug}/applications/abc/", f"/console/{org.slug}/applications/99999999999999999999/",
                 url("app-detail", org, 999999), url("app-create", org, "desktop"),
                 url("app-role-edit", org, other.pk, role.pk),
                 url("app-role-edit", org, web_app.pk, 99999999999999999999)]:
        assert org_admin_client.get(page).status_code == 404, page
    for data in ({}, {"confirmed": "1"}):
        assert org_admin_client.post(url("app-role-delete", org, other.pk, role.pk), data).status_code == 404
    assert AppRole.objects.filter(pk=role.pk).exists()


def test_public_app_has_no_secret_to_rotate(org_admin_client, org):
    spa = application_create(org=org, name="SPA", kind="spa", redirect_uris=["https://spa.example/cb"]).application
    assert org_admin_client.get(url("app-secret-rotate", org, spa.pk)).status_code == 404
    assert org_admin_client.post(url("app-secret-rotate", org, spa.pk)).status_code == 404
    assert not AuditEvent.objects.filter(action="application.secret_rotated").exists()


# ------------------------------------------------------------------------------------------ list

def test_list_shows_apps_of_this_org_with_masked_secret_and_bounded_queries(org_admin_client, org, other_org):
    application_create(org=org, name="Alpha", kind="web", redirect_uris=["https://a.example/cb"])
    application_create(org=other_org, name="Globex app", kind="machine")
    with CaptureQueriesContext(connection) as one:
        page = org_admin_client.get(url("app-list", org))
    body = page.content.decode()
    assert "Alpha" in body
    assert "Globex app" not in body
    assert "••••" in body
    for n in range(5):
        application_create(org=org, name=f"App {n}", kind="machine")
    with CaptureQueriesContext(connection) as six:
        assert org_admin_client.get(url("app-list", org)).status_code == 200
    assert len(six.captured_queries) == len(one.captured_queries)


def test_sidebar_links_to_applications_for_console_roles(org_admin_client, org):
    body = org_admin_client.get(url("org-overview", org)).content.decode()
    assert url("app-list", org) in body


# ------------------------------------------------------------------------------------------ create

WEB = {"name": "Payroll", "redirect_uris": "https://pay.example/cb\nhttp://127.0.0.1:8080/cb",
       "post_logout_redirect_uris": "https://pay.example/bye", "access_token_lifetime": "600"}


def test_create_web_app_shows_secret_once(org_admin_client, org, org_admin, group):
    response = org_admin_client.post(url("app-create", org, "web"), {**WEB, "allowed_groups": [group.pk],
                                                                        "trusted": "on"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    app = Application.objects.get(name="Payroll")
    secret = response.context["client_secret"]
    body = response.content.decode()
    assert secret in body
    assert 'data-copy-target="client-secret"' in body
    assert "console/copy.js" in body
    assert check_password(secret, app.client_secret)
    assert app.org == org
    assert app.kind == "web"
    assert app.skip_authorization
    assert app.access_token_lifetime == 600
    assert list(app.allowed_groups.all()) == [group]
    assert app.redirect_uris.split() == ["https://pay.example/cb", "http://127.0.0.1:8080/cb"]
    event = last_event("application.created")
    assert event.actor == org_admin
    assert event.org == org
    assert event.target_id == str(app.pk)
    assert event.metadata["allowed_groups"] == [group.slug]
    # Never again: not on the detail page, the list, the rotate page or the edit page.
    for page in [url("app-detail", org, app.pk), url("app-list", org), url("app-secret-rotate", org, app.pk),
                 url("app-edit", org, app.pk)]:
        assert secret not in org_admin_client.get(page).content.decode(), page


@pytest.mark.parametrize(("kind", "data"), [
    ("spa", {"redirect_uris": "https://spa.example/cb", "allowed_origins": "https://spa.example"}),
    ("native", {"redirect_uris": "http://127.0.0.1/cb\nhttp://[::1]/cb\ncom.example.app:/callback"}),
])
def test_create_public_app_has_no_secret_and_goes_to_detail(org_admin_client, org, kind, data):
    response = org_admin_client.post(url("app-create", org, kind), {"name": f"{kind} app", **data})
    app = Application.objects.get(name=f"{kind} app")
    assert response.status_code == 302
    assert response["Location"] == url("app-detail", org, app.pk)
    assert app.kind == kind
    assert not app.is_confidential
    assert last_event("application.created").target_id == str(app.pk)


def test_create_machine_app_needs_no_uri_and_gets_a_secret(org_admin_client, org):
    response = org_admin_client.post(url("app-create", org, "machine"), {"name": "Nightly sync"})
    assert response.status_code == 200
    app = Application.objects.get(name="Nightly sync")
    assert check_password(response.context["client_secret"], app.client_secret)
    assert "client_credentials" in response.content.decode()
    assert last_event("application.created").target_id == str(app.pk)


@pytest.mark.parametrize(("kind", "data", "field"), [
    ("web", {"redirect_uris": ""}, "redirect_uris"),
    ("web", {"redirect_uris": "http://pay.example/cb"}, "redirect_uris"),
    ("web", {"redirect_uris": "https://pay.example/cb#frag"}, "redirect_uris"),
    ("web", {"redirect_uris": "https://*.example/cb"}, "redirect_uris"),
    ("web", {"redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
    ("web", {"redirect_uris": "https://pay.example:99999999/cb"}, "redirect_uris"),
    ("web", {"redirect_uris": "com.example.app:/cb"}, "redirect_uris"),
    ("web", {"post_logout_redirect_uris": "http://pay.example/bye"}, "post_logout_redirect_uris"),
    ("spa", {"allowed_origins": ""}, "allowed_origins"),
    ("spa", {"allowed_origins": "https://spa.example/path"}, "allowed_origins"),
    ("spa", {"allowed_origins": "http://spa.example"}, "allowed_origins"),
    ("native", {"redirect_uris": "myapp:/cb"}, "redirect_uris"),
    ("web", {"access_token_lifetime": "59"}, "access_token_lifetime"),
    ("web", {"access_token_lifetime": "86401"}, "access_token_lifetime"),
    ("web", {"access_token_lifetime": "soon"}, "access_token_lifetime"),
    ("web", {"allowed_groups": ["junk"]}, "allowed_groups"),
    ("web", {"name": "   "}, "name"),
])
def test_bad_input_re_renders_with_field_error_and_creates_nothing(org_admin_client, org, kind, data, field):
    base = {"name": "Bad", "redirect_uris": "https://ok.example/cb", "allowed_origins": "https://ok.example"}
    response = org_admin_client.post(url("app-create", org, kind), {**base, **data})
    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not Application.objects.exists()
    assert not AuditEvent.objects.filter(action="application.created").exists()


def test_foreign_group_is_a_form_error(org_admin_client, org, foreign_group):
    response = org_admin_client.post(url("app-create", org, "web"), {**WEB, "allowed_groups": [foreign_group.pk]})
    assert response.status_code == 200
    assert response.context["form"].errors["allowed_groups"]
    assert "Globex staff" not in response.content.decode()
    assert not Application.objects.exists()


def test_service_refuses_plain_http_and_foreign_groups_too(org, foreign_group):
    with pytest.raises(DomainError) as exc:
        application_create(org=org, name="X", kind="web", redirect_uris=["http://x.example/cb"])
    assert exc.value.field == "redirect_uris"
    with pytest.raises(DomainError) as exc:
        application_create(org=org, name="X", kind="web", redirect_uris=["https://x.example/cb"],
                           allowed_groups=[foreign_group])
    assert exc.value.field == "allowed_groups"
    assert not Application.objects.exists()


# ------------------------------------------------------------------------------------------ detail, edit

def test_detail_has_integration_panel(org_admin_client, org, web_app, settings):
    body = org_admin_client.get(url("app-detail", org, web_app.pk)).content.decode()
    assert f"{settings.GATEHOUSE_ISSUER}/.well-known/openid-configuration" in body
    assert web_app.client_id in body
    assert "OIDC_CLIENT_ID=" in body
    assert "server_metadata_url" in body
    assert 'data-copy-target="client-id"' in body


def test_edit_saves_and_audits_before_and_after(org_admin_client, org, org_admin, web_app, group):
    response = org_admin_client.post(url("app-edit", org, web_app.pk), {
        "name": "HR", "redirect_uris": "https://hr.example/cb\nhttps://hr.example/cb2",
        "allowed_groups": [group.pk], "access_token_lifetime": "86400"})
    assert response.status_code == 302
    web_app.refresh_from_db()
    assert web_app.name == "HR"
    assert web_app.access_token_lifetime == 86400
    event = last_event("application.updated")
    assert event.actor == org_admin
    assert event.target_id == str(web_app.pk)
    assert event.metadata["before"]["name"] == "HR portal"
    assert event.metadata["after"]["name"] == "HR"
    assert event.metadata["after"]["allowed_groups"] == [group.slug]
    assert "client_secret" not in event.metadata["after"]


def test_edit_with_bad_uri_changes_nothing(org_admin_client, org, web_app):
    response = org_admin_client.post(url("app-edit", org, web_app.pk),
                                     {"name": "HR", "redirect_uris": "http://hr.example/cb"})
    assert response.status_code == 200
    assert response.context["form"].errors["redirect_uris"]
    web_app.refresh_from_db()
    assert web_app.name == "HR portal"
    assert not AuditEvent.objects.filter(action="application.updated").exists()


def test_allowed_groups_set_refuses_another_orgs_group(org, web_app, group, foreign_group, operator):
    with pytest.raises(DomainError):
        application_allowed_groups_set(application=web_app, groups=[group, foreign_group], actor=operator)
    assert not web_app.allowed_groups.exists()
    application_allowed_groups_set(application=web_app, groups=[group], actor=operator)
    event = last_event("application.updated")
    assert event.metadata == {"client_id": web_app.client_id, "before": {"allowed_groups": []},
                              "after": {"allowed_groups": [group.slug]}}


# ------------------------------------------------------------------------------------------ status, rotate, delete

def test_disable_and_enable_are_audited(org_admin_client, org, org_admin, web_app):
    assert org_admin_client.post(url("app-disable", org, web_app.pk), {"confirmed": "1"}).status_code == 302
    web_app.refresh_from_db()
    assert web_app.status == "disabled"
    assert last_event("application.disabled").actor == org_admin
    assert org_admin_client.post(url("app-enable", org, web_app.pk)).status_code == 302
    web_app.refresh_from_db()
    assert web_app.status == "active"
    assert last_event("application.enabled").actor == org_admin
    # Disabling answers GET with its confirmation only (applications/tests/test_confirmations.py).
    assert org_admin_client.get(url("app-disable", org, web_app.pk)).status_code == 200
    assert org_admin_client.get(url("app-enable", org, web_app.pk)).status_code == 405


def test_rotate_shows_new_secret_once_and_old_stops_working(org_admin_client, org, org_admin):
    created = application_create(org=org, name="Pay", kind="web", redirect_uris=["https://pay.example/cb"])
    app, old = created.application, created.client_secret
    confirm = org_admin_client.get(url("app-secret-rotate", org, app.pk)).content.decode()
    assert "stops working immediately" in confirm
    assert "overlap" in confirm
    response = org_admin_client.post(url("app-secret-rotate", org, app.pk))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = response.context["client_secret"]
    assert new in response.content.decode()
    assert new != old
    app.refresh_from_db()
    assert check_password(new, app.client_secret)
    assert not check_password(old, app.client_secret)
    event = last_event("application.secret_rotated")
    assert event.actor == org_admin
    assert event.target_id == str(app.pk)
    assert event.metadata["overlap_seconds"] == 0
    for page in [url("app-detail", org, app.pk), url("app-secret-rotate", org, app.pk), url("app-list", org)]:
        assert new not in org_admin_client.get(page).content.decode(), page


def test_delete_confirmation_names_impact_then_deletes_with_audit(org_admin_client, org, org_admin, web_app, role):
    page = org_admin_client.get(url("app-delete", org, web_app.pk)).content.decode()
    assert "app:admin" in page
    assert web_app.client_id in page
    assert "live tokens" in page
    response = org_admin_client.post(url("app-delete", org, web_app.pk))
    assert response.status_code == 302
    assert response["Location"] == url("app-list", org)
    assert not Application.objects.filter(pk=web_app.pk).exists()
    assert not AppRole.objects.filter(pk=role.pk).exists()
    event = last_event("application.deleted")
    assert event.actor == org_admin
    assert event.org == org
    assert event.metadata["roles"] == ["app:admin"]


# ------------------------------------------------------------------------------------------ roles

def test_role_create_update_delete_are_audited(org_admin_client, org, org_admin, web_app, group):
    response = org_admin_client.post(url("app-role-create", org, web_app.pk),
                                     {"key": "app:editor", "name": "Editors", "groups": [group.pk]})
    assert response.status_code == 302
    role = AppRole.objects.get(application=web_app, key="app:editor")
    assert list(role.groups.all()) == [group]
    event = last_event("app_role.created")
    assert event.actor == org_admin
    assert event.metadata["groups"] == [group.slug]

    response = org_admin_client.post(url("app-role-edit", org, web_app.pk, role.pk), {"name": "Editing", "groups": []})
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.name == "Editing"
    assert not role.groups.exists()
    event = last_event("app_role.updated")
    assert event.metadata["before"] == {"name": "Editors", "groups": [group.slug]}
    assert event.metadata["after"] == {"name": "Editing", "groups": []}

    assert org_admin_client.post(url("app-role-delete", org, web_app.pk, role.pk),
                                 {"confirmed": "1"}).status_code == 302
    assert not AppRole.objects.filter(pk=role.pk).exists()
    assert last_event("app_role.deleted").metadata["key"] == "app:editor"


@pytest.mark.parametrize(("data", "field"), [
    ({"key": "App Admin"}, "key"),
    ({"key": ""}, "key"),
    ({"key": "app:admin"}, "key"),  # already exists
    ({"key": "app:new", "groups": ["junk"]}, "groups"),
])
def test_bad_role_input_is_a_field_error(org_admin_client, org, web_app, role, data, field):
    response = org_admin_client.post(url("app-role-create", org, web_app.pk), data)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert AppRole.objects.filter(application=web_app).count() == 1
    assert AuditEvent.objects.filter(action="app_role.created").count() == 1  # the fixture's


def test_role_with_another_orgs_group_is_refused(org_admin_client, org, web_app, role, foreign_group):
    response = org_admin_client.post(url("app-role-create", org, web_app.pk),
                                     {"key": "app:x", "groups": [foreign_group.pk]})
    assert response.status_code == 200
    assert response.context["form"].errors["groups"]
    response = org_admin_client.post(url("app-role-edit", org, web_app.pk, role.pk),
                                     {"name": "x", "groups": [foreign_group.pk]})
    assert response.status_code == 200
    assert response.context["form"].errors["groups"]
    with pytest.raises(DomainError):
        app_role_create(application=web_app, key="app:y", groups=[foreign_group], actor=None)
    assert not foreign_group.app_roles.exists()
