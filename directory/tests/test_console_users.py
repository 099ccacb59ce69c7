"""The console's users pages: list, invite, detail and actions — who may, tenant isolation, audit rows, bad input."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from directory.models import GroupMembership, User
from directory.selectors import user_cursor_encode
from directory.tests.factories import GroupFactory, GroupMembershipFactory, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from identity.models import OneTimeToken, PasswordChangeRequired
from orgs.models import Membership
from security.models import SignInLock
from security.services import signin_key

pytestmark = pytest.mark.django_db

ACTIONS = ["user-suspend", "user-reactivate", "user-resend-invitation", "user-unlock", "user-password-reset",
           "user-require-password-change", "user-remove"]


def list_url(org, **query):
    url = reverse("console:user-list", kwargs={"org_slug": org.slug})
    if query:
        from urllib.parse import urlencode
        url += "?" + urlencode(query)
    return url


def url(name, org, user):
    return reverse(f"console:{name}", kwargs={"org_slug": org.slug, "pk": user.pk})


def create_url(org):
    return reverse("console:user-create", kwargs={"org_slug": org.slug})


def member(org, email, role="member", status=Membership.Status.ACTIVE, full_name="", **kwargs):
    return MembershipFactory(org=org, role=role, status=status,
                             user=UserFactory(email=email, full_name=full_name, **kwargs)).user


def last_event(action):
    return AuditEvent.objects.filter(action=action).latest("id")


def lock(user, minutes=15):
    SignInLock.objects.create(key=signin_key(user.email), attempts=5, level=1,
                              locked_until=timezone.now() + timedelta(minutes=minutes), updated_at=timezone.now())


def flash(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


@pytest.fixture
def alice(org):
    return member(org, "alice@acme.test", full_name="Alice Archer")


@pytest.fixture
def shared(org, other_org):
    """Someone in Acme and in Globex: their identity is not Acme's to manage."""
    user = member(org, "shared@acme.test", full_name="Sam Shared")
    MembershipFactory(org=other_org, user=user, role="member")
    return user


# ---------------------------------------------------------------- who may see and do what


@pytest.mark.parametrize(("role", "expected"), [("owner", 200), ("admin", 200), ("auditor", 200), ("member", 403)])
def test_list_and_detail_by_role(client, sign_in, org, alice, role, expected):
    signed_in = sign_in(member(org, f"{role}-x@acme.test", role=role))
    assert signed_in.get(list_url(org)).status_code == expected
    assert signed_in.get(url("user-detail", org, alice)).status_code == expected


def test_sidebar_links_to_users_for_console_roles(org_admin_client, org):
    page = org_admin_client.get(reverse("console:org-overview", kwargs={"org_slug": "acme"})).content.decode()
    assert list_url(org) in page


def test_anonymous_is_sent_to_sign_in(client, org, alice):
    response = client.get(list_url(org))
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def _every_url(org, user):
    gets = [list_url(org), create_url(org), url("user-detail", org, user), url("user-edit", org, user),
            url("user-remove", org, user)]
    posts = [create_url(org), url("user-edit", org, user)] + [url(name, org, user) for name in ACTIONS]
    return gets, posts


def test_another_orgs_admin_gets_404_everywhere(other_org_admin_client, org, alice):
    gets, posts = _every_url(org, alice)
    for address in gets:
        assert other_org_admin_client.get(address).status_code == 404, address
    for address in posts:
        assert other_org_admin_client.post(address, {"email": "x@y.test", "role": "member",
                                                      "full_name": "X"}).status_code == 404, address
    assert Membership.objects.get(user=alice).status == Membership.Status.ACTIVE
    assert not AuditEvent.objects.filter(org=org).exists()


