"""CSV import of users: file refusals, per-row verdicts, and applying through the domain services."""

import pytest

from audit.models import AuditEvent
from config.exceptions import DomainError, NotAllowed
from directory.csv_import import MAX_FILE_BYTES, MAX_ROWS, CsvFileError, csv_parse
from directory.import_services import (
    user_import_apply,
    user_import_cancel,
    user_import_confirm,
    user_import_create,
)
from directory.models import GroupMembership, User, UserImport
from directory.tests.factories import GroupFactory, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from orgs.models import Membership

pytestmark = pytest.mark.django_db
Status = UserImport.Status


def upload(org, actor, text: str | bytes, *, send_invitations=False, filename="users.csv") -> UserImport:
    data = text.encode() if isinstance(text, str) else text
    return user_import_create(org=org, actor=actor, filename=filename, data=data, send_invitations=send_invitations)


def run(user_import, actor, django_capture_on_commit_callbacks) -> UserImport:
    """Confirm, and let the (eager) task run when the confirmation commits."""
    with django_capture_on_commit_callbacks(execute=True):
        user_import_confirm(user_import=user_import, actor=actor)
    return UserImport.objects.get(pk=user_import.pk)


def by_line(user_import) -> dict[int, dict]:
    return {row["line"]: row for row in user_import.rows}


# --- the file as a whole --------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    ("email,name\nzoë@example.test,Zoë\n".encode("latin-1"), "The file is not UTF-8"),
    (b"", "The file is empty"),
    (b"  \n\n", "The file is empty"),
    (b"ada@example.test,Ada\n", "The first row must be a header"),
    (b"email,name,shoe_size\nada@example.test,Ada,42\n", "Unknown columns: shoe_size"),
    (b"email;name\nada@example.test;Ada\n", "separated by semicolons"),
    (b"email,email\na@example.test,b@example.test\n", "more than once: email"),
    (b"email,name\n", "header row but no users"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
    (b'email,name\n"ada@example.test,Ada\n', "not a valid CSV"),
])
def test_bad_files_are_refused_with_a_clear_message(data, message):
    with pytest.raises(CsvFileError) as caught:
        csv_parse(data)
    assert message in caught.value.message


def test_too_large_and_too_many_rows_are_refused():
    with pytest.raises(CsvFileError, match="larger than 5 MB"):
        csv_parse(b"email\n" + b"a" * MAX_FILE_BYTES)
    rows = "".join(f"u{i}@example.test\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(CsvFileError, match="more than 20,000 users"):
        csv_parse(("email\n" + rows).encode())


def test_header_is_case_and_whitespace_insensitive_in_any_order_with_a_bom():
    parsed = csv_parse("\ufeff Role , EMAIL,Name\nadmin,ada@example.test,Ada\n\n".encode())
    assert parsed.columns == ["role", "email", "name"]
    assert parsed.rows == [(2, ["admin", "ada@example.test", "Ada"])]


def test_a_refused_file_stores_nothing_and_audits_nothing(org, org_admin):
    with pytest.raises(DomainError) as caught:
        upload(org, org_admin, "name\nAda\n")
    assert caught.value.field == "file"
    assert not UserImport.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="user_import").exists()


# --- rows ----------------------------------------------------------------------------------------


def test_row_errors_are_named_by_line_and_column(org, org_admin, group):
    user_import = upload(org, org_admin, (
        "email,name,role,groups,employee_id\n"
        "ada@example.test,Ada,member,engineering,E1\n"
        "not-an-email,Bob,member,,\n"
        "ADA@example.test,Ada again,member,,\n"
        "carl@example.test,=HYPERLINK(\"http://evil\"),member,,\n"
        "dora@example.test,Dora,emperor,,\n"
        "erin@example.test,Erin,member,marketing,\n"
        "fay@example.test,Fay,owner,,\n"
        "gus@example.test,Gus,member,,+123\n"
        "hal@example.test,Hal\n"
    ))
    rows = by_line(user_import)
    assert rows[2]["action"] == "create"
    assert rows[2]["groups"] == ["engineering"]
    messages = {line: " ".join(e["message"] for e in row["errors"]) for line, row in rows.items()}
    assert "“not-an-email” is not a valid email address." in messages[3]
    assert "already appears on line 2" in messages[4]
    assert "Line 5, column “name” starts with “=”" in messages[5]
    assert "Unknown role “emperor”" in messages[6]
    assert "There is no group “marketing” in this organization" in messages[7]
    assert "Only an owner can make someone an owner." in messages[8]
    assert "Line 9, column “employee_id” starts with “+”" in messages[9]
    assert "This row has 2 cells; the header has 5." in messages[10]
    assert all(rows[line]["action"] == "error" for line in range(3, 11))
    assert {e["line"] for e in user_import.row_errors} == set(range(3, 11))
    audit = AuditEvent.objects.get(action="user_import.uploaded")
    assert audit.actor == org_admin
    assert audit.org == org
    assert audit.target_id == str(user_import.pk)
    assert audit.metadata["counts"] == {"create": 1, "update": 0, "unchanged": 0, "error": 8}


