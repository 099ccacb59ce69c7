"""manage.py create_user: the account it makes, the membership, the audit rows, and its refusals."""

import io

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from directory.models import User
from orgs.models import Membership
from orgs.tests.test_commands import manage_py

STRONG_PASSWORD = "a-long-enough-passphrase"


def create_user(*args: str, **options) -> str:
    out = io.StringIO()
    call_command("create_user", *args, stdout=out, **options)
    return out.getvalue()


def sign_in(client, email: str, password: str):
    return client.post("/login", {"email": email, "password": password})


@pytest.mark.django_db
def test_without_a_password_the_account_has_none_and_the_output_says_so(client):
    output = create_user("dana@example.test", "--name", "Dana Diaz")

    user = User.objects.get(email="dana@example.test")
    assert user.full_name == "Dana Diaz"
    assert not user.has_usable_password()
    assert not user.is_superuser
    assert "Created user dana@example.test." in output
    assert "No password was set" in output
    # Any password is refused: the login page comes back instead of a redirect.
    assert sign_in(client, "dana@example.test", STRONG_PASSWORD).status_code == 200
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="user.created")
    assert (event.target_id, event.actor) == (str(user.pk), None)


@pytest.mark.django_db
def test_a_password_given_on_the_command_line_signs_in(client):
    output = create_user("dana@example.test", "--password", STRONG_PASSWORD)

    assert "No password" not in output
    response = sign_in(client, "dana@example.test", STRONG_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(email="dana@example.test").pk)


@pytest.mark.django_db
def test_password_stdin_reads_one_line(client):
    create_user("dana@example.test", "--password-stdin", stdin=io.StringIO(f"{STRONG_PASSWORD}\n"))

    assert sign_in(client, "dana@example.test", STRONG_PASSWORD).status_code == 302


@pytest.mark.django_db
def test_org_and_role_make_a_membership_with_its_audit_row(org):
    output = create_user("dana@example.test", "--org", "acme", "--role", "admin", "--password", STRONG_PASSWORD)

    membership = Membership.objects.get(user__email="dana@example.test")
    assert (membership.org, membership.role, membership.status) == (org, "admin", "active")
    assert "Member of acme as admin." in output
    event = AuditEvent.objects.get(action="membership.created")
    assert (event.org, event.target_id, event.metadata["role"]) == (org, str(membership.pk), "admin")
    assert AuditEvent.objects.filter(action="user.created").count() == 1


@pytest.mark.django_db
def test_org_without_role_makes_a_plain_member(org):
    output = create_user("dana@example.test", "--org", "acme", "--password", STRONG_PASSWORD)

    assert Membership.objects.get(user__email="dana@example.test").role == "member"
    assert "Member of acme as member." in output


@pytest.mark.django_db
def test_operator_is_a_superuser_in_no_org():
    output = create_user("root@example.test", "--operator", "--password", STRONG_PASSWORD)

    user = User.objects.get(email="root@example.test")
    assert user.is_superuser
    assert not user.memberships.exists()
    assert "Created operator root@example.test." in output


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Member@ACME.test"], "already exists"),
        (["not-an-email"], "not a valid email address"),
        (["dana@example.test", "--org", "nowhere"], "No organization with the slug “nowhere”"),
        (["dana@example.test", "--org", "acme", "--role", "boss"], "Unknown role “boss”"),
        (["dana@example.test", "--role", "admin"], "--role needs --org"),
        (["dana@example.test", "--operator", "--org", "acme"], "An operator belongs to no organization"),
        (["dana@example.test", "--password", "short"], "too short"),
        (["dana@example.test", "--password", ""], "--password is empty"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(org_member, args, message):
    before = (User.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    out = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("create_user", *args, stdout=out)

    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert out.getvalue() == ""
    assert (User.objects.count(), Membership.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db
def test_an_empty_stdin_is_refused():
    with pytest.raises(CommandError) as excinfo:
        call_command("create_user", "dana@example.test", "--password-stdin", stdin=io.StringIO(""))

    assert excinfo.value.returncode == 2
    assert not User.objects.exists()


def test_a_taken_email_exits_2_from_the_command_line(tmp_path):
    first = manage_py(tmp_path, "create_user", "dana@example.test", "--password-stdin", stdin=f"{STRONG_PASSWORD}\n")
    again = manage_py(tmp_path, "create_user", "DANA@example.test")

    assert first.returncode == 0, first.stderr
    assert again.returncode == 2
    assert again.stdout == ""
    assert again.stderr.strip() == "CommandError: A user with the email DANA@example.test already exists."
