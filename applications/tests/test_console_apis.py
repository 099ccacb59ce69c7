"""Registered APIs in the console: who may do what, tenant isolation, field errors that change nothing,
the introspection secret shown once, and granting API scopes to applications, each with its audit row."""

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from applications.api_services import api_create, application_api_scopes_set
from applications.models import Api, ApiScope, Application
from applications.services import application_create
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ORDERS = "https://orders.acme.test"


def url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


def make_api(org, *, name="Orders API", identifier=ORDERS, scopes=None, **kwargs):
    scopes = scopes or [("orders:read", "Read your orders"), ("orders:write", "Place and cancel orders")]
    return api_create(org=org, name=name, identifier=identifier, scopes=scopes, **kwargs).api


@pytest.fixture
def api(org):
    return make_api(org)


@pytest.fixture
def machine_app(org):
    return application_create(org=org, name="Billing job", kind="machine").application


@pytest.fixture
def foreign_api(other_org):
    return make_api(other_org, name="Globex stock", identifier="https://stock.globex.test",
                    scopes=[("stock:read", "Read the stock")])


def last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def state():
    """Everything a refused request must leave as it was."""
    return (list(Api.objects.order_by("pk").values_list("name", "identifier", "token_format", "access_token_lifetime",
                                                          "client_secret", "description")),
            list(ApiScope.objects.order_by("pk").values_list("api_id", "name", "description")),
            list(Application.api_scopes.through.objects.order_by("pk").values_list("application_id", "apiscope_id")),
            AuditEvent.objects.count())


def form_data(**changes):
    data = {"name": "Invoices API", "identifier": "https://invoices.acme.test", "description": "Billing",
            "scopes": "invoices:read — Read your invoices\ninvoices:pay - Pay invoices",
            "token_format": "jwt", "access_token_lifetime": "600"}
    data.update(changes)
    return data


def page_urls(org, api, app):
    reads = [url("api-list", org), url("api-detail", org, api.pk), url("app-detail", org, app.pk)]
    manage_pages = [url("api-create", org), url("api-edit", org, api.pk), url("api-delete", org, api.pk),
                    url("api-secret-rotate", org, api.pk), url("app-api-access", org, app.pk)]
    actions = [url("api-create", org), url("api-edit", org, api.pk), url("api-delete", org, api.pk),
               url("api-secret-rotate", org, api.pk), url("app-api-access", org, app.pk)]
    return reads, manage_pages, actions


# ------------------------------------------------------------------------------------------ who may do what

@pytest.mark.parametrize("who", ["org_owner", "org_admin", "operator"])
def test_owner_admin_and_operator_open_every_page(request, sign_in, org, api, machine_app, who):
    client = sign_in(request.getfixturevalue(who))
    reads, manage_pages, _ = page_urls(org, api, machine_app)
    for page in reads + manage_pages:
        assert client.get(page).status_code == 200, page
    listing = client.get(url("api-list", org)).content.decode()
    assert "Register API" in listing
    assert f'href="{url("api-list", org)}" aria-current="page">APIs' in listing


def test_auditor_reads_but_every_write_is_403(sign_in, org, org_auditor, api, machine_app):
    client = sign_in(org_auditor)
    reads, manage_pages, actions = page_urls(org, api, machine_app)
    before = state()
    for page in reads:
        assert client.get(page).status_code == 200, page
    for page in manage_pages:
        assert client.get(page).status_code == 403, page
    scope = api.scopes.first()
    for action in actions:
        assert client.post(action, {**form_data(), "api_scopes": [scope.pk]}).status_code == 403, action
    detail = client.get(url("api-detail", org, api.pk)).content.decode()
    assert "orders:read" in detail
    assert api.client_id in detail
    assert "Rotate introspection secret" not in detail
    assert "Delete API" not in detail
    assert "Register API" not in client.get(url("api-list", org)).content.decode()
    assert "Change API access" not in client.get(url("app-detail", org, machine_app.pk)).content.decode()
    assert state() == before