def test_a_user_of_another_org_is_404_here(org_admin_client, org, other_org):
    stranger = member(other_org, "stranger@globex.test")
    for address in [url("user-detail", org, stranger), url("user-edit", org, stranger),
                    url("user-remove", org, stranger)]:
        assert org_admin_client.get(address).status_code == 404
    for name in ACTIONS + ["user-edit"]:
        assert org_admin_client.post(url(name, org, stranger), {"full_name": "Pwned"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.full_name != "Pwned"
    assert Membership.objects.get(user=stranger).status == Membership.Status.ACTIVE


@pytest.mark.parametrize("pk", ["0", "99999999", "99999999999999999999999999"])
def test_junk_user_ids_are_404(org_admin_client, org, pk):
    base = list_url(org)
    assert org_admin_client.get(f"{base}{pk}/").status_code == 404
    assert org_admin_client.post(f"{base}{pk}/suspend").status_code == 404
    assert org_admin_client.get(f"{base}not-a-number/").status_code == 404


def test_auditor_reads_but_every_write_is_403(client, sign_in, org, org_auditor, alice):
    signed_in = sign_in(org_auditor)
    assert signed_in.get(url("user-detail", org, alice)).status_code == 200
    gets, posts = _every_url(org, alice)
    for address in [create_url(org), url("user-edit", org, alice), url("user-remove", org, alice)]:
        assert signed_in.get(address).status_code == 403, address
    for address in posts:
        assert signed_in.post(address, {"email": "x@acme.test", "role": "member"}).status_code == 403, address
    assert not AuditEvent.objects.exists()


def test_auditor_sees_no_action_buttons(client, sign_in, org, org_auditor, alice):
    page = sign_in(org_auditor).get(url("user-detail", org, alice)).content.decode()
    assert "Suspend membership" not in page
    listing = sign_in(org_auditor).get(list_url(org)).content.decode()
    assert "Invite a user" not in listing
    assert "Import users (CSV)" not in listing
    # Auditors read the directory, so they may export it.
    assert f'href="/console/{org.slug}/imports/export.csv' in listing


def test_the_list_links_to_import_and_to_an_export_of_the_same_filter(org_admin_client, org):
    page = org_admin_client.get(list_url(org, status="active")).content.decode()
    assert f'href="/console/{org.slug}/imports/new"' in page
    assert f'href="/console/{org.slug}/imports/export.csv?status=active' in page


def test_actions_are_post_only(org_admin_client, org, alice):
    # Suspending answers GET with its confirmation page only (directory/tests/test_confirmations.py).
    assert org_admin_client.get(url("user-suspend", org, alice)).status_code == 200
    assert org_admin_client.get(url("user-reactivate", org, alice)).status_code == 405
    assert Membership.objects.get(user=alice).status == Membership.Status.ACTIVE


def test_actions_need_csrf(org, org_admin, alice):
    from identity.services import session_sign_in_for_tests

    strict = Client(enforce_csrf_checks=True)
    session_sign_in_for_tests(client=strict, user=org_admin)
    assert strict.post(url("user-suspend", org, alice), {"confirmed": "1"}).status_code == 403
    assert Membership.objects.get(user=alice).status == Membership.Status.ACTIVE


# ---------------------------------------------------------------- the list


def test_list_shows_only_this_orgs_members(org_admin_client, org, other_org, alice):
    member(other_org, "bob@globex.test")
    page = org_admin_client.get(list_url(org)).content.decode()
    assert "alice@acme.test" in page
    assert "bob@globex.test" not in page
    assert url("user-detail", org, alice) in page


def test_search_by_email_or_name_prefix_ignores_case(org_admin_client, org, alice):
    member(org, "zed@acme.test", full_name="Zed Zimmer")
    page = org_admin_client.get(list_url(org, q="ALI")).content.decode()
    assert "alice@acme.test" in page
    assert "zed@acme.test" not in page
    page = org_admin_client.get(list_url(org, q="zed z")).content.decode()
    assert "zed@acme.test" in page
    assert "alice@acme.test" not in page
    # A prefix, not a substring.
    page = org_admin_client.get(list_url(org, q="lice")).content.decode()
    assert "alice@acme.test" not in page


def test_filter_by_status_role_and_group(org_admin_client, org, alice, group):
    member(org, "invited@acme.test", status=Membership.Status.INVITED)
    member(org, "auditor2@acme.test", role="auditor")
    GroupMembershipFactory(group=group, user=alice)
    page = org_admin_client.get(list_url(org, status="invited")).content.decode()
    assert "invited@acme.test" in page
    assert "alice@acme.test" not in page
    page = org_admin_client.get(list_url(org, role="auditor")).content.decode()
    assert "auditor2@acme.test" in page
    assert "alice@acme.test" not in page
    page = org_admin_client.get(list_url(org, group=group.pk)).content.decode()
    assert "alice@acme.test" in page
    assert "auditor2@acme.test" not in page


def test_bad_filters_are_field_errors_not_500(org_admin_client, org, other_org, alice):
    foreign_group = GroupFactory(org=other_org, name="Globex secret")
    for query in [{"status": "nope"}, {"role": "god"}, {"group": foreign_group.pk}, {"group": "junk"},
                  {"sort": "password"}, {"after": "!!!"}, {"after": "WzEsMl0"},
                  {"sort": "created", "after": "WyJ4IiwxXQ"}]:
        response = org_admin_client.get(list_url(org, **query))
        assert response.status_code == 200, query
    page = org_admin_client.get(list_url(org, group=foreign_group.pk)).content.decode()
    assert "Select a valid choice" in page
    assert "Globex secret" not in page


def test_group_filter_offers_only_this_orgs_groups(org_admin_client, org, other_org, group):
    GroupFactory(org=other_org, name="Globex secret")
    page = org_admin_client.get(list_url(org)).content.decode()
    assert "Engineering" in page
    assert "Globex secret" not in page


@pytest.mark.parametrize("sort", ["email", "name", "created"])
def test_keyset_pages_walk_every_member_once_with_bounded_queries(org_admin_client, org, org_admin, sort,
                                                                   django_assert_max_num_queries):
    base = timezone.now()
    for i in range(119):
        # Equal names and times on purpose: the pk breaks ties.
        MembershipFactory(org=org, user=UserFactory(email=f"u{i:03d}@acme.test", full_name=f"N{i % 7}"),
                          created_at=base - timedelta(minutes=i % 5))
    seen, query, pages = [], {"sort": sort}, 0
    while True:
        with django_assert_max_num_queries(10):
            response = org_admin_client.get(list_url(org, **query))
        rows = response.context["rows"]
        assert len(rows) <= 50
        seen += [m.pk for m, _ in rows]
        pages += 1
        if not response.context["next_page_query"]:
            break
        query = dict(pair.split("=", 1) for pair in response.context["next_page_query"].split("&"))
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == set(Membership.objects.for_org(org).values_list("pk", flat=True))


def test_cursor_survives_the_members_row_going_away(org_admin_client, org, alice):
    bob = member(org, "bob@acme.test")
    cursor = user_cursor_encode(Membership.objects.get(user=alice), "email")
    Membership.objects.filter(user=alice).delete()
    page = org_admin_client.get(list_url(org, after=cursor)).content.decode()
    assert bob.email in page


# ---------------------------------------------------------------- invite a user


def test_invite_a_new_person(org_admin_client, org, group):
    response = org_admin_client.post(create_url(org), {"email": "New.Hire@ACME.test", "full_name": " Nia Hire ",
                                                       "role": "member", "groups": [group.pk]})
    user = User.objects.get(email__iexact="new.hire@acme.test")
    assert response.status_code == 302
    assert response["Location"] == url("user-detail", org, user)
    assert user.full_name == "Nia Hire"
    assert not user.has_usable_password()
    membership = Membership.objects.get(org=org, user=user)
    assert membership.status == Membership.Status.INVITED
    assert membership.role == "member"
    assert GroupMembership.objects.filter(group=group, user=user).exists()
    email = OutboundEmail.objects.get(kind="invitation")
    assert email.recipient == user.email
    assert email.org == org
    assert "you will choose a password" in email.body_text
    event = last_event("invitation.sent")
    assert event.org == org
    assert event.actor.email == "admin@acme.test"
    assert "new_account" not in event.metadata
    assert event.metadata["groups"] == ["engineering"]


def test_invite_an_existing_account_only_offers_a_membership(org_admin_client, org, other_org):
    existing = member(other_org, "known@globex.test", full_name="Kept Name")
    password_before = existing.password
    org_admin_client.post(create_url(org), {"email": "KNOWN@globex.test", "full_name": "Overwritten",
                                            "role": "member"})
    existing.refresh_from_db()
    assert existing.password == password_before
    assert existing.full_name == "Kept Name"
    assert Membership.objects.get(org=org, user=existing).status == Membership.Status.INVITED
    email = OutboundEmail.objects.get(kind="invitation")
    assert "your password stays as it is" in email.body_text
    assert "new_account" not in last_event("invitation.sent").metadata
    assert not AuditEvent.objects.filter(action="user.created").exists()


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"email": "not-an-email", "role": "member"}, "Enter a valid email address."),
        ({"email": "", "role": "member"}, "This field is required."),
        ({"email": "x@acme.test", "role": "god"}, "Select a valid choice."),
        ({"email": "x@acme.test", "role": "member", "groups": ["junk"]}, "is not a valid value"),
        ({"email": "x@acme.test", "role": "member", "full_name": "x" * 201}, "at most 200 characters"),
    ],
)
def test_invite_bad_input_rerenders_with_errors(org_admin_client, org, data, field_error):
    response = org_admin_client.post(create_url(org), data)
    assert response.status_code == 200
    assert field_error in response.content.decode()
    assert not Membership.objects.filter(user__email="x@acme.test").exists()
    assert not OutboundEmail.objects.exists()


