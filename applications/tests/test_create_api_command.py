"""manage.py create_api: the printed client id and one-time secret, the JSON form, grants, refusals."""

import io
import json

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from applications.api_services import api_create
from applications.models import Api, ApiScope, Application
from applications.services import application_create
from audit.models import AuditEvent
from orgs.tests.test_commands import manage_py

ORDERS = "https://orders.acme.test"


def create_api(*args: str) -> str:
    out = io.StringIO()
    call_command("create_api", *args, stdout=out)
    return out.getvalue()


def printed_value(output: str, label: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(f"{label}:")]
    assert len(lines) == 1, output
    return lines[0].split(":", 1)[1].strip()


@pytest.fixture
def reports(org):
    return application_create(org=org, name="Reports", kind="machine", client_id="acme-reports").application


@pytest.mark.django_db
def test_registers_the_api_and_prints_its_client_id_and_a_secret_that_verifies(org):
    output = create_api("--org", "acme", "--name", "Orders API", "--identifier", ORDERS,
                        "--scope", "orders:read=Read your orders", "--scope", "orders:write = Place orders")

    api = Api.objects.get(identifier=ORDERS)
    assert (api.org, api.name, api.token_format, api.access_token_lifetime) == (org, "Orders API", "jwt", 600)
    assert dict(api.scopes.values_list("name", "description")) == {"orders:read": "Read your orders",
                                                                   "orders:write": "Place orders"}
    assert printed_value(output, "client_id") == api.client_id
    secret = printed_value(output, "client_secret")
    assert check_password(secret, api.client_secret)
    assert secret not in api.client_secret
    assert "cannot be shown again" in output
    event = AuditEvent.objects.get(action="api.created")
    assert (event.org, event.target_id, event.actor) == (org, str(api.pk), None)


@pytest.mark.django_db
def test_json_with_format_lifetime_and_grants(org, reports):
    other = application_create(org=org, name="HR", kind="web", redirect_uris=["https://hr.acme.test/cb"]).application
    output = create_api("--org", "acme", "--name", "Ledger", "--identifier", "https://ledger.acme.test",
                        "--scope", "ledger:read=Read the ledger", "--scope", "ledger:write=Post entries",
                        "--format", "opaque", "--lifetime", "300", "--grant", "acme-reports",
                        "--grant", other.client_id, "--json")

    payload = json.loads(output)
    api = Api.objects.get(identifier="https://ledger.acme.test")
    assert set(payload) == {"id", "client_id", "client_secret", "identifier", "org", "name", "token_format",
                            "access_token_lifetime", "scopes", "granted"}
    assert (payload["id"], payload["client_id"], payload["org"], payload["token_format"],
            payload["access_token_lifetime"]) == (api.pk, api.client_id, "acme", "opaque", 300)
    assert payload["scopes"] == {"ledger:read": "Read the ledger", "ledger:write": "Post entries"}
    assert payload["granted"] == ["acme-reports", other.client_id]
    assert check_password(payload["client_secret"], api.client_secret)
    for app in (reports, other):
        assert sorted(app.api_scopes.values_list("name", flat=True)) == ["ledger:read", "ledger:write"]
    grants = AuditEvent.objects.filter(action="application.api_scopes_changed").order_by("id")
    assert [event.target_id for event in grants] == [str(reports.pk), str(other.pk)]


@pytest.mark.django_db
def test_a_grant_keeps_the_apps_other_api_scopes(org, reports):
    create_api("--org", "acme", "--name", "Orders", "--identifier", ORDERS, "--scope", "orders:read=Read orders",
               "--grant", "acme-reports")
    create_api("--org", "acme", "--name", "Ledger", "--identifier", "https://ledger.acme.test",
               "--scope", "ledger:read=Read the ledger", "--grant", "acme-reports")

    assert sorted(reports.api_scopes.values_list("name", flat=True)) == ["ledger:read", "orders:read"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nowhere"], "No organization with the slug “nowhere”"),
        (["--identifier", "orders.acme.test"], "absolute http(s) URI"),
        (["--identifier", f"{ORDERS}/#frag"], "must not contain a fragment"),
        (["--identifier", "https://acme.test/" + "a" * 250], "at most 255 characters"),
        (["--identifier", "https://stock.globex.test"], "This identifier is not available"),
        (["--scope", "orders:read"], "--scope “orders:read” needs the form NAME=DESCRIPTION"),
        (["--scope", "bad name=Spaces"], "“bad name” is not a scope name"),
        (["--scope", "openid=Sign in"], "“openid” is an OpenID Connect scope"),
        (["--scope", "orders:read=Read"], "The scope “orders:read” is listed twice."),
        (["--scope", "taken:read=Read"], "already defined by the API “Taken”"),
        (["--scope", "empty="], "Describe the scope “empty”"),
        (["--format", "paseto"], "Choose JWT or opaque tokens."),
        (["--lifetime", "59"], "The token lifetime is between 60 seconds and 24 hours."),
        (["--lifetime", "86401"], "The token lifetime is between 60 seconds and 24 hours."),
        (["--lifetime", "ten"], "--lifetime “ten” is not a whole number of seconds."),
        (["--name", "  "], "An API needs a name"),
        (["--grant", "no-such-app"], "No application with the client id “no-such-app” in acme."),
        (["--grant", "globex-app"], "No application with the client id “globex-app” in acme."),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(org, other_org, args, message):
    application_create(org=other_org, name="Globex app", kind="machine", client_id="globex-app")
    api_create(org=other_org, name="Stock", identifier="https://stock.globex.test", scopes=[("stock:read", "Read")])
    api_create(org=org, name="Taken", identifier="https://taken.acme.test", scopes=[("taken:read", "Read")])
    before = (Api.objects.count(), ApiScope.objects.count(), AuditEvent.objects.count(),
              Application.api_scopes.through.objects.count())
    defaults = {"--org": "acme", "--name": "Orders", "--identifier": ORDERS}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [item for flag, value in {**defaults, **given}.items() if flag != "--scope" for item in (flag, value)]
    argv += ["--scope", "orders:read=Read your orders"]
    if "--scope" in given:
        argv += ["--scope", given["--scope"]]
    out = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("create_api", *argv, stdout=out)

    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert out.getvalue() == ""
    assert (Api.objects.count(), ApiScope.objects.count(), AuditEvent.objects.count(),
            Application.api_scopes.through.objects.count()) == before


def test_a_bad_argument_exits_2_from_the_command_line(tmp_path):
    result = manage_py(tmp_path, "create_api", "--org", "nowhere", "--name", "Orders", "--identifier", ORDERS,
                       "--scope", "orders:read=Read", "--json")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "CommandError: No organization with the slug “nowhere”."
