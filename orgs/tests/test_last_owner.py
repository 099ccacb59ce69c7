"""The owner rules on every path: the last active owner is never demoted, suspended or removed, and
only owners (operators, the system) grant or take away the owner role — console, services, commands."""

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from config.exceptions import NotAllowed
from directory.models import User
from directory.tests.factories import MembershipFactory
from orgs.models import Membership
from orgs.services import (
    member_invite,
    membership_create,
    membership_reactivate,
    membership_remove,
    membership_role_change,
    membership_suspend,
    owner_role_actor_check,
)

pytestmark = pytest.mark.django_db

LAST_OWNER = "is the last active owner of Acme Corp"
OWNERS_ONLY = "Only an owner of Acme Corp can grant or take away the owner role."


def _url(member: Membership, action: str) -> str:
    return f"/console/acme/users/{member.user_id}/{action}"


def _state(membership: Membership) -> tuple[str, str] | None:
    row = Membership.objects.filter(pk=membership.pk).values_list("role", "status").first()
    return tuple(row) if row else None


@pytest.fixture
def owner(org):
    """The one and only owner of acme."""
    return Membership.objects.get(pk=MembershipFactory(org=org, role=Membership.Role.OWNER).pk)


@pytest.fixture
def admin(org):
    return MembershipFactory(org=org, role=Membership.Role.ADMIN)


# ---------------------------------------------------------------- console POSTs


# Suspending asks first (docs/confirmations.md): these are the confirmed POSTs.
@pytest.mark.parametrize(("action", "data"), [("role", {"role": "admin"}), ("suspend", {"confirmed": "1"}),
                                              ("remove", {})])
def test_the_last_owner_cannot_take_themselves_out_in_the_console(client, sign_in, owner, action, data):
    sign_in(owner.user)

    response = client.post(_url(owner, action), data, follow=True)

    assert response.status_code == 200
    assert LAST_OWNER in response.content.decode()
    assert _state(owner) == ("owner", "active")
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


@pytest.mark.parametrize(("action", "data"), [("role", {"role": "member"}), ("suspend", {"confirmed": "1"}),
                                              ("remove", {})])
def test_an_operator_cannot_take_out_the_last_owner_either(operator_client, owner, action, data):
    response = operator_client.post(_url(owner, action), data, follow=True)

    assert LAST_OWNER in response.content.decode()
    assert _state(owner) == ("owner", "active")


@pytest.mark.parametrize(("action", "data"), [("role", {"role": "member"}), ("suspend", {"confirmed": "1"}),
                                              ("remove", {}), ("reactivate", {})])
def test_an_admin_cannot_act_on_an_owner_in_the_console(client, sign_in, owner, admin, action, data):
    MembershipFactory(org=owner.org, role=Membership.Role.OWNER)  # not the last: the admin rule alone refuses
    sign_in(admin.user)

    response = client.post(_url(owner, action), data)

    assert response.status_code == 403
    assert _state(owner) == ("owner", "active")


def test_an_admin_cannot_grant_the_owner_role_in_the_console(client, sign_in, owner, admin):
    member = MembershipFactory(org=owner.org)
    sign_in(admin.user)

    page = client.post(_url(member, "role"), {"role": "owner"}, follow=True).content.decode()

    assert "Select a valid choice" in page
    assert _state(member) == ("member", "active")


def test_an_owner_hands_over_then_steps_down_in_the_console(client, sign_in, owner):
    other = MembershipFactory(org=owner.org, role=Membership.Role.ADMIN)
    sign_in(owner.user)

    client.post(_url(other, "role"), {"role": "owner"})
    client.post(_url(owner, "role"), {"role": "admin"})

    assert (_state(other), _state(owner)) == (("owner", "active"), ("admin", "active"))
    assert AuditEvent.objects.filter(action="membership.role_changed").count() == 2


# ---------------------------------------------------------------- services


@pytest.mark.parametrize("actor", ["none", "operator", "self"])
def test_no_actor_may_demote_suspend_or_remove_the_last_owner(owner, operator, actor):
    who = {"none": None, "operator": operator, "self": owner.user}[actor]
    for call in (lambda: membership_role_change(membership=owner, role="admin", actor=who),
                 lambda: membership_suspend(membership=owner, actor=who),
                 lambda: membership_remove(membership=owner, actor=who)):
        with pytest.raises(NotAllowed, match=LAST_OWNER):
            call()
    assert _state(owner) == ("owner", "active")
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_an_owner_with_a_disabled_account_does_not_count(owner):
    MembershipFactory(org=owner.org, role=Membership.Role.OWNER, user__status=User.Status.DISABLED)
    with pytest.raises(NotAllowed, match=LAST_OWNER):
        membership_suspend(membership=owner, actor=None)


@pytest.mark.parametrize("status", [Membership.Status.SUSPENDED, Membership.Status.INVITED])
def test_an_owner_not_in_force_does_not_count(owner, status):
    MembershipFactory(org=owner.org, role=Membership.Role.OWNER, status=status)
    with pytest.raises(NotAllowed, match=LAST_OWNER):
        membership_role_change(membership=owner, role="member", actor=owner.user)