def test_invite_refuses_another_orgs_group(org_admin_client, org, other_org):
    foreign = GroupFactory(org=other_org, name="Globex secret")
    response = org_admin_client.post(create_url(org), {"email": "x@acme.test", "role": "member",
                                                       "groups": [foreign.pk]})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(email="x@acme.test").exists()


def test_invite_offers_only_this_orgs_groups(org_admin_client, org, other_org, group):
    GroupFactory(org=other_org, name="Globex secret")
    page = org_admin_client.get(create_url(org)).content.decode()
    assert "Engineering" in page
    assert "Globex secret" not in page


def test_invite_an_existing_member_is_a_form_error(org_admin_client, org, alice):
    response = org_admin_client.post(create_url(org), {"email": "ALICE@acme.test", "role": "member"})
    assert response.status_code == 200
    assert "already a member" in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_invite_twice_says_resend_instead(org_admin_client, org):
    org_admin_client.post(create_url(org), {"email": "x@acme.test", "role": "member"})
    response = org_admin_client.post(create_url(org), {"email": "x@acme.test", "role": "member"})
    assert "resend the invitation instead" in response.content.decode()
    assert OutboundEmail.objects.count() == 1


def test_invite_an_operator_reads_like_any_invitation(org_admin_client, org, operator):
    # The admin must not learn the address is an operator's (issue #10); the operator cannot accept.
    response = org_admin_client.post(create_url(org), {"email": operator.email, "role": "member"})
    assert response.status_code == 302
    assert response["Location"] == url("user-detail", org, operator)
    assert "Invited operator@example.com: the invitation is on its way." in flash(response)
    assert Membership.objects.get(org=org, user=operator).status == Membership.Status.INVITED
    assert OutboundEmail.objects.get(kind="invitation").recipient == operator.email


