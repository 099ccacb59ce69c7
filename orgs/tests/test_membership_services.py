"""Suspending, reactivating and removing memberships, and suspending an org: tokens go, owners stay."""

import pytest

from applications.tests.token_factories import build_world, issue_tokens
from audit.models import AuditEvent
from config.exceptions import NotAllowed
from directory.models import GroupMembership, User
from directory.tests.factories import GroupFactory, GroupMembershipFactory, MembershipFactory, UserFactory
from orgs.models import Membership, Organization
from orgs.services import (
    membership_reactivate,
    membership_remove,
    membership_suspend,
    organization_reactivate,
    organization_suspend,
)

pytestmark = pytest.mark.django_db

EVERYONE = {"alice@acme_web", "alice@globex_web", "bob@acme_web", "olive@acme_web", "greta@globex_web",
            "acme_machine"}


@pytest.fixture
def world():
    return build_world()


def _status(membership: Membership) -> str:
    return Membership.objects.get(pk=membership.pk).status


# --- membership_suspend ---------------------------------------------------------------------------


def test_suspending_revokes_the_users_tokens_for_that_org_only(world, operator):
    membership = membership_suspend(membership=world.memberships["alice@acme"], actor=operator,
                                    reason="left the project")

    assert membership.status == Membership.Status.SUSPENDED
    assert _status(membership) == Membership.Status.SUSPENDED
    assert world.revoked() == {"alice@acme_web"}
    assert world.live() == EVERYONE - {"alice@acme_web"}
    event = AuditEvent.objects.get(action="membership.suspended")
    assert event.actor == operator
    assert event.org == world.acme
    assert event.target_id == str(membership.pk)
    assert event.metadata == {"user": "alice@example.test", "role": "member", "before": "active",
                              "after": "suspended", "reason": "left the project", "tokens_revoked": 4,
                              "sessions_ended": 0}


def test_suspending_a_suspended_membership_writes_nothing(world, operator):
    membership_suspend(membership=world.memberships["alice@acme"], actor=operator)
    later = issue_tokens(application=world.acme_web, user=world.alice)

    membership_suspend(membership=world.memberships["alice@acme"], actor=operator)

    assert AuditEvent.objects.filter(action="membership.suspended").count() == 1
    assert later.is_live()


def test_an_invitation_cannot_be_suspended(world, operator):
    invited = MembershipFactory(org=world.acme, status=Membership.Status.INVITED)

    with pytest.raises(NotAllowed, match="not accepted the invitation"):
        membership_suspend(membership=invited, actor=operator)

    assert _status(invited) == Membership.Status.INVITED
    assert not AuditEvent.objects.filter(action="membership.suspended").exists()


@pytest.mark.parametrize("actor_is_operator", [True, False])
def test_the_last_active_owner_cannot_be_suspended_even_by_an_operator(world, operator, actor_is_operator):
    actor = operator if actor_is_operator else world.olive
    owner = world.memberships["olive@acme"]

    with pytest.raises(NotAllowed, match="last active owner of Acme Corp"):
        membership_suspend(membership=owner, actor=actor)

    assert _status(owner) == Membership.Status.ACTIVE
    assert world.live() == EVERYONE
    assert not AuditEvent.objects.filter(action="membership.suspended").exists()


def test_an_owner_may_be_suspended_while_another_active_owner_remains(world, operator):
    MembershipFactory(org=world.acme, role=Membership.Role.OWNER)

    membership_suspend(membership=world.memberships["olive@acme"], actor=operator)

    assert _status(world.memberships["olive@acme"]) == Membership.Status.SUSPENDED
    assert world.revoked() == {"olive@acme_web"}


@pytest.mark.parametrize(
    ("membership_status", "user_status"),
    [(Membership.Status.SUSPENDED, User.Status.ACTIVE), (Membership.Status.INVITED, User.Status.ACTIVE),
     (Membership.Status.ACTIVE, User.Status.DISABLED)],
)
def test_owners_who_cannot_act_do_not_count(world, operator, membership_status, user_status):
    MembershipFactory(org=world.acme, role=Membership.Role.OWNER, status=membership_status,
                      user=UserFactory(status=user_status))

    with pytest.raises(NotAllowed):
        membership_suspend(membership=world.memberships["olive@acme"], actor=operator)

    assert _status(world.memberships["olive@acme"]) == Membership.Status.ACTIVE


def test_an_owner_of_another_org_does_not_count(world, operator):
    MembershipFactory(org=world.globex, role=Membership.Role.OWNER)

    with pytest.raises(NotAllowed):
        membership_suspend(membership=world.memberships["olive@acme"], actor=operator)


# --- membership_reactivate ------------------------------------------------------------------------


