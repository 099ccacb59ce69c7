"""CSV import with invitations in bulk: the same rows, audit events, links and emails as member_invite row by row."""

import re

import pytest
from django.test import Client

from audit.models import AuditEvent
from directory import import_services
from directory.import_services import user_import_apply, user_import_confirm
from directory.models import GroupMembership, User, UserImport
from directory.tests.factories import MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from identity.models import OneTimeToken
from identity.tests.link_support import link_in
from identity.tokens import invitation_lifetime
from orgs.models import Membership

from .test_csv_import import run, upload

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-long-enough-passphrase"
TOKEN = re.compile(r"/invitation/[A-Za-z0-9_-]+")


def _import(org, actor, email: str, callbacks, *, row_by_row: bool, monkeypatch) -> UserImport:
    """Import one row with invitations, through the bulk path or (bulk refused) through member_invite."""
    if row_by_row:
        monkeypatch.setattr(import_services, "_bulk_create", lambda *args, **kwargs: {})
    text = f"email,name,role,groups,employee_id\n{email},Ada,auditor,engineering,E-{email[0]}\n"
    user_import = upload(org, actor, text, send_invitations=True)
    done = run(user_import, actor, callbacks)
    monkeypatch.undo()
    return done


def _same(text: str, email: str) -> str:
    """A value with the person's address and link secret taken out, so two people's rows compare."""
    return TOKEN.sub("/invitation/<token>", text.replace(email, "<email>").replace(f"E-{email[0]}", "<id>"))


def _written_for(org, email: str) -> dict:
    """Everything the import wrote about one person, in a form two people's rows compare in."""
    user = User.objects.get(email=email)
    membership = Membership.objects.get(org=org, user=user)
    events = AuditEvent.objects.filter(metadata__user=email) | AuditEvent.objects.filter(metadata__email=email)
    token = OneTimeToken.objects.get(membership=membership)
    invitation_sent = AuditEvent.objects.get(action="invitation.sent", target_id=str(membership.pk))
    assert invitation_sent.metadata["expires_at"] == token.expires_at.isoformat()
    return {
        "user": (user.full_name, user.has_usable_password(), user.email_verified, user.status),
        "membership": (membership.role, membership.status, _same(membership.employee_id, email)),
        "groups": sorted(GroupMembership.objects.filter(user=user, group__org=org)
                         .values_list("group__slug", flat=True)),
        "events": [
            (event.action, event.org_id, event.actor_id, event.actor_label, event.target_type,
             {key: _same(str(value), email) for key, value in event.metadata.items() if key != "expires_at"})
            for event in events.order_by("id")
        ],
        "token": (token.purpose, token.user_id == user.pk, token.expires_at - token.created_at, token.used_at,
                  token.voided_at, token.email),
        "emails": [
            (mail.org_id, mail.kind, mail.template, mail.status, _same(mail.recipient, email),
             _same(mail.subject, email), _same(mail.body_text, email), _same(mail.body_html, email))
            for mail in OutboundEmail.objects.filter(recipient=email).order_by("id")
        ],
    }