def test_only_owners_may_invite_an_owner(client, sign_in, org, org_admin, org_owner):
    admin = sign_in(org_admin)
    assert 'value="owner"' not in admin.get(create_url(org)).content.decode()
    response = admin.post(create_url(org), {"email": "boss@acme.test", "role": "owner"})
    assert response.status_code == 200
    assert not User.objects.filter(email="boss@acme.test").exists()
    owner = sign_in(org_owner, Client())
    owner.post(create_url(org), {"email": "boss@acme.test", "role": "owner"})
    assert Membership.objects.get(user__email="boss@acme.test").role == "owner"


# ---------------------------------------------------------------- detail


def test_detail_shows_profile_this_orgs_membership_groups_and_events(org_admin_client, org, other_org, shared,
                                                                     group):
    GroupMembershipFactory(group=group, user=shared)
    GroupMembershipFactory(group=GroupFactory(org=other_org, name="Globex secret group"), user=shared)
    AuditEvent.objects.create(org=org, action="user.updated", target_type="directory.user",
                              target_id=str(shared.pk), target_label=shared.email)
    AuditEvent.objects.create(org=other_org, action="user.secret_globex_thing", target_type="directory.user",
                              target_id=str(shared.pk))
    page = org_admin_client.get(url("user-detail", org, shared)).content.decode()
    assert "Sam Shared" in page
    assert "shared@acme.test" in page
    assert "Engineering" in page
    assert "user.updated" in page
    assert "Globex" not in page
    assert "user.secret_globex_thing" not in page
    assert "Not locked" in page