def test_member_has_no_api_pages(sign_in, org, org_member, api, machine_app):
    client = sign_in(org_member)
    reads, manage_pages, actions = page_urls(org, api, machine_app)
    for page in reads + manage_pages:
        assert client.get(page).status_code == 403, page
    for action in actions:
        assert client.post(action).status_code == 403, action


def test_another_orgs_admin_gets_404_on_every_page_and_action(other_org_admin_client, org, api, machine_app):
    reads, manage_pages, actions = page_urls(org, api, machine_app)
    before = state()
    for page in reads + manage_pages:
        assert other_org_admin_client.get(page).status_code == 404, page
    for action in actions:
        response = other_org_admin_client.post(action, {**form_data(), "api_scopes": [api.scopes.first().pk]})
        assert response.status_code == 404, action
    assert state() == before


def test_another_orgs_api_by_id_is_404_in_own_console(org_admin_client, org, foreign_api, machine_app):
    before = state()
    for name in ("api-detail", "api-edit", "api-delete", "api-secret-rotate"):
        assert org_admin_client.get(url(name, org, foreign_api.pk)).status_code == 404, name
    for name in ("api-edit", "api-delete", "api-secret-rotate"):
        assert org_admin_client.post(url(name, org, foreign_api.pk), form_data()).status_code == 404, name
    for junk in (f"/console/{org.slug}/apis/abc/", f"/console/{org.slug}/apis/99999999999999999999/"):
        assert org_admin_client.get(junk).status_code == 404
    assert state() == before


def test_sidebar_has_apis_next_to_applications(sign_in, org, org_auditor):
    body = sign_in(org_auditor).get(url("org-overview", org)).content.decode()
    apps, apis = body.index(url("app-list", org)), body.index(url("api-list", org))
    assert apps < apis < body.index(url("apikey-list", org))


# ------------------------------------------------------------------------------------------ list and detail

def test_empty_list_says_what_to_do(org_admin_client, org, foreign_api):
    body = org_admin_client.get(url("api-list", org)).content.decode()
    assert "No APIs registered yet." in body
    assert "identifier URI" in body
    assert "Globex stock" not in body


def test_list_shows_this_orgs_apis_with_format_lifetime_and_scope_count(org_admin_client, org, api, foreign_api):
    make_api(org, name="Ledger", identifier="https://ledger.acme.test", scopes=[("ledger:read", "Read the ledger")],
             token_format="opaque", access_token_lifetime=90)
    body = org_admin_client.get(url("api-list", org)).content.decode()
    assert "Orders API" in body
    assert ORDERS in body
    assert "10 min" in body
    assert "Ledger" in body
    assert "Opaque" in body
    assert "90 s" in body
    assert '<td data-label="Scopes">2</td>' in body
    assert '<td data-label="Scopes">1</td>' in body
    assert "Globex stock" not in body


def test_detail_shows_identifier_client_id_scopes_grants_and_how_to_verify(org_admin_client, org, api, machine_app,
                                                                           settings):
    application_api_scopes_set(application=machine_app, scopes=api.scopes.filter(name="orders:read"))
    body = org_admin_client.get(url("api-detail", org, api.pk)).content.decode()
    assert 'data-copy-target="api-identifier"' in body
    assert "console/copy.js" in body
    assert api.client_id in body
    assert "Read your orders" in body
    assert "Place and cancel orders" in body
    assert "Billing job" in body
    issuer = settings.GATEHOUSE_ISSUER
    assert f"{issuer}/.well-known/openid-configuration" in body
    assert f"{issuer}/.well-known/jwks.json" in body
    assert "docs/apis.md" in body
    assert api.client_secret not in body


def test_opaque_api_points_at_introspection(org_admin_client, org, settings):
    ledger = make_api(org, name="Ledger", identifier="https://ledger.acme.test", token_format="opaque",
                      scopes=[("ledger:read", "Read the ledger")])
    body = org_admin_client.get(url("api-detail", org, ledger.pk)).content.decode()
    assert f"{settings.GATEHOUSE_ISSUER}/oauth/introspect" in body
    assert "jwks.json" not in body