def test_errors_block_confirmation_and_nothing_is_applied(org, org_admin, django_capture_on_commit_callbacks):
    user_import = upload(org, org_admin, "email,name\nada@example.test,Ada\nbad,Bob\n")
    with pytest.raises(NotAllowed, match="1 rows have errors"):
        run(user_import, org_admin, django_capture_on_commit_callbacks)
    assert UserImport.objects.get(pk=user_import.pk).status == Status.PREVIEW
    assert not User.objects.filter(email="ada@example.test").exists()
    assert not AuditEvent.objects.filter(action="user_import.confirmed").exists()


def test_preview_says_create_update_unchanged(org, org_owner, group):
    same = MembershipFactory(org=org, role="member", employee_id="E9",
                             user=UserFactory(email="same@example.test", full_name="Same")).user
    MembershipFactory(org=org, role="member", user=UserFactory(email="bob@example.test", full_name="Bob"))
    user_import = upload(org, org_owner, (
        "email,name,role,groups,employee_id\n"
        "new@example.test,New,admin,,\n"
        "BOB@example.test,Robert,auditor,Engineering,E2\n"
        f"{same.email},Same,member,,E9\n"
        "owner@acme.test,,,,\n"
    ))
    rows = by_line(user_import)
    assert [rows[n]["action"] for n in (2, 3, 4, 5)] == ["create", "update", "unchanged", "unchanged"]
    assert rows[3]["changes"] == ["name", "role", "employee_id", "groups"]


def test_an_admin_cannot_change_an_owners_row_but_an_owner_can(org, org_owner, org_admin):
    text = "email,name,role\nowner@acme.test,Renamed,\n"
    rows = by_line(upload(org, org_admin, text))
    assert rows[2]["action"] == "error"
    assert "only an owner can change an owner's membership" in rows[2]["errors"][0]["message"]
    assert by_line(upload(org, org_owner, text))[2]["action"] == "update"


def test_the_last_owner_cannot_be_demoted(org, org_owner):
    rows = by_line(upload(org, org_owner, "email,role\nowner@acme.test,admin\n"))
    assert rows[2]["action"] == "error"
    assert "needs at least one active owner" in rows[2]["errors"][0]["message"]
    MembershipFactory(org=org, role="owner", user=UserFactory(email="second@acme.test"))
    assert by_line(upload(org, org_owner, "email,role\nowner@acme.test,admin\n"))[2]["action"] == "update"


def test_groups_of_another_org_are_unknown(org, other_org, org_admin):
    GroupFactory(org=other_org, name="Secret", slug="secret")
    rows = by_line(upload(org, org_admin, "email,groups\nada@example.test,secret\n"))
    assert "There is no group “secret”" in rows[2]["errors"][0]["message"]


# --- applying ------------------------------------------------------------------------------------


def test_apply_creates_updates_and_reports_per_row(org, org_admin, group, django_capture_on_commit_callbacks):
    bob = MembershipFactory(org=org, role="member", user=UserFactory(email="bob@example.test", full_name="Bob"))
    user_import = upload(org, org_admin, (
        "email,name,role,groups,employee_id\n"
        "ada@example.test,Ada Lovelace,admin,engineering,E1\n"
        "bob@example.test,Robert,auditor,,E2\n"
        "admin@acme.test,,,,\n"
    ))
    done = run(user_import, org_admin, django_capture_on_commit_callbacks)
    assert done.status == Status.DONE
    assert (done.processed_rows, done.created_count, done.updated_count, done.failed_count) == (3, 1, 1, 0)
    assert [r["outcome"] for r in done.results] == ["created", "updated", "unchanged"]
    ada = User.objects.get(email="ada@example.test")
    assert ada.full_name == "Ada Lovelace"
    assert not ada.has_usable_password()
    membership = Membership.objects.get(org=org, user=ada)
    assert (membership.role, membership.status, membership.employee_id) == ("admin", "invited", "E1")
    assert GroupMembership.objects.filter(group=group, user=ada).exists()
    bob.refresh_from_db()
    bob.user.refresh_from_db()
    assert (bob.role, bob.employee_id, bob.user.full_name) == ("auditor", "E2", "Robert")
    # Invitations not chosen: the new member gets no email at all (no group notice either); Bob, an
    # existing member, would get a group notice as for a manual change, but he joined no group here.
    assert not OutboundEmail.objects.exists()
    # One audit row per change, by the importer, as for the manual actions.
    actions = list(AuditEvent.objects.filter(org=org, actor=org_admin).values_list("action", flat=True))
    for action in ("user_import.uploaded", "user_import.confirmed", "membership.created", "group.member_added",
                   "membership.role_changed", "user.updated", "membership.updated", "user_import.completed"):
        assert action in actions, action
    role_change = AuditEvent.objects.get(action="membership.role_changed")
    assert role_change.metadata == {"user": "bob@example.test", "before": "member", "after": "auditor"}
    employee = AuditEvent.objects.get(action="membership.updated", metadata__user="bob@example.test")
    assert employee.metadata["before"] == {"employee_id": ""}
    assert employee.metadata["after"] == {"employee_id": "E2"}
    completed = AuditEvent.objects.get(action="user_import.completed")
    assert completed.metadata["created"] == 1
    assert completed.metadata["updated"] == 1


