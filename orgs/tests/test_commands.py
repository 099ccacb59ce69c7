"""manage.py create_org, and the helper the command tests share to run manage.py in a subprocess."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from config.tests.migrated_template import embedded_env, migrated_var_dir, run_manage
from orgs.models import Organization


def manage_py(var_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run manage.py on an embedded default of its own in `var_dir`, migrated on first use."""
    if not (var_dir / "gatehouse.sqlite3").exists():
        shutil.copytree(migrated_var_dir(), var_dir, dirs_exist_ok=True)
    return run_manage(*args, env=embedded_env(GATEHOUSE_VAR_DIR=str(var_dir)), stdin=stdin)


@pytest.mark.django_db
def test_create_org_prints_the_slug_and_records_the_audit_event():
    out = io.StringIO()
    call_command("create_org", "Initech", "  Initech Corp ", stdout=out)

    assert out.getvalue() == "initech\n"
    org = Organization.objects.get(slug="initech")
    assert org.name == "Initech Corp"
    event = AuditEvent.objects.get(action="organization.created")
    assert (event.target_id, event.org, event.actor) == (str(org.pk), org, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "name", "message"),
    [
        ("acme", "Another Acme", "already exists"),
        ("bad slug", "Bad", "lowercase letters, digits and hyphens"),
        ("acme-", "Bad", "lowercase letters, digits and hyphens"),
        ("console", "Console", "reserved"),
        ("initech", "   ", "needs a name"),
    ],
)
def test_create_org_refuses_bad_arguments_with_status_2_and_writes_nothing(org, slug, name, message):
    before = (Organization.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("create_org", slug, name, stdout=out)

    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)
    assert out.getvalue() == ""
    assert (Organization.objects.count(), AuditEvent.objects.count()) == before


def test_create_org_exits_2_from_the_command_line_on_a_taken_slug(tmp_path):
    first = manage_py(tmp_path, "create_org", "initech", "Initech")
    again = manage_py(tmp_path, "create_org", "initech", "Initech again")

    assert (first.returncode, first.stdout) == (0, "initech\n")
    assert again.returncode == 2
    assert again.stdout == ""
    assert again.stderr.strip() == "CommandError: An organization with the slug “initech” already exists."