# ------------------------------------------------------------------------------------------ create

def test_create_registers_the_api_shows_its_secret_once_and_audits(org_admin_client, org, org_admin):
    form = org_admin_client.get(url("api-create", org))
    response = org_admin_client.post(url("api-create", org),
                                     form_data(submit_once=form.context["submit_once"]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    api = Api.objects.get(identifier="https://invoices.acme.test")
    assert (api.org, api.name, api.token_format, api.access_token_lifetime, api.description) == (
        org, "Invoices API", "jwt", 600, "Billing")
    assert dict(api.scopes.values_list("name", "description")) == {"invoices:read": "Read your invoices",
                                                                   "invoices:pay": "Pay invoices"}
    secret = response.context["client_secret"]
    body = response.content.decode()
    assert secret in body
    assert api.client_id in body
    assert 'data-copy-target="api-client-secret"' in body
    assert "shown only this once" in body
    assert check_password(secret, api.client_secret)
    event = last_event("api.created")
    assert (event.org, event.actor, event.target_id) == (org, org_admin, str(api.pk))
    assert event.metadata["identifier"] == "https://invoices.acme.test"

    resent = org_admin_client.post(url("api-create", org), form_data(submit_once=form.context["submit_once"]))
    assert resent.status_code == 302
    assert Api.objects.count() == 1
    assert secret not in org_admin_client.get(url("api-detail", org, api.pk)).content.decode()


def test_create_form_defaults_to_jwt_and_ten_minutes(org_admin_client, org):
    form = org_admin_client.get(url("api-create", org))
    body = form.content.decode()
    assert 'value="600"' in body
    assert form.context["form"]["token_format"].value() == "jwt"
    assert '<label for="id_scopes">Scopes</label>' in body
    assert '<label for="id_access_token_lifetime">Access-token lifetime, in seconds</label>' in body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"identifier": "orders.acme.test"}, "identifier", "absolute http(s) URI"),
        ({"identifier": "/orders"}, "identifier", "absolute http(s) URI"),
        ({"identifier": "https://orders.acme.test/#v1"}, "identifier", "must not contain a fragment"),
        ({"identifier": "https://acme.test/" + "a" * 250}, "identifier", "at most 255 characters"),
        ({"identifier": "https://orders acme.test"}, "identifier", "without spaces"),
        ({"identifier": ORDERS}, "identifier", "This identifier is not available"),
        ({"identifier": "https://stock.globex.test"}, "identifier", "This identifier is not available"),
        ({"identifier": ""}, "identifier", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"scopes": ""}, "scopes", "This field is required."),
        ({"scopes": "orders read — spaces"}, "scopes", "Line 1 (“orders read — spaces”): write the scope's name"),
        ({"scopes": "a:b — ok\n\nno dash here"}, "scopes", "Line 3 (“no dash here”)"),
        ({"scopes": "bad*name — Stars"}, "scopes", "“bad*name” is not a scope name"),
        ({"scopes": ":read — Starts with a colon"}, "scopes", "“:read” is not a scope name"),
        ({"scopes": "invoices:read"}, "scopes", "Describe the scope “invoices:read”"),
        ({"scopes": "openid — Sign in"}, "scopes", "“openid” is an OpenID Connect scope"),
        ({"scopes": "email — Your email"}, "scopes", "“email” is an OpenID Connect scope"),
        ({"scopes": "a:read — One\na:read — Again"}, "scopes", "The scope “a:read” is listed twice."),
        ({"scopes": "orders:read — Mine too"}, "scopes", "already defined by the API “Orders API”"),
        ({"access_token_lifetime": "59"}, "access_token_lifetime", "At least 60 seconds"),
        ({"access_token_lifetime": "86401"}, "access_token_lifetime", "At most 86400 seconds"),
        ({"access_token_lifetime": "ten"}, "access_token_lifetime", "Enter a whole number of seconds"),
        ({"token_format": "paseto"}, "token_format", "Select a valid choice"),
    ],
)
def test_bad_input_gets_a_field_error_and_changes_nothing(org_admin_client, org, api, foreign_api, changes, field,
                                                          message):
    before = state()
    response = org_admin_client.post(url("api-create", org), form_data(**changes))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in error for error in errors[field]), errors
    assert message in response.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert state() == before