def test_invitations_are_sent_when_chosen(org, org_admin, django_capture_on_commit_callbacks):
    user_import = upload(org, org_admin, "email,name\nada@example.test,Ada\n", send_invitations=True)
    run(user_import, org_admin, django_capture_on_commit_callbacks)
    mail = OutboundEmail.objects.get(kind="invitation")
    assert mail.recipient == "ada@example.test"
    assert mail.org == org
    assert AuditEvent.objects.filter(action="invitation.sent", actor=org_admin, org=org).count() == 1


def test_an_existing_global_account_only_gets_an_invited_membership(
        org, other_org, org_admin, django_capture_on_commit_callbacks):
    elsewhere = MembershipFactory(org=other_org, user=UserFactory(email="zed@example.test", full_name="Zed")).user
    password_hash = elsewhere.password
    user_import = upload(org, org_admin, "email,name\nZED@example.test,Hijacked\n", send_invitations=True)
    # The same row as for an address with no account (issue #10): nothing says the account exists.
    assert by_line(user_import)[2]["action"] == "create"
    assert by_line(user_import)[2]["notes"] == []
    done = run(user_import, org_admin, django_capture_on_commit_callbacks)
    elsewhere.refresh_from_db()
    assert elsewhere.full_name == "Zed"
    assert elsewhere.password == password_hash
    assert Membership.objects.get(org=org, user=elsewhere).status == Membership.Status.INVITED
    assert done.results[0]["outcome"] == "created"
    assert done.results[0]["detail"] == "Invitation sent."
    assert OutboundEmail.objects.get(kind="invitation").recipient == "zed@example.test"


def test_a_member_of_other_orgs_keeps_their_name_on_update(org, other_org, org_admin,
                                                           django_capture_on_commit_callbacks):
    shared = MembershipFactory(org=org, user=UserFactory(email="sam@example.test", full_name="Sam")).user
    MembershipFactory(org=other_org, user=shared)
    user_import = upload(org, org_admin, "email,name,employee_id\nsam@example.test,Samuel,E7\n")
    row = by_line(user_import)[2]
    assert row["action"] == "update"
    assert row["changes"] == ["employee_id"]
    assert "also belongs to another organization" in row["notes"][0]
    run(user_import, org_admin, django_capture_on_commit_callbacks)
    shared.refresh_from_db()
    assert shared.full_name == "Sam"
    assert Membership.objects.get(org=org, user=shared).employee_id == "E7"
    assert not AuditEvent.objects.filter(action="user.updated").exists()


def test_rules_are_checked_again_when_applied(org, org_owner, django_capture_on_commit_callbacks):
    second = MembershipFactory(org=org, role="owner", user=UserFactory(email="second@acme.test"))
    user_import = upload(org, org_owner, "email,role\nowner@acme.test,member\n")
    assert by_line(user_import)[2]["action"] == "update"
    # Meanwhile the other owner leaves: the row would now demote the last owner.
    second.delete()
    done = run(user_import, org_owner, django_capture_on_commit_callbacks)
    assert done.status == Status.DONE
    assert done.failed_count == 1
    assert "last active owner" in done.results[0]["detail"]
    assert Membership.objects.get(org=org, user=org_owner).role == "owner"