def test_detail_shows_a_lock(org_admin_client, org, alice):
    lock(alice)
    assert "Locked until" in org_admin_client.get(url("user-detail", org, alice)).content.decode()


def test_identity_actions_are_disabled_with_a_reason_for_a_shared_user(org_admin_client, org, shared, alice):
    page = org_admin_client.get(url("user-detail", org, shared)).content.decode()
    assert "is a platform operator's to manage" in page
    assert 'disabled aria-describedby="account-actions-why"' in page
    assert url("user-edit", org, shared) not in page
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert "platform operator's to manage" not in page
    assert url("user-edit", org, alice) in page


def test_detail_query_count_is_bounded(org_admin_client, org, alice, django_assert_max_num_queries):
    for i in range(30):
        AuditEvent.objects.create(org=org, action="user.updated", target_type="directory.user",
                                  target_id=str(alice.pk), actor=alice)
    with django_assert_max_num_queries(14):  # + reachable applications, + sessions summary, + MFA counts
        assert org_admin_client.get(url("user-detail", org, alice)).status_code == 200


# ---------------------------------------------------------------- membership actions


def test_suspend_and_reactivate(org_admin_client, org, alice):
    response = org_admin_client.post(url("user-suspend", org, alice), {"confirmed": "1"})
    assert response["Location"] == url("user-detail", org, alice)
    assert Membership.objects.get(user=alice).status == Membership.Status.SUSPENDED
    event = last_event("membership.suspended")
    assert event.org == org
    assert event.metadata["user"] == alice.email
    org_admin_client.post(url("user-reactivate", org, alice))
    assert Membership.objects.get(user=alice).status == Membership.Status.ACTIVE
    assert last_event("membership.reactivated").org == org
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert "membership.suspended" in page
    assert "membership.reactivated" in page


def test_suspending_an_invitation_is_a_message_not_a_500(org_admin_client, org):
    invited = member(org, "inv@acme.test", status=Membership.Status.INVITED)
    response = org_admin_client.post(url("user-suspend", org, invited), {"confirmed": "1"}, follow=True)
    assert response.status_code == 200
    assert "remove it instead" in response.content.decode()


def test_last_owner_cannot_be_suspended_or_removed(client, sign_in, org, org_owner):
    owner = sign_in(org_owner)
    response = owner.post(url("user-suspend", org, org_owner), {"confirmed": "1"}, follow=True)
    assert response.status_code == 200
    assert "last active owner" in response.content.decode()
    response = owner.post(url("user-remove", org, org_owner), follow=True)
    assert "last active owner" in response.content.decode()
    assert Membership.objects.get(user=org_owner).status == Membership.Status.ACTIVE


def test_admins_cannot_act_on_owners(client, sign_in, org, org_admin, org_owner):
    admin = sign_in(org_admin)
    assert "Only an owner can change" in admin.get(url("user-detail", org, org_owner)).content.decode()
    for name in ACTIONS:
        assert admin.post(url(name, org, org_owner)).status_code == 403, name
    assert admin.get(url("user-remove", org, org_owner)).status_code == 403
    assert admin.post(url("user-edit", org, org_owner), {"full_name": "X"}).status_code == 403
    assert Membership.objects.filter(user=org_owner, status="active").exists()