def test_scope_name_of_another_org_is_free_here(org_admin_client, org, foreign_api):
    response = org_admin_client.post(url("api-create", org), form_data(scopes="stock:read — Read our stock"))
    assert response.status_code == 200
    assert response.context.get("client_secret")
    assert ApiScope.objects.filter(org=org, name="stock:read").exists()


# ------------------------------------------------------------------------------------------ edit

def test_edit_changes_settings_and_scopes_and_audits_before_and_after(org_admin_client, org, org_admin, api,
                                                                      machine_app):
    application_api_scopes_set(application=machine_app, scopes=api.scopes.all())
    form = org_admin_client.get(url("api-edit", org, api.pk))
    assert "orders:read — Read your orders" in form.content.decode()
    assert 'name="identifier"' not in form.content.decode()

    response = org_admin_client.post(url("api-edit", org, api.pk), {
        "name": "Orders", "description": "", "token_format": "opaque", "access_token_lifetime": "300",
        "scopes": "orders:read — Read all your orders\norders:export — Export orders", "identifier": "https://x.test"})

    assert response.status_code == 302
    api.refresh_from_db()
    assert (api.name, api.token_format, api.access_token_lifetime, api.identifier) == ("Orders", "opaque", 300, ORDERS)
    assert dict(api.scopes.values_list("name", "description")) == {"orders:read": "Read all your orders",
                                                                   "orders:export": "Export orders"}
    assert sorted(machine_app.api_scopes.values_list("name", flat=True)) == ["orders:read"]
    event = last_event("api.updated")
    assert (event.org, event.actor, event.target_id) == (org, org_admin, str(api.pk))
    assert event.metadata["token_format"] == {"before": "jwt", "after": "opaque"}
    assert event.metadata["access_token_lifetime"] == {"before": 600, "after": 300}


def test_edit_with_a_bad_scope_changes_nothing(org_admin_client, org, api):
    make_api(org, name="Ledger", identifier="https://ledger.acme.test", scopes=[("ledger:read", "Read the ledger")])
    before = state()
    response = org_admin_client.post(url("api-edit", org, api.pk), {
        "name": "Orders", "token_format": "jwt", "access_token_lifetime": "600",
        "scopes": "orders:read — Read\nledger:read — Mine now"})
    assert response.status_code == 200
    assert "already defined by the API “Ledger”" in response.context["form"].errors["scopes"][0]
    assert state() == before


# ------------------------------------------------------------------------------------------ delete

def test_delete_names_the_consequences_then_deletes_and_audits(org_admin_client, org, org_admin, api, machine_app):
    application_api_scopes_set(application=machine_app, scopes=api.scopes.all())
    page = org_admin_client.get(url("api-delete", org, api.pk)).content.decode()
    assert "Billing job" in page
    assert "These applications lose its scopes" in page
    assert "stay valid at the API until they expire" in page

    response = org_admin_client.post(url("api-delete", org, api.pk))

    assert response.status_code == 302
    assert response["Location"] == url("api-list", org)
    assert not Api.objects.filter(pk=api.pk).exists()
    assert not machine_app.api_scopes.exists()
    event = last_event("api.deleted")
    assert (event.org, event.actor, event.target_id) == (org, org_admin, str(api.pk))
    assert "Deleted the API Orders API" in org_admin_client.get(response["Location"]).content.decode()


# ------------------------------------------------------------------------------------------ rotate

