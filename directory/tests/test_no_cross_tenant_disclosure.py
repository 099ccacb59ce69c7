"""Issue #10: what an org's admin learns about an address is only this org's own data.

Inviting (form or CSV import) an address with no account, one with an account in another org, and one of a
platform operator must look the same to the admin in every place they can look: the answer, the preview,
the audit rows of their org, the email as their queue shows it, and the member's page. The member's page
shows account-level facts only while the membership is active.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from directory.import_services import user_import_apply, user_import_confirm, user_import_create
from directory.models import GroupMembership, User
from directory.tests.factories import GroupFactory, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from identity.models import UserSession
from identity.tests.link_support import last_link
from orgs.models import Membership
from orgs.services import member_invite
from security.models import SignInLock
from security.services import signin_key

pytestmark = pytest.mark.django_db

# Three addresses of the same length, so that nothing but the facts behind them could set them apart.
NEW, ELSEWHERE, OPERATOR = "p1@example.test", "p2@example.test", "p3@example.test"
KINDS = {NEW: "no account", ELSEWHERE: "account in another org", OPERATOR: "platform operator"}
ACCOUNT_ACTIONS = ["user-unlock", "user-password-reset", "user-require-password-change"]
IDENTITY_PAGES = ["user-edit", "user-email"]


def url(name, org, user):
    return reverse(f"console:{name}", kwargs={"org_slug": org.slug, "pk": user.pk})


def create_url(org):
    return reverse("console:user-create", kwargs={"org_slug": org.slug})


def flash(response) -> str:
    """The messages this response added (not the ones still waiting from earlier requests)."""
    return " ".join(str(m) for m in response.wsgi_request._messages._queued_messages)


def lived_in(user) -> None:
    """Give an account the facts another org (or the platform) would know: a session, a lock, a sign-in."""
    now = timezone.now()
    UserSession.objects.create(user=user, device="Globex laptop", expires_at=now + timedelta(hours=8),
                               last_seen_at=now - timedelta(days=3))
    SignInLock.objects.create(key=signin_key(user.email), attempts=5, level=1,
                              locked_until=now + timedelta(minutes=15), updated_at=now)


@pytest.fixture
def addresses(other_org):
    """The three kinds of address; the two accounts carry a name, a verified address, a session and a lock."""
    elsewhere = UserFactory(email=ELSEWHERE, full_name="Globex Person", email_verified=True)
    MembershipFactory(org=other_org, user=elsewhere, role="admin")
    operator = UserFactory(email=OPERATOR, full_name="Platform Person", email_verified=True, is_superuser=True)
    lived_in(elsewhere)
    lived_in(operator)
    return [NEW, ELSEWHERE, OPERATOR]


def mask(text: str, email: str, *pks) -> str:
    """A page or value with what differs by design taken out: the address, ids, times, CSRF tokens."""
    text = text.replace(email, "<email>")
    for pk in pks:
        text = re.sub(rf"/{pk}/", "/<pk>/", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?( \w+)?)?", "<when>", text)
    text = re.sub(r"\d{1,2} [A-Z][a-z]{2} \d{4}(, \d{2}:\d{2}(:\d{2})? [\w+-]+)?", "<when>", text)  # |when
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "<csrf>", text)
    text = re.sub(r'"X-CSRFToken": "[^"]+"', "<csrf>", text)
    text = re.sub(r"&lt;[0-9a-f]{32}@", "&lt;<message-id>@", text)
    return text


def this_orgs_events(org, since: int, email: str) -> list:
    return [
        (event.action, event.target_type, event.actor_id,
         {key: mask(str(value), email) for key, value in event.metadata.items() if key != "expires_at"})
        for event in AuditEvent.objects.filter(org=org, id__gt=since).order_by("id")
    ]


def queue_page(client, org, email: str) -> str:
    """The invitation as the org's email queue shows it (links redacted)."""
    mail = OutboundEmail.objects.get(org=org, recipient=email, kind="invitation")
    page = client.get(reverse("console:email-detail", kwargs={"org_slug": org.slug, "pk": mail.pk}))
    assert page.status_code == 200
    return mask(page.content.decode(), email, mail.pk)


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# ------------------------------------------------------------------------------------------ the invite form