def test_the_task_run_twice_applies_once(org, org_admin, django_capture_on_commit_callbacks):
    user_import = upload(org, org_admin, "email\nada@example.test\nbob@example.test\n")
    done = run(user_import, org_admin, django_capture_on_commit_callbacks)
    again = user_import_apply(import_id=done.pk)
    assert again.status == Status.DONE
    assert again.processed_rows == 2
    assert len(again.results) == 2
    assert AuditEvent.objects.filter(action="membership.created", org=org).count() == 2
    assert AuditEvent.objects.filter(action="user_import.completed").count() == 1


def test_a_run_interrupted_mid_way_resumes_without_applying_twice(org, org_admin, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    monkeypatch.setattr("directory.import_services.BATCH_SIZE", 2)
    user_import = upload(org, org_admin, "email\n" + "".join(f"u{i}@example.test\n" for i in range(5)))
    # A worker died after the first batch: the import is running with 2 rows committed.
    UserImport.objects.filter(pk=user_import.pk).update(status=Status.QUEUED)
    from directory import import_services

    calls = {"n": 0}
    real = import_services._batch_apply

    def one_batch_then_die(job):
        calls["n"] += 1
        if calls["n"] > 1:
            raise SystemExit("worker lost")
        return real(job)

    monkeypatch.setattr(import_services, "_batch_apply", one_batch_then_die)
    with pytest.raises(SystemExit):
        user_import_apply(import_id=user_import.pk)
    assert UserImport.objects.get(pk=user_import.pk).processed_rows == 2
    monkeypatch.setattr(import_services, "_batch_apply", real)
    done = user_import_apply(import_id=user_import.pk)
    assert done.status == Status.DONE
    assert done.processed_rows == 5
    assert done.created_count == 5
    assert Membership.objects.filter(org=org, user__email__startswith="u").count() == 5
    assert AuditEvent.objects.filter(action="membership.created", org=org).count() == 5


def test_only_the_uploader_confirms_and_only_once(org, org_owner, org_admin, django_capture_on_commit_callbacks):
    user_import = upload(org, org_owner, "email\nada@example.test\n")
    with pytest.raises(NotAllowed, match="Only the person who uploaded"):
        user_import_confirm(user_import=user_import, actor=org_admin)
    run(user_import, org_owner, django_capture_on_commit_callbacks)
    with pytest.raises(NotAllowed, match="can no longer be confirmed"):
        user_import_confirm(user_import=user_import, actor=org_owner)


def test_cancel_a_preview(org, org_admin):
    user_import = upload(org, org_admin, "email\nada@example.test\n")
    cancelled = user_import_cancel(user_import=user_import, actor=org_admin)
    assert cancelled.status == Status.CANCELLED
    assert AuditEvent.objects.get(action="user_import.cancelled").actor == org_admin
    with pytest.raises(NotAllowed):
        user_import_confirm(user_import=user_import, actor=org_admin)
    with pytest.raises(NotAllowed):
        user_import_cancel(user_import=user_import, actor=org_admin)
    assert not User.objects.filter(email="ada@example.test").exists()


def test_an_uploader_who_lost_the_role_applies_nothing(org, org_admin, django_capture_on_commit_callbacks):
    user_import = upload(org, org_admin, "email\nada@example.test\n")
    UserImport.objects.filter(pk=user_import.pk).update(status=Status.QUEUED)
    Membership.objects.filter(user=org_admin).update(role="member")
    done = user_import_apply(import_id=user_import.pk)
    assert done.status == Status.FAILED
    assert "no longer manage members" in done.error
    assert not User.objects.filter(email="ada@example.test").exists()
    assert AuditEvent.objects.get(action="user_import.failed").target_id == str(user_import.pk)


def test_new_members_in_bulk_get_the_same_audit_rows_and_no_email(org, org_admin, group,
                                                                       django_capture_on_commit_callbacks):
    user_import = upload(org, org_admin, "email,name,groups,employee_id\nada@example.test,Ada,engineering,E1\n")
    run(user_import, org_admin, django_capture_on_commit_callbacks)
    ada = User.objects.get(email="ada@example.test")
    membership = Membership.objects.get(org=org, user=ada)
    created = AuditEvent.objects.get(action="user.created", target_id=str(ada.pk))
    assert created.actor == org_admin
    assert created.metadata == {"email": "ada@example.test", "operator": False}
    joined = AuditEvent.objects.get(action="membership.created", target_id=str(membership.pk))
    assert joined.org == org
    assert joined.metadata == {"user": "ada@example.test", "role": "member", "status": "invited", "employee_id": "E1"}
    added = AuditEvent.objects.get(action="group.member_added", target_id=str(group.pk))
    assert added.metadata == {"user": "ada@example.test"}
    assert not OutboundEmail.objects.exists()


def test_an_existing_member_added_to_a_group_is_told_as_for_a_manual_change(org, org_admin, group,
                                                                            django_capture_on_commit_callbacks):
    MembershipFactory(org=org, user=UserFactory(email="bob@example.test"))
    user_import = upload(org, org_admin, "email,groups\nbob@example.test,engineering\n")
    done = run(user_import, org_admin, django_capture_on_commit_callbacks)
    assert done.results[0]["outcome"] == "updated"
    assert OutboundEmail.objects.get(kind="group_added").recipient == "bob@example.test"
    assert AuditEvent.objects.get(action="group.member_added").actor == org_admin


def test_a_conflict_in_the_bulk_insert_falls_back_row_by_row(org, org_admin, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from directory import import_services

    user_import = upload(org, org_admin, "email\nada@example.test\nbob@example.test\n")
    # Bob gets an account between the batch's reads and its inserts.
    real = import_services.org_state_load

    def stale_then_bob(**kwargs):
        state = real(**kwargs)
        UserFactory(email="bob@example.test")
        return state

    monkeypatch.setattr(import_services, "org_state_load", stale_then_bob)
    done = run(user_import, org_admin, django_capture_on_commit_callbacks)
    assert done.status == Status.DONE
    assert [r["outcome"] for r in done.results] == ["created", "failed"]
    assert "already exists" in done.results[1]["detail"]
    assert Membership.objects.filter(org=org, user__email="ada@example.test").exists()
    assert not Membership.objects.filter(org=org, user__email="bob@example.test").exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_applies_a_confirmed_import(tmp_path, monkeypatch):
    """PostgreSQL, a Redis broker and a `celery worker` process, as in production; runs in .ci/run."""
    import time
    import uuid

    from django.db import connection

    from config.celery import app
    from config.tests.test_services import require_env, worker_database_url
    from directory.tasks import apply_user_import
    from directory.tests.factories import OrganizationFactory
    from emailqueue.tests.worker import start_worker, stop_worker

    database_url = require_env("DATABASE_URL")
    broker_url = require_env("CELERY_BROKER_URL")
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    admin = MembershipFactory(org=org, role="admin", user=UserFactory(email="admin@acme.test")).user
    rows = 600  # more than one batch, so progress moves in steps
    user_import = upload(org, admin, "email,name\n" + "".join(f"p{i}@example.test,P {i}\n" for i in range(rows)))
    queue = f"gatehouse-test-import-{uuid.uuid4().hex[:12]}"
    # The task goes to this test's own queue; everything else (commit hook, broker, worker) is the real path.
    monkeypatch.setattr(apply_user_import, "delay", lambda pk: apply_user_import.apply_async((pk,), queue=queue))
    log_path = tmp_path / "worker.log"
    process = start_worker(queue=queue, log_path=log_path, env={
        "DATABASE_URL": worker_database_url(database_url, connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": broker_url, "CELERY_TASK_ALWAYS_EAGER": "false"})
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        user_import_confirm(user_import=user_import, actor=admin)
        deadline = time.monotonic() + 60
        while UserImport.objects.get(pk=user_import.pk).status != Status.DONE:
            assert process.poll() is None, f"the worker exited early:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"not done in 60 s:\n{log_path.read_text()[-4000:]}"
            time.sleep(0.2)
    finally:
        app.conf.task_always_eager = eager
        stop_worker(process)
    done = UserImport.objects.get(pk=user_import.pk)
    assert (done.processed_rows, done.created_count, done.failed_count) == (rows, rows, 0)
    assert Membership.objects.filter(org=org, status=Membership.Status.INVITED).count() == rows
    assert AuditEvent.objects.filter(action="user_import.completed", org=org).count() == 1
    assert "directory.apply_user_import" in log_path.read_text()


def test_employee_ids_are_unique_in_the_org_and_the_file(org, org_admin):
    MembershipFactory(org=org, employee_id="E1", user=UserFactory(email="holder@example.test"))
    MembershipFactory(org=org, employee_id="E9", user=UserFactory(email="nine@example.test"))
    rows = by_line(upload(org, org_admin, (
        "email,employee_id\n"
        "holder@example.test,E1\n"
        "ada@example.test,E9\n"
        "bob@example.test,E2\n"
        "cy@example.test,E2\n"
        "dee@example.test,\"E\n3\"\n"
    )))
    assert rows[2]["action"] == "unchanged"
    assert "Another member already has the employee id “E9”." in rows[3]["errors"][0]["message"]
    assert rows[4]["action"] == "create"
    assert "The employee id “E2” already appears on line 4." in rows[5]["errors"][0]["message"]
    assert "control characters" in rows[6]["errors"][0]["message"]