def test_rotate_confirms_then_shows_the_new_secret_once(org_admin_client, org, org_admin, api):
    old_hash = api.client_secret
    page = org_admin_client.get(url("api-secret-rotate", org, api.pk))
    assert "stops working immediately" in page.content.decode()

    response = org_admin_client.post(url("api-secret-rotate", org, api.pk),
                                     {"submit_once": page.context["submit_once"]})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    api.refresh_from_db()
    secret = response.context["client_secret"]
    assert secret in response.content.decode()
    assert check_password(secret, api.client_secret)
    assert api.client_secret != old_hash
    event = last_event("api.secret_rotated")
    assert (event.org, event.actor, event.metadata) == (org, org_admin, {"client_id": api.client_id})

    resent = org_admin_client.post(url("api-secret-rotate", org, api.pk), {"submit_once": page.context["submit_once"]})
    assert resent.status_code == 302
    assert AuditEvent.objects.filter(action="api.secret_rotated").count() == 1


# ------------------------------------------------------------------------------------------ API access of an app

def test_app_detail_lists_granted_api_scopes(org_admin_client, org, api, machine_app):
    empty = org_admin_client.get(url("app-detail", org, machine_app.pk)).content.decode()
    assert "No API scopes granted" in empty
    application_api_scopes_set(application=machine_app, scopes=api.scopes.filter(name="orders:read"))
    body = org_admin_client.get(url("app-detail", org, machine_app.pk)).content.decode()
    assert "API access" in body
    assert "Orders API" in body
    assert "Read your orders" in body
    assert "orders:write" not in body
    assert url("app-api-access", org, machine_app.pk) in body


def test_grant_and_withdraw_scopes_with_audit(org_admin_client, org, org_admin, api, machine_app, foreign_api):
    read, write = api.scopes.get(name="orders:read"), api.scopes.get(name="orders:write")
    page = org_admin_client.get(url("app-api-access", org, machine_app.pk)).content.decode()
    assert "Orders API" in page
    assert "Place and cancel orders" in page
    assert "stock:read" not in page
    assert f'<label for="id_api_scopes_0"><input type="checkbox" name="api_scopes" value="{read.pk}"' in page

    response = org_admin_client.post(url("app-api-access", org, machine_app.pk), {"api_scopes": [read.pk, write.pk]})

    assert response.status_code == 302
    assert set(machine_app.api_scopes.all()) == {read, write}
    event = last_event("application.api_scopes_changed")
    assert (event.org, event.actor, event.target_id) == (org, org_admin, str(machine_app.pk))
    assert event.metadata["api_scopes"] == {"before": [], "after": ["orders:read", "orders:write"]}

    org_admin_client.post(url("app-api-access", org, machine_app.pk), {"api_scopes": [write.pk]})
    assert list(machine_app.api_scopes.all()) == [write]
    assert last_event("application.api_scopes_changed").metadata["api_scopes"] == {
        "before": ["orders:read", "orders:write"], "after": ["orders:write"]}


def test_another_orgs_scope_cannot_be_granted(org_admin_client, org, api, machine_app, foreign_api):
    before = state()
    foreign_scope = foreign_api.scopes.get()
    for value in ([foreign_scope.pk], [api.scopes.first().pk, foreign_scope.pk], ["junk"], [99999999999999999999]):
        response = org_admin_client.post(url("app-api-access", org, machine_app.pk), {"api_scopes": value})
        assert response.status_code == 200, value
        assert "Choose scopes of this organization's APIs only." in response.content.decode().replace("&#x27;", "'")
    assert state() == before


def test_granting_on_another_orgs_app_is_404(org_admin_client, org, other_org, api):
    theirs = application_create(org=other_org, name="Theirs", kind="machine").application
    assert org_admin_client.get(url("app-api-access", org, theirs.pk)).status_code == 404
    assert org_admin_client.post(url("app-api-access", org, theirs.pk),
                                 {"api_scopes": [api.scopes.first().pk]}).status_code == 404
    assert not theirs.api_scopes.exists()


def test_api_access_page_without_apis_says_what_to_do(org_admin_client, org, machine_app, foreign_api):
    body = org_admin_client.get(url("app-api-access", org, machine_app.pk)).content.decode()
    assert "Acme Corp has no APIs yet." in body
    assert url("api-create", org) in body
    assert "stock:read" not in body