def test_reactivating_restores_the_membership_but_no_token(world, operator):
    membership_suspend(membership=world.memberships["alice@acme"], actor=operator)

    membership = membership_reactivate(membership=world.memberships["alice@acme"], actor=operator,
                                       reason="back")

    assert membership.status == Membership.Status.ACTIVE
    assert _status(membership) == Membership.Status.ACTIVE
    assert world.revoked() == {"alice@acme_web"}
    event = AuditEvent.objects.get(action="membership.reactivated")
    assert event.actor == operator
    assert event.org == world.acme
    assert event.metadata == {"user": "alice@example.test", "role": "member", "before": "suspended",
                              "after": "active", "reason": "back"}


def test_reactivating_an_active_membership_writes_nothing(world, operator):
    membership_reactivate(membership=world.memberships["alice@acme"], actor=operator)

    assert not AuditEvent.objects.filter(action="membership.reactivated").exists()


def test_reactivating_cannot_accept_an_invitation_for_the_user(world, operator):
    invited = MembershipFactory(org=world.acme, status=Membership.Status.INVITED)

    with pytest.raises(NotAllowed, match="only they can"):
        membership_reactivate(membership=invited, actor=operator)

    assert _status(invited) == Membership.Status.INVITED


# --- membership_remove ----------------------------------------------------------------------------


def test_removing_takes_the_user_out_of_the_org_its_groups_and_its_apps(world, operator):
    acme_group = GroupFactory(org=world.acme)
    globex_group = GroupFactory(org=world.globex)
    GroupMembershipFactory(group=acme_group, user=world.alice)
    GroupMembershipFactory(group=acme_group, user=world.bob)
    GroupMembershipFactory(group=globex_group, user=world.alice)
    membership = world.memberships["alice@acme"]

    assert membership_remove(membership=membership, actor=operator) is None

    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert Membership.objects.filter(pk=world.memberships["alice@globex"].pk).exists()
    assert set(GroupMembership.objects.values_list("group__slug", "user__email")) == {
        (acme_group.slug, "bob@example.test"), (globex_group.slug, "alice@example.test"),
    }
    assert world.revoked() == {"alice@acme_web"}
    assert world.live() == EVERYONE - {"alice@acme_web"}
    assert User.objects.get(pk=world.alice.pk).is_active
    event = AuditEvent.objects.get(action="membership.removed")
    assert event.actor == operator
    assert event.org == world.acme
    assert event.target_type == "orgs.membership"
    assert event.metadata == {"user": "alice@example.test", "role": "member", "status": "active",
                              "groups_left": 1, "tokens_revoked": 4, "sessions_ended": 0}


def test_removing_a_removed_membership_writes_nothing(world, operator):
    membership = world.memberships["bob@acme"]
    membership_remove(membership=membership, actor=operator)

    membership_remove(membership=membership, actor=operator)

    assert AuditEvent.objects.filter(action="membership.removed").count() == 1


def test_the_last_active_owner_cannot_be_removed(world, operator):
    owner = world.memberships["olive@acme"]
    group = GroupFactory(org=world.acme)
    GroupMembershipFactory(group=group, user=world.olive)

    with pytest.raises(NotAllowed, match="before you remove them"):
        membership_remove(membership=owner, actor=operator)

    assert _status(owner) == Membership.Status.ACTIVE
    assert GroupMembership.objects.filter(group=group, user=world.olive).exists()
    assert world.live() == EVERYONE
    assert not AuditEvent.objects.filter(action="membership.removed").exists()


def test_a_suspended_owner_may_be_removed_as_it_leaves_no_fewer_active_owners(world, operator):
    Membership.objects.filter(pk=world.memberships["olive@acme"].pk).update(status=Membership.Status.SUSPENDED)

    membership_remove(membership=world.memberships["olive@acme"], actor=operator)

    assert not Membership.objects.filter(pk=world.memberships["olive@acme"].pk).exists()


# --- organization_suspend -------------------------------------------------------------------------


def test_suspending_an_org_revokes_every_token_of_its_apps(world, operator):
    organization_suspend(org=world.acme, actor=operator, reason="unpaid")

    assert world.revoked() == {"alice@acme_web", "bob@acme_web", "olive@acme_web", "acme_machine"}
    assert world.live() == {"alice@globex_web", "greta@globex_web"}
    event = AuditEvent.objects.get(action="organization.suspended")
    assert event.org == world.acme
    assert event.metadata == {"before": "active", "after": "suspended", "reason": "unpaid",
                              "tokens_revoked": 11}


def test_suspending_a_suspended_org_revokes_nothing_more(world, operator):
    organization_suspend(org=world.acme, actor=operator)
    later = issue_tokens(application=world.acme_web, user=world.bob)

    organization_suspend(org=world.acme, actor=operator)

    assert later.is_live()
    assert AuditEvent.objects.filter(action="organization.suspended").count() == 1


def test_reactivating_an_org_restores_no_token(world, operator):
    organization_suspend(org=world.acme, actor=operator)

    org = organization_reactivate(org=world.acme, actor=operator)

    assert org.status == Organization.Status.ACTIVE
    assert world.revoked() == {"alice@acme_web", "bob@acme_web", "olive@acme_web", "acme_machine"}
    assert "tokens_revoked" not in AuditEvent.objects.get(action="organization.reactivated").metadata
