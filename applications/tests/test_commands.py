"""manage.py create_application: the printed client id and one-time secret, the JSON form, refusals."""

import io
import json

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from applications.models import Application
from audit.models import AuditEvent
from orgs.tests.test_commands import manage_py

CALLBACK = "https://hr.acme.test/auth/callback"


def create_application(*args: str) -> str:
    out = io.StringIO()
    call_command("create_application", *args, stdout=out)
    return out.getvalue()


def printed_value(output: str, label: str) -> str:
    """The value on the `label: value` line of the plain output."""
    lines = [line for line in output.splitlines() if line.startswith(f"{label}:")]
    assert len(lines) == 1, output
    return lines[0].split(":", 1)[1].strip()


@pytest.mark.django_db
def test_web_application_prints_its_client_id_and_a_secret_that_verifies(org):
    output = create_application("--org", "acme", "--name", "HR Portal", "--kind", "web",
                                "--redirect-uri", CALLBACK)

    app = Application.objects.get(name="HR Portal")
    assert app.org == org
    assert printed_value(output, "client_id") == app.client_id
    secret = printed_value(output, "client_secret")
    assert check_password(secret, app.client_secret)
    assert secret not in app.client_secret  # stored as a hash only
    assert "cannot be shown again" in output
    event = AuditEvent.objects.get(action="application.created")
    assert (event.org, event.target_id, event.actor) == (org, str(app.pk), None)


@pytest.mark.django_db
def test_json_output_is_one_object_with_the_secret(org):
    output = create_application("--org", "acme", "--name", "Reports", "--kind", "machine",
                                "--client-id", "acme-reports", "--json")

    payload = json.loads(output)
    app = Application.objects.get(client_id="acme-reports")
    assert set(payload) == {"client_id", "client_secret", "kind", "org", "name"}
    assert (payload["client_id"], payload["kind"], payload["org"], payload["name"]) == (
        "acme-reports", "machine", "acme", "Reports")
    assert check_password(payload["client_secret"], app.client_secret)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["spa", "native"])
def test_public_kinds_print_no_secret(org, kind):
    args = ("--org", "acme", "--name", "Tracker", "--kind", kind, "--redirect-uri", "http://127.0.0.1:4001/cb")

    output = create_application(*args)
    payload = json.loads(create_application(*args, "--json"))

    assert "client_secret" not in output
    assert "No client secret" in output
    assert payload["client_secret"] is None
    assert Application.objects.filter(kind=kind, client_type=Application.CLIENT_PUBLIC).count() == 2


@pytest.mark.django_db
def test_redirect_uri_can_be_repeated(org):
    create_application("--org", "acme", "--name", "HR", "--kind", "web",
                       "--redirect-uri", CALLBACK, "--redirect-uri", "https://hr.acme.test/other")

    assert Application.objects.get().redirect_uris.split() == [CALLBACK, "https://hr.acme.test/other"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nowhere", "--kind", "machine"], "No organization with the slug “nowhere”"),
        (["--org", "acme", "--kind", "desktop"], "Unknown kind “desktop”"),
        (["--org", "acme", "--kind", "web"], "needs at least one redirect URI"),
        (["--org", "acme", "--kind", "spa"], "needs at least one redirect URI"),
        (["--org", "acme", "--kind", "native"], "needs at least one redirect URI"),
        (["--org", "acme", "--kind", "machine", "--redirect-uri", CALLBACK], "takes no redirect URI"),
        (["--org", "acme", "--kind", "web", "--redirect-uri", "javascript:alert(1)"], "redirect URI"),
        (["--org", "acme", "--kind", "machine", "--client-id", "taken"], "client id “taken” already exists"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(org, other_org, args, message):
    call_command("create_application", "--org", "globex", "--name", "Existing", "--kind", "machine",
                 "--client-id", "taken", stdout=io.StringIO())
    before = (Application.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("create_application", "--name", "App", *args, stdout=out)

    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert out.getvalue() == ""
    assert (Application.objects.count(), AuditEvent.objects.count()) == before


def test_an_unknown_org_exits_2_from_the_command_line(tmp_path):
    result = manage_py(tmp_path, "create_application", "--org", "nowhere", "--name", "App", "--kind", "machine",
                       "--json")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "CommandError: No organization with the slug “nowhere”."
