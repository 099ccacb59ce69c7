"""The application's view of its users: sync feed items and the lookup by email."""

from rest_framework import serializers

from api.fields import StrictEmailField
from api.serializers import StrictSerializer

SYNC_STATUSES = [("active", "Active"), ("suspended", "Suspended membership"), ("disabled", "Disabled account")]


class SyncUserSerializer(serializers.Serializer):
    sub = serializers.UUIDField(help_text="The OIDC subject: the key to match users on.")
    deleted = serializers.BooleanField(help_text="True: a tombstone — the user is no longer assigned to the app "
                                                 "(unassigned or removed); only sub, updated_at and deleted are set.")
    email = serializers.EmailField(required=False)
    name = serializers.CharField(required=False)
    employee_id = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=SYNC_STATUSES, required=False)
    groups = serializers.ListField(child=serializers.CharField(), required=False)
    roles = serializers.ListField(child=serializers.CharField(), required=False)
    updated_at = serializers.DateTimeField(help_text="When a mapped field last changed.")
    sync_hash = serializers.CharField(allow_null=True, help_text="Changes only when a mapped field changes.")


class SyncPageSerializer(serializers.Serializer):
    data = SyncUserSerializer(many=True)
    next_cursor = serializers.CharField(help_text="Always set: resume (or poll for news) from here.")
    has_more = serializers.BooleanField(help_text="False: you are up to date; poll later with next_cursor.")


class LookupSerializer(StrictSerializer):
    email = StrictEmailField(max_length=254)


class LookupUserSerializer(SyncUserSerializer):
    updated_at = None  # the lookup reads the directory now, not the feed


class LookupResultSerializer(serializers.Serializer):
    email = serializers.CharField()
    assigned = serializers.BooleanField()
    user = LookupUserSerializer(required=False, help_text="Only when assigned.")