def test_remove_asks_first_then_removes(org_admin_client, org, alice, group):
    GroupMembershipFactory(group=group, user=alice)
    page = org_admin_client.get(url("user-remove", org, alice)).content.decode()
    assert "Remove alice@acme.test from Acme Corp?" in page
    assert "Engineering" in page
    assert Membership.objects.filter(user=alice).exists()
    response = org_admin_client.post(url("user-remove", org, alice))
    assert response["Location"] == list_url(org)
    assert not Membership.objects.filter(user=alice).exists()
    assert not GroupMembership.objects.filter(user=alice).exists()
    assert User.objects.filter(pk=alice.pk).exists()
    event = last_event("membership.removed")
    assert event.org == org
    assert event.metadata["groups_left"] == 1
    assert org_admin_client.get(url("user-detail", org, alice)).status_code == 404


def test_resend_invitation_voids_the_old_link(org_admin_client, org):
    org_admin_client.post(create_url(org), {"email": "inv@acme.test", "role": "member"})
    invited = User.objects.get(email="inv@acme.test")
    first = OneTimeToken.objects.get(user=invited)
    org_admin_client.post(url("user-resend-invitation", org, invited))
    assert OutboundEmail.objects.filter(kind="invitation", recipient="inv@acme.test").count() == 2
    assert last_event("invitation.resent").org == org
    first.refresh_from_db()
    assert first.voided_at is not None
    assert OneTimeToken.objects.filter(user=invited, voided_at__isnull=True).count() == 1


def test_resend_to_an_active_member_is_a_message(org_admin_client, org, alice):
    response = org_admin_client.post(url("user-resend-invitation", org, alice), follow=True)
    assert "already accepted" in response.content.decode()
    assert not OutboundEmail.objects.exists()


# ---------------------------------------------------------------- identity-level actions


def test_unlock(org_admin_client, org, alice):
    lock(alice)
    response = org_admin_client.post(url("user-unlock", org, alice))
    assert "Unlocked" in flash(response)
    assert SignInLock.objects.get(key=signin_key(alice.email)).locked_until is None
    event = last_event("account.unlocked")
    assert event.org == org
    assert event.metadata["was_locked"] is True


def test_password_reset_email(org_admin_client, org, alice):
    org_admin_client.post(url("user-password-reset", org, alice))
    email = OutboundEmail.objects.get(kind="password_reset")
    assert email.recipient == alice.email
    assert email.org == org
    event = last_event("password.reset_requested")
    assert event.org == org
    assert event.metadata["by_admin"] is True


def test_require_password_change(org_admin_client, org, alice):
    org_admin_client.post(url("user-require-password-change", org, alice))
    assert PasswordChangeRequired.objects.filter(user=alice).exists()
    assert last_event("password.change_required").org == org


def test_edit_profile(org_admin_client, org, alice):
    assert org_admin_client.get(url("user-edit", org, alice)).status_code == 200
    response = org_admin_client.post(url("user-edit", org, alice), {"full_name": "  Alice Abbott "})
    assert response["Location"] == url("user-detail", org, alice)
    alice.refresh_from_db()
    assert alice.full_name == "Alice Abbott"
    event = last_event("user.updated")
    assert event.org == org
    assert event.target_id == str(alice.pk)
    assert event.metadata["before"] == {"full_name": "Alice Archer"}
    assert event.metadata["after"] == {"full_name": "Alice Abbott"}


def test_edit_profile_too_long_is_a_field_error(org_admin_client, org, alice):
    response = org_admin_client.post(url("user-edit", org, alice), {"full_name": "x" * 201})
    assert response.status_code == 200
    assert "at most 200 characters" in response.content.decode()
    assert not AuditEvent.objects.filter(action="user.updated").exists()


