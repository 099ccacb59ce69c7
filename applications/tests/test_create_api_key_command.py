"""`manage.py create_api_key`: the key printed once and working, bad arguments exit 2 and write nothing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from api.tests.conftest import ApiClient
from applications.models import ApiKey
from applications.services import application_create
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue()


def test_prints_a_working_key_once_as_json(org):
    app = application_create(org=org, name="HR sync", kind="machine").application
    printed = json.loads(run("--org", "acme", "--name", "HR job", "--scopes", "members.view", "groups.view",
                             "--app", app.client_id, "--expires", "2099-01-31", "--allow-ip", "127.0.0.1",
                             "10.0.0.0/8", "--json"))
    key = ApiKey.objects.get()
    assert printed["key"].startswith(key.prefix + "_")
    assert printed["prefix"] == key.prefix
    assert printed["scopes"] == ["groups.view", "members.view"]
    assert printed["application"] == app.client_id
    assert printed["expires_at"] == "2099-02-01T00:00:00+00:00"
    assert printed["allowed_ips"] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert key.created_by is None
    assert key.created_by_system
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.actor is None
    assert event.metadata["created_by_system"] is True
    assert printed["key"] not in str(event.metadata)
    response = ApiClient(printed["key"]).get("/api/v1/orgs/acme/users")
    assert response.status_code == 200


def test_text_output_names_the_key_and_says_it_is_shown_once(org):
    text = run("--org", "acme", "--name", "Ops", "--scopes", "org.view")
    assert "key:          ghk_" in text
    assert "cannot be shown again" in text


@pytest.mark.parametrize(("args", "reason"), [
    (["--org", "nope", "--name", "x", "--scopes", "members.view"], "No organization"),
    (["--org", "acme", "--name", "x", "--scopes", "members.fly"], "Unknown scope"),
    (["--org", "acme", "--name", " ", "--scopes", "members.view"], "needs a name"),
    (["--org", "acme", "--name", "x", "--scopes", "members.view", "--app", "nope"], "No application"),
    (["--org", "acme", "--name", "x", "--scopes", "members.view", "--expires", "31/01/2099"], "is not a date"),
    (["--org", "acme", "--name", "x", "--scopes", "members.view", "--expires", "2001-01-01"], "in the past"),
    (["--org", "acme", "--name", "x", "--scopes", "members.view", "--allow-ip", "10.0.0.1/8"], "host bits"),
])
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(org, args, reason):
    with pytest.raises(CommandError) as raised:
        run(*args)
    assert raised.value.returncode == 2
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(action="api_key.created").exists()


def test_another_orgs_application_is_unknown_here(org, other_org):
    foreign = application_create(org=other_org, name="Globex app", kind="machine").application
    with pytest.raises(CommandError, match="No application"):
        run("--org", "acme", "--name", "x", "--scopes", "members.view", "--app", foreign.client_id)