@pytest.mark.parametrize("existing", [False, True], ids=["new account", "account of another org"])
def test_the_bulk_path_writes_what_member_invite_writes(org, other_org, org_admin, group, existing, monkeypatch,
                                                        django_capture_on_commit_callbacks):
    if existing:
        for email in ("ada@example.test", "bea@example.test"):
            MembershipFactory(org=other_org, user=UserFactory(email=email, full_name="Zed"))
    bulk = _import(org, org_admin, "ada@example.test", django_capture_on_commit_callbacks, row_by_row=False,
                   monkeypatch=monkeypatch)
    single = _import(org, org_admin, "bea@example.test", django_capture_on_commit_callbacks, row_by_row=True,
                     monkeypatch=monkeypatch)

    assert [r["outcome"] for r in bulk.results] == [r["outcome"] for r in single.results] == ["created"]
    assert bulk.results[0]["detail"] == single.results[0]["detail"]
    bulk_rows, single_rows = _written_for(org, "ada@example.test"), _written_for(org, "bea@example.test")
    assert bulk_rows == single_rows
    # What both wrote, spelled out (so "the same" is not "the same and both wrong").
    assert bulk_rows["membership"] == ("auditor", "invited", "<id>")
    assert bulk_rows["groups"] == ["engineering"]
    actions = [event[0] for event in bulk_rows["events"]]
    assert actions == (["membership.created", "group.member_added", "invitation.sent", "membership.updated"]
                       if existing else
                       ["user.created", "membership.created", "group.member_added", "invitation.sent",
                        "membership.updated"])
    sent = next(event for event in bulk_rows["events"] if event[0] == "invitation.sent")
    assert sent[1:3] == (org.pk, org_admin.pk)
    # Nothing says whether the account existed (issue #10).
    assert sent[5] == {"user": "<email>", "role": "auditor", "groups": "['engineering']"}
    assert bulk_rows["token"] == ("invitation", True, invitation_lifetime(), None, None, "")
    # Delivered by the (eager) task the commit handed them to.
    # One email: the invitation names the groups, so no separate "added to a group" notice.
    assert [(mail[1], mail[3]) for mail in bulk_rows["emails"]] == [("invitation", "sent")]
    invitation = bulk_rows["emails"][0]
    assert "You will be in these groups: Engineering" in invitation[6]
    assert "If you are new here, you will choose a password when you accept" in invitation[7]
    assert f"{org_admin.display_name} invited you to join {org.name} as Auditor." in invitation[6]


def test_the_link_of_a_bulk_invitation_sets_the_password_of_a_new_account(org, org_admin, group, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    _import(org, org_admin, "ada@example.test", django_capture_on_commit_callbacks, row_by_row=False,
            monkeypatch=monkeypatch)
    path = link_in(OutboundEmail.objects.get(kind="invitation", recipient="ada@example.test"))
    client = Client()
    assert "Set up your account" in client.get(path).content.decode()

    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response.status_code == 302
    ada = User.objects.get(email="ada@example.test")
    assert ada.check_password(NEW_PASSWORD)
    assert ada.email_verified
    membership = Membership.objects.get(org=org, user=ada)
    assert membership.status == Membership.Status.ACTIVE
    assert OneTimeToken.objects.get(membership=membership).used_at is not None
    accepted = AuditEvent.objects.get(action="invitation.accepted")
    assert (accepted.actor, accepted.org, accepted.target_id) == (ada, org, str(membership.pk))


def test_a_batch_with_invitations_costs_a_few_queries_not_thirty_per_row(org, org_admin, group,
                                                                          django_assert_max_num_queries,
                                                                          django_capture_on_commit_callbacks):
    rows = "".join(f"p{i}@example.test,P {i},member,engineering,E{i}\n" for i in range(40))
    user_import = upload(org, org_admin, "email,name,role,groups,employee_id\n" + rows, send_invitations=True)
    with django_capture_on_commit_callbacks(execute=False):  # the job runs here, not on the confirmation's commit
        user_import_confirm(user_import=user_import, actor=org_admin)
    with django_capture_on_commit_callbacks(execute=False) as handed_over, django_assert_max_num_queries(30):
        done = user_import_apply(import_id=user_import.pk)
    assert len(handed_over) == 1  # all 40 emails in one callback
    assert (done.status, done.created_count, done.failed_count) == (UserImport.Status.DONE, 40, 0)
    assert OutboundEmail.objects.filter(kind="invitation").count() == 40
    assert not OutboundEmail.objects.filter(kind="group_added").exists()  # the invitations name the groups
    assert OneTimeToken.objects.filter(purpose="invitation", membership__org=org).count() == 40
    assert AuditEvent.objects.filter(action="invitation.sent", actor=org_admin).count() == 40


def test_rows_of_existing_members_take_the_per_row_path_and_get_no_invitation(org, org_admin,
                                                                              django_capture_on_commit_callbacks):
    """A member already invited is changed row by row (no second invitation); a new one is invited in bulk."""
    MembershipFactory(org=org, user=UserFactory(email="bob@example.test"), status=Membership.Status.INVITED)
    user_import = upload(org, org_admin, "email,role\nada@example.test,member\nbob@example.test,admin\n",
                         send_invitations=True)
    done = run(user_import, org_admin, django_capture_on_commit_callbacks)
    assert [r["outcome"] for r in done.results] == ["created", "updated"]
    assert list(OutboundEmail.objects.filter(kind="invitation").values_list("recipient", flat=True)) == [
        "ada@example.test"]