@pytest.mark.parametrize("name", ["user-unlock", "user-password-reset", "user-require-password-change"])
def test_identity_actions_refused_for_a_user_of_several_orgs(org_admin_client, org, shared, name):
    lock(shared)
    response = org_admin_client.post(url(name, org, shared), follow=True)
    assert response.status_code == 200
    assert "also belongs to another organization" in response.content.decode()
    assert not OutboundEmail.objects.exists()
    assert not PasswordChangeRequired.objects.exists()
    assert SignInLock.objects.get(key=signin_key(shared.email)).locked_until is not None
    assert not AuditEvent.objects.exists()


def test_profile_edit_refused_for_a_user_of_several_orgs(org_admin_client, org, shared):
    page = org_admin_client.get(url("user-edit", org, shared)).content.decode()
    assert "only a platform operator can edit" in page
    response = org_admin_client.post(url("user-edit", org, shared), {"full_name": "Pwned"})
    assert response.status_code == 200
    assert "also belongs to another organization" in response.content.decode()
    shared.refresh_from_db()
    assert shared.full_name == "Sam Shared"


def test_operator_can_use_the_pages(operator_client, org, alice):
    assert operator_client.get(list_url(org)).status_code == 200
    operator_client.post(url("user-suspend", org, alice), {"confirmed": "1"})
    assert Membership.objects.get(user=alice).status == Membership.Status.SUSPENDED


# --- role changes -------------------------------------------------------------------------------


def _role_url(org, user):
    return f"/console/{org.slug}/users/{user.pk}/role"


def test_admin_changes_a_members_role_and_it_is_audited(org_admin_client, org, org_admin, org_member):
    response = org_admin_client.post(_role_url(org, org_member), {"role": "auditor"}, follow=True)
    assert "member@acme.test is now auditor." in response.content.decode()
    assert Membership.objects.get(org=org, user=org_member).role == "auditor"
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert event.actor == org_admin
    assert event.metadata == {"user": "member@acme.test", "before": "member", "after": "auditor"}


def test_admin_cannot_grant_owner(org_admin_client, org, org_member):
    response = org_admin_client.post(_role_url(org, org_member), {"role": "owner"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    assert Membership.objects.get(org=org, user=org_member).role == "member"


def test_admin_cannot_demote_an_owner(org_admin_client, org, org_owner):
    response = org_admin_client.post(_role_url(org, org_owner), {"role": "member"})
    assert response.status_code == 403
    assert Membership.objects.get(org=org, user=org_owner).role == "owner"


def test_owner_grants_owner_but_the_last_owner_cannot_step_down(client, sign_in, org, org_owner, org_member):
    owner_client = sign_in(org_owner)
    refused = owner_client.post(_role_url(org, org_owner), {"role": "admin"}, follow=True)
    assert "last active owner" in refused.content.decode()
    assert Membership.objects.get(org=org, user=org_owner).role == "owner"
    owner_client.post(_role_url(org, org_member), {"role": "owner"})
    assert Membership.objects.get(org=org, user=org_member).role == "owner"
    owner_client.post(_role_url(org, org_owner), {"role": "admin"})
    assert Membership.objects.get(org=org, user=org_owner).role == "admin"


def test_auditor_cannot_change_roles(client, sign_in, org, org_auditor, org_member):
    assert sign_in(org_auditor).post(_role_url(org, org_member), {"role": "admin"}).status_code == 403
    assert Membership.objects.get(org=org, user=org_member).role == "member"


def test_another_orgs_admin_gets_404_on_role_change(other_org_admin_client, org, org_member):
    assert other_org_admin_client.post(_role_url(org, org_member), {"role": "admin"}).status_code == 404
    assert Membership.objects.get(org=org, user=org_member).role == "member"


def test_junk_role_is_refused_cleanly(org_admin_client, org, org_member):
    response = org_admin_client.post(_role_url(org, org_member), {"role": "emperor"}, follow=True)
    assert response.status_code == 200
    assert Membership.objects.get(org=org, user=org_member).role == "member"