def test_the_invite_form_answers_the_same_for_every_kind_of_address(org_admin_client, org, group, addresses):
    seen = {}
    for email in addresses:
        since = last_event_id()
        response = org_admin_client.post(create_url(org), {"email": email, "full_name": "Typed Name",
                                                           "role": "member", "groups": [group.pk]})
        membership = Membership.objects.get(org=org, user__email=email)
        detail = org_admin_client.get(url("user-detail", org, membership.user))
        seen[email] = {
            "answer": (response.status_code, mask(response.get("Location", ""), email, membership.user_id),
                       mask(flash(response), email)),
            "audit": this_orgs_events(org, since, email),
            "queue": queue_page(org_admin_client, org, email),
            "page": (detail.status_code, mask(detail.content.decode(), email, membership.user_id)),
        }
        assert membership.status == Membership.Status.INVITED

    first = seen[NEW]
    assert first["answer"][0] == 302
    assert "Invited <email>" in first["answer"][2]
    assert [event[0] for event in first["audit"]] == ["membership.created", "group.member_added", "invitation.sent"]
    for email in (ELSEWHERE, OPERATOR):
        for part in first:
            assert seen[email][part] == first[part], f"{KINDS[email]}: the {part} differs"
    # The other org's facts never appear, whatever the kind.
    for email in addresses:
        page = seen[email]["page"][1]
        for fact in ("Globex", "Platform Person", "Locked until", "active session", "last seen", "verified",
                     "platform operator"):
            assert fact not in page, (KINDS[email], fact)


def test_an_invitation_to_an_operator_is_written_like_any_other(org, org_admin, operator):
    membership = member_invite(org=org, email=operator.email, role="member", actor=org_admin)

    assert (membership.user, membership.status) == (operator, Membership.Status.INVITED)
    assert OutboundEmail.objects.get(kind="invitation").recipient == operator.email
    assert AuditEvent.objects.get(action="invitation.sent", org=org).metadata["user"] == operator.email


def test_the_invitation_email_reads_the_same_whether_or_not_the_account_exists(org, org_admin, addresses):
    bodies = set()
    for email in addresses:
        member_invite(org=org, email=email, role="member", actor=org_admin)
        mail = OutboundEmail.objects.get(recipient=email)
        link = re.compile(r"https?://\S+/invitation/[A-Za-z0-9_-]+")
        bodies.add((mail.subject, link.sub("<link>", mail.body_text).replace(email, "<email>"),
                    link.sub("<link>", mail.body_html).replace(email, "<email>")))
    assert len(bodies) == 1
    [(_subject, text, _html)] = bodies
    assert "already have an account" not in text
    # The invitee still learns what to do in either case.
    assert "choose a password" in text
    assert "sign in" in text


def test_an_operator_cannot_accept_and_sees_why(client, sign_in, org, org_admin, operator):
    member_invite(org=org, email=operator.email, role="admin", actor=org_admin)
    link = last_link(recipient=operator.email)
    signed_in = sign_in(operator)

    assert signed_in.get(link).status_code == 200
    response = signed_in.post(link)

    assert response.status_code == 403
    page = response.content.decode()
    assert "This invitation cannot be accepted" in page
    assert "platform operator" in page
    assert Membership.objects.get(org=org, user=operator).status == Membership.Status.INVITED
    assert not AuditEvent.objects.filter(action="invitation.accepted").exists()


