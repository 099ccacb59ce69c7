"""Joining or leaving a group is audited and the person is told by email."""

import pytest

from audit.models import AuditEvent
from directory.services import group_member_add, group_member_remove
from emailqueue.models import OutboundEmail

pytestmark = pytest.mark.django_db


def test_added_and_removed_members_are_emailed(org, group, org_member, org_admin):
    group_member_add(group=group, user=org_member, actor=org_admin)
    added = OutboundEmail.objects.get(kind="group_added")
    assert added.recipient == org_member.email
    assert added.org == org
    assert "added to the group Engineering" in added.subject
    assert "Acme Corp" in added.body_text

    assert group_member_remove(group=group, user=org_member, actor=org_admin) is True
    removed = OutboundEmail.objects.get(kind="group_removed")
    assert "removed from the group Engineering" in removed.subject
    assert not group.memberships.filter(user=org_member).exists()
    assert AuditEvent.objects.filter(action="group.member_removed", org=org, actor=org_admin).count() == 1


def test_removing_a_non_member_writes_nothing(org, group, org_member, org_admin):
    assert group_member_remove(group=group, user=org_member, actor=org_admin) is False
    assert not OutboundEmail.objects.exists()
    assert not AuditEvent.objects.filter(action="group.member_removed").exists()


def test_adding_twice_sends_one_email(org, group, org_member):
    group_member_add(group=group, user=org_member)
    group_member_add(group=group, user=org_member)
    assert OutboundEmail.objects.filter(kind="group_added").count() == 1
