"""Users of an org as the API shows them (a membership with its account), and what it accepts to change them."""

from typing import Any

from rest_framework import serializers

from api.fields import CharField, StrictCharField, StrictChoiceField, StrictEmailField, StrictIntegerField
from api.serializers import StrictSerializer
from directory.models import User
from directory.selectors import USER_SORTS
from orgs.models import Membership


class GroupRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The user's id, as in /users/{id}.")
    sub = serializers.UUIDField(help_text="The OIDC subject: stable for life.")
    email = serializers.EmailField()
    full_name = serializers.CharField(help_text="Empty while the membership is invited: the org has not met the "
                                                "account yet.")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    status = serializers.ChoiceField(choices=Membership.Status.choices)
    employee_id = serializers.CharField()
    account_status = serializers.ChoiceField(choices=User.Status.choices, allow_null=True,
                                             help_text="Null while the membership is invited.")
    groups = GroupRefSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def member_json(membership: Membership, groups: list) -> dict[str, Any]:
    """An invited membership shows only what the org entered (address, role): the account behind it may be
    someone's in another org, and nothing of it may leak here (issue #10)."""
    user = membership.user
    invited = membership.status == Membership.Status.INVITED
    return {
        "id": user.pk,
        "sub": str(user.public_id),
        "email": user.email,
        "full_name": "" if invited else user.full_name,
        "role": membership.role,
        "status": membership.status,
        "employee_id": membership.employee_id,
        "account_status": None if invited else user.status,
        "groups": [{"id": group.pk, "slug": group.slug, "name": group.name} for group in groups],
        "created_at": membership.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": max(membership.updated_at, membership.created_at).isoformat().replace("+00:00", "Z"),
    }


class MemberPageSerializer(serializers.Serializer):
    data = MemberSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class MemberListQuery(serializers.Serializer):
    q = CharField(required=False, max_length=254, help_text="Email (or an active member's name) "
                                                                        "starts with, any letter case.")
    status = serializers.ChoiceField(required=False, choices=Membership.Status.choices)
    role = serializers.ChoiceField(required=False, choices=Membership.Role.choices)
    group = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    sort = serializers.ChoiceField(required=False, choices=sorted(USER_SORTS), default="email")


class MemberInviteSerializer(StrictSerializer):
    email = StrictEmailField(max_length=254)
    role = StrictChoiceField(choices=Membership.Role.choices, required=False, default=Membership.Role.MEMBER)
    full_name = StrictCharField(required=False, allow_blank=True, max_length=200, default="",
                                help_text="Used only for a new account.")
    groups = serializers.ListField(child=StrictIntegerField(min_value=1, max_value=2**63 - 1), required=False,
                                   default=list, max_length=100, help_text="Ids of this org's groups.")


# The statuses a PATCH may set (an invitation is accepted only by its invitee).
STATUS_CHANGES = [(Membership.Status.ACTIVE.value, "Active"), (Membership.Status.SUSPENDED.value, "Suspended")]


class MemberUpdateSerializer(StrictSerializer):
    role = StrictChoiceField(choices=Membership.Role.choices, required=False)
    status = StrictChoiceField(choices=STATUS_CHANGES, required=False,
                               help_text="suspended suspends the membership; active reactivates it.")
    employee_id = StrictCharField(required=False, allow_blank=True, max_length=64)
    full_name = StrictCharField(required=False, allow_blank=True, max_length=200,
                                help_text="Only for a user who belongs to this org alone.")


class ActionResultSerializer(serializers.Serializer):
    detail = serializers.CharField()
    changed = serializers.BooleanField()


class SessionsEndedSerializer(ActionResultSerializer):
    ended = serializers.IntegerField(min_value=0, help_text="How many sessions ended (0: none were open).")