def test_an_operator_invitation_never_sets_their_password(client, org, org_admin, operator):
    member_invite(org=org, email=operator.email, role="member", actor=org_admin)
    before = operator.password
    response = client.post(last_link(recipient=operator.email),
                           {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"})
    assert response.status_code == 200  # the sign-in-to-accept page, no password form
    assert 'name="new_password1"' not in response.content.decode()
    operator.refresh_from_db()
    assert operator.password == before


# ------------------------------------------------------------------------------------------ the CSV import


def test_the_import_preview_and_results_are_the_same_for_every_kind_of_address(
        org, org_admin, group, addresses, django_capture_on_commit_callbacks):
    text = "email,name,role,groups\n" + "".join(f"{email},Typed Name,member,engineering\n" for email in addresses)
    user_import = user_import_create(org=org, actor=org_admin, filename="users.csv", data=text.encode(),
                                     send_invitations=True)

    rows = [{**row, "email": row["email"].replace(email, "<email>"), "line": 0}
            for row, email in zip(user_import.rows, addresses, strict=True)]
    assert rows[0]["action"] == "create"
    assert rows[0]["errors"] == []
    assert rows[0]["notes"] == []
    assert rows[1] == rows[0]
    assert rows[2] == rows[0]
    assert not user_import.row_errors

    with django_capture_on_commit_callbacks(execute=True):
        user_import_confirm(user_import=user_import, actor=org_admin)
    user_import.refresh_from_db()
    results = [(result["outcome"], result["detail"]) for result in user_import.results]
    assert results == [("created", "Invitation sent.")] * 3
    shapes = {tuple((event[0], event[1], tuple(sorted(event[3]))) for event in this_orgs_events(org, 0, email)
                    if email in str(AuditEvent.objects.filter(org=org).values_list("metadata", flat=True)))
              for email in addresses}
    assert len(shapes) == 1
    sent = AuditEvent.objects.filter(org=org, action="invitation.sent")
    assert sent.count() == 3
    assert all("new_account" not in event.metadata for event in sent)
    for email in addresses:
        assert Membership.objects.get(org=org, user__email=email).status == Membership.Status.INVITED


def test_the_row_by_row_path_says_the_same(org, org_admin, group, addresses, monkeypatch):
    monkeypatch.setattr("directory.import_services._bulk_create", lambda *args, **kwargs: {})
    text = "email,name\n" + "".join(f"{email},Typed Name\n" for email in addresses)
    user_import = user_import_create(org=org, actor=org_admin, filename="users.csv", data=text.encode(),
                                     send_invitations=False)
    user_import_confirm(user_import=user_import, actor=org_admin)
    user_import_apply(import_id=user_import.pk)
    user_import.refresh_from_db()
    assert [(r["outcome"], r["detail"]) for r in user_import.results] == [
        ("created", "Invited; no email sent (send the invitation from the user's page).")] * 3


def test_the_preview_page_names_no_operator_and_no_existing_account(org_admin_client, org, addresses):
    text = "email,name\n" + "".join(f"{email},Typed Name\n" for email in addresses)
    response = org_admin_client.post(reverse("console:import-new", kwargs={"org_slug": org.slug}), {
        "file": _upload(text), "send_invitations": "on"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    for email in addresses:
        assert email in page
    for words in ("platform operator", "Existing account", "existing account", "another organization"):
        assert words not in page


def _upload(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("users.csv", text.encode(), content_type="text/csv")


def test_an_invited_members_name_is_neither_compared_nor_changed_by_an_import(org, org_admin, other_org):
    # Invited here, known elsewhere as "Globex Person": a row with that name or another says the same.
    for email, name in ((ELSEWHERE, "Globex Person"), (NEW, "Typed Name")):
        user = UserFactory(email=email, full_name=name)
        MembershipFactory(org=org, user=user, status=Membership.Status.INVITED)
    MembershipFactory(org=other_org, user=User.objects.get(email=ELSEWHERE))
    text = f"email,name\n{ELSEWHERE},Globex Person\n{NEW},Someone Else\n"
    user_import = user_import_create(org=org, actor=org_admin, filename="u.csv", data=text.encode(),
                                     send_invitations=False)
    first, second = user_import.rows
    assert (first["action"], first["changes"], first["notes"]) == (second["action"], second["changes"],
                                                                   second["notes"])
    assert first["action"] == "unchanged"
    assert "not active" in first["notes"][0]


# ------------------------------------------------------------------------------------------ the member's page


def _invited(org, email, **user_fields):
    user = User.objects.filter(email=email).first() or UserFactory(email=email, **user_fields)
    return MembershipFactory(org=org, user=user, status=Membership.Status.INVITED).user


@pytest.mark.parametrize("status", [Membership.Status.INVITED, Membership.Status.SUSPENDED])
def test_a_member_not_active_shows_only_what_this_org_entered(org_admin_client, org, other_org, group, status):
    person = UserFactory(email=ELSEWHERE, full_name="Globex Person", email_verified=True)
    MembershipFactory(org=other_org, user=person)
    MembershipFactory(org=org, user=person, status=status, role="auditor", employee_id="HR-7")
    GroupMembership.objects.create(group=group, user=person)
    lived_in(person)

    page = org_admin_client.get(url("user-detail", org, person)).content.decode()

    for shown in (ELSEWHERE, "Auditor", "Engineering", "HR-7", str(status.label)):
        assert shown in page, shown
    for hidden in ("Globex Person", "verified", "Locked until", "Not locked", "active session", "last seen",
                   "never signed in", "Multi-factor", "another organization", 'id="reachable-apps"',
                   url("user-edit", org, person), url("user-email", org, person)):
        assert hidden not in page, hidden
    assert "shown once the membership is active" in page


def test_an_active_member_still_shows_the_account(org_admin_client, org, other_org):
    person = UserFactory(email=ELSEWHERE, full_name="Globex Person", email_verified=True)
    MembershipFactory(org=other_org, user=person)
    MembershipFactory(org=org, user=person)
    lived_in(person)
    page = org_admin_client.get(url("user-detail", org, person)).content.decode()
    for shown in ("Globex Person", "(verified)", "Locked until", "1 active session", "Multi-factor",
                  "also belongs to another organization", 'id="reachable-apps"'):
        assert shown in page, shown


def test_an_invitations_state_and_dates_are_shown(org_admin_client, org, org_admin):
    membership = member_invite(org=org, email=NEW, role="member", actor=org_admin)
    page = org_admin_client.get(url("user-detail", org, membership.user)).content.decode()
    assert "Invitation sent" in page
    assert "expires" in page
    today = timezone.localtime()
    assert f"Invitation sent {today.day} {today:%b %Y}, " in page


def test_invited_members_pages_are_the_same_with_or_without_an_account(org_admin_client, org, other_org, group):
    _invited(org, NEW)
    elsewhere = UserFactory(email=ELSEWHERE, full_name="Globex Person", email_verified=True)
    MembershipFactory(org=other_org, user=elsewhere)
    lived_in(elsewhere)
    _invited(org, ELSEWHERE)
    pages = {}
    for email in (NEW, ELSEWHERE):
        user = User.objects.get(email=email)
        pages[email] = mask(org_admin_client.get(url("user-detail", org, user)).content.decode(), email, user.pk)
    assert pages[NEW] == pages[ELSEWHERE]


def test_account_actions_on_an_invited_member_are_refused_the_same_way(org_admin_client, org, other_org):
    new = _invited(org, NEW)
    new.full_name = "Typed Name"
    new.set_unusable_password()
    new.save()
    elsewhere = UserFactory(email=ELSEWHERE, full_name="Globex Person")
    MembershipFactory(org=other_org, user=elsewhere)
    lived_in(elsewhere)
    _invited(org, ELSEWHERE)
    answers = {}
    for email in (NEW, ELSEWHERE):
        user = User.objects.get(email=email)
        seen = []
        for name in ACCOUNT_ACTIONS:
            response = org_admin_client.post(url(name, org, user))
            seen.append((name, response.status_code, mask(response.get("Location", ""), email, user.pk),
                         mask(flash(response), email)))
        for name in IDENTITY_PAGES:
            for response in (org_admin_client.get(url(name, org, user)),
                             org_admin_client.post(url(name, org, user), {"full_name": "X", "new_email": "x@x.test"})):
                seen.append((name, response.status_code, mask(response.get("Location", ""), email, user.pk),
                             mask(flash(response), email)))
        answers[email] = seen
    assert answers[NEW] == answers[ELSEWHERE]
    assert answers[NEW][0][1] == 302
    assert "once the membership is active" in answers[NEW][0][3]
    assert not AuditEvent.objects.filter(org=org).exists()
    assert not OutboundEmail.objects.exists()
    assert User.objects.get(email=NEW).full_name == "Typed Name"
    assert SignInLock.objects.get(key=signin_key(ELSEWHERE)).locked_until is not None


def test_another_orgs_admin_still_gets_404_on_an_invited_member(other_org_admin_client, org):
    invited = _invited(org, NEW)
    for name in ["user-detail", *IDENTITY_PAGES]:
        assert other_org_admin_client.get(url(name, org, invited)).status_code == 404, name
    for name in ACCOUNT_ACTIONS:
        assert other_org_admin_client.post(url(name, org, invited)).status_code == 404, name


# ------------------------------------------------------------------------------------------ lists


def test_lists_show_no_name_from_elsewhere_for_an_invited_member(org_admin_client, org, other_org, group):
    elsewhere = UserFactory(email=ELSEWHERE, full_name="Globex Person")
    MembershipFactory(org=other_org, user=elsewhere)
    _invited(org, ELSEWHERE)
    GroupMembership.objects.create(group=group, user=elsewhere)
    users = reverse("console:user-list", kwargs={"org_slug": org.slug})

    assert ELSEWHERE in org_admin_client.get(users).content.decode()
    assert "Globex Person" not in org_admin_client.get(users).content.decode()
    # Searching by the name from elsewhere finds nobody, as for a name nobody has.
    found = org_admin_client.get(users, {"q": "Globex"}).content.decode()
    assert ELSEWHERE not in found
    assert ELSEWHERE in org_admin_client.get(users, {"q": "p2@"}).content.decode()
    group_page = org_admin_client.get(reverse("console:group-detail", kwargs={"org_slug": org.slug,
                                                                              "pk": group.pk})).content.decode()
    assert ELSEWHERE in group_page
    assert "Globex Person" not in group_page
    export = b"".join(org_admin_client.get(reverse("console:user-export", kwargs={"org_slug": org.slug}))
                      .streaming_content).decode()
    assert ELSEWHERE in export
    assert "Globex Person" not in export


def test_an_org_group_of_another_org_stays_unseen(org_admin_client, org, other_org):
    foreign = GroupFactory(org=other_org, name="Globex secret")
    person = _invited(org, NEW)
    GroupMembership.objects.create(group=foreign, user=person)
    assert "Globex secret" not in org_admin_client.get(url("user-detail", org, person)).content.decode()