def test_with_a_second_owner_the_first_may_step_down(owner):
    MembershipFactory(org=owner.org, role=Membership.Role.OWNER)
    membership_role_change(membership=owner, role="admin", actor=owner.user)
    assert _state(owner) == ("admin", "active")
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert (event.actor, event.metadata["before"], event.metadata["after"]) == (owner.user, "owner", "admin")


def test_an_admin_may_not_grant_or_take_away_the_owner_role(owner, admin):
    second = MembershipFactory(org=owner.org, role=Membership.Role.OWNER)
    member = MembershipFactory(org=owner.org)
    refused = [
        lambda: membership_role_change(membership=member, role="owner", actor=admin.user),
        lambda: membership_role_change(membership=admin, role="owner", actor=admin.user),  # not themselves
        lambda: membership_role_change(membership=second, role="member", actor=admin.user),
        lambda: membership_suspend(membership=second, actor=admin.user),
        lambda: membership_remove(membership=second, actor=admin.user),
    ]
    for call in refused:
        with pytest.raises(NotAllowed, match=OWNERS_ONLY) as error:
            call()
        assert error.value.field == "role"
    assert (_state(member), _state(admin), _state(second)) == (
        ("member", "active"), ("admin", "active"), ("owner", "active"))
    assert not AuditEvent.objects.filter(action__startswith="membership.").exists()


def test_a_suspended_owner_cannot_grant_the_owner_role(owner):
    suspended = MembershipFactory(org=owner.org, role=Membership.Role.OWNER, status=Membership.Status.SUSPENDED)
    member = MembershipFactory(org=owner.org)
    with pytest.raises(NotAllowed, match=OWNERS_ONLY):
        membership_role_change(membership=member, role="owner", actor=suspended.user)


def test_an_owner_of_another_org_cannot_grant_the_owner_role(owner, other_org):
    stranger = MembershipFactory(org=other_org, role=Membership.Role.OWNER)
    member = MembershipFactory(org=owner.org)
    with pytest.raises(NotAllowed, match=OWNERS_ONLY):
        membership_role_change(membership=member, role="owner", actor=stranger.user)


def test_an_admin_may_still_change_other_roles(owner, admin):
    member = MembershipFactory(org=owner.org)
    membership_role_change(membership=member, role="auditor", actor=admin.user)
    assert _state(member) == ("auditor", "active")


def test_an_admin_cannot_reactivate_a_suspended_owner(owner, admin):
    suspended = MembershipFactory(org=owner.org, role=Membership.Role.OWNER, status=Membership.Status.SUSPENDED)
    with pytest.raises(NotAllowed, match=OWNERS_ONLY):
        membership_reactivate(membership=suspended, actor=admin.user)
    membership_reactivate(membership=suspended, actor=owner.user)
    assert _state(suspended) == ("owner", "active")


def test_an_admin_cannot_create_or_invite_an_owner(owner, admin):
    newcomer = MembershipFactory(org=owner.org).user  # any account; the membership below is in another call
    Membership.objects.filter(user=newcomer).delete()
    with pytest.raises(NotAllowed, match=OWNERS_ONLY):
        membership_create(org=owner.org, user=newcomer, role="owner", actor=admin.user)
    with pytest.raises(NotAllowed, match=OWNERS_ONLY):
        member_invite(org=owner.org, email="new-owner@example.test", role="owner", actor=admin.user)
    assert not Membership.objects.filter(user__email__in=[newcomer.email, "new-owner@example.test"]).exists()
    member_invite(org=owner.org, email="new-owner@example.test", role="owner", actor=owner.user)
    assert Membership.objects.get(user__email="new-owner@example.test").role == "owner"


def test_the_check_for_importers(owner, admin, operator):
    owner_role_actor_check(org=owner.org, actor=owner.user)
    owner_role_actor_check(org=owner.org, actor=operator)
    owner_role_actor_check(org=owner.org, actor=None)
    with pytest.raises(NotAllowed):
        owner_role_actor_check(org=owner.org, actor=admin.user)


# ---------------------------------------------------------------- commands


def test_create_user_cannot_change_an_existing_owners_role(owner):
    with pytest.raises(CommandError) as refused:
        call_command("create_user", owner.user.email, "--org", "acme", "--role", "member", "--password", "x" * 20)
    assert refused.value.returncode == 2
    assert _state(owner) == ("owner", "active")
    assert Membership.objects.filter(user=owner.user).count() == 1


def test_create_user_without_password_cannot_change_an_existing_owners_role(owner):
    with pytest.raises(CommandError):
        call_command("create_user", owner.user.email, "--org", "acme", "--role", "member")
    assert _state(owner) == ("owner", "active")


def test_seed_demo_never_changes_an_existing_membership(db, capsys):
    call_command("seed_demo", "--force")
    owners = list(Membership.objects.filter(role=Membership.Role.OWNER).values_list("pk", "role", "status"))
    assert owners

    call_command("seed_demo", "--force")

    assert list(Membership.objects.filter(role=Membership.Role.OWNER)
                .values_list("pk", "role", "status")) == owners
