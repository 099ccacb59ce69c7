"""Groups of an org and their members, as the API shows and accepts them."""

from typing import Any

from rest_framework import serializers

from api.fields import StrictCharField, StrictIntegerField
from api.serializers import StrictSerializer
from directory.models import Group, GroupMembership
from orgs.models import Membership


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField(help_text="Never changes: tokens carry it in the groups claim.")
    name = serializers.CharField()
    description = serializers.CharField()
    member_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def group_json(group: Group) -> dict[str, Any]:
    return {"id": group.pk, "slug": group.slug, "name": group.name, "description": group.description,
            # member_count: annotated by group_list_with_counts.
            "member_count": getattr(group, "member_count", 0), "created_at": iso(group.created_at)}


class GroupPageSerializer(serializers.Serializer):
    data = GroupSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class GroupCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=150)
    slug = StrictCharField(max_length=80, required=False, allow_blank=True, default="",
                           help_text="Made from the name when left out.")
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class GroupUpdateSerializer(StrictSerializer):
    name = StrictCharField(max_length=150, required=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class GroupMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The user's id.")
    sub = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField(help_text="Empty unless the membership is active.")
    added_at = serializers.DateTimeField()


def group_member_json(row: GroupMembership) -> dict[str, Any]:
    active = getattr(row, "member_status", None) == Membership.Status.ACTIVE
    return {"id": row.user_id, "sub": str(row.user.public_id), "email": row.user.email,
            "full_name": row.user.full_name if active else "", "added_at": iso(row.created_at)}


class GroupMemberPageSerializer(serializers.Serializer):
    data = GroupMemberSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class GroupMembersAddSerializer(StrictSerializer):
    user_ids = serializers.ListField(child=StrictIntegerField(min_value=1, max_value=2**63 - 1), min_length=1,
                                     max_length=500, help_text="Ids of this org's users; all are added, or none.")


class GroupMembersAddedSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.IntegerField(), help_text="Ids newly added (others were in).")
