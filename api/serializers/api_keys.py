"""API keys as the API shows them (never the secret, except once in the answer that created it)."""

from typing import Any

from rest_framework import serializers

from api.fields import StrictCharField
from api.serializers import StrictSerializer
from applications.apikey_selectors import api_key_status
from applications.apikey_services import ALLOWED_IPS_MAX, API_KEY_NAME_MAX
from applications.models import ApiKey
from orgs.permissions import ALL_PERMISSIONS

KEY_STATUSES = [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked"), ("deactivated", "Deactivated")]


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class ApiKeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The visible start of the key.")
    scopes = serializers.ListField(child=serializers.CharField())
    allowed_ips = serializers.ListField(child=serializers.CharField())
    application = serializers.CharField(allow_null=True, help_text="The client id of the bound application.")
    status = serializers.ChoiceField(choices=KEY_STATUSES)
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    last_used_ip = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True, help_text="The creator's email; null for the system.")


def api_key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.pk, "name": key.name, "prefix": key.prefix, "scopes": list(key.scopes),
        "allowed_ips": list(key.allowed_ips), "application": key.application.client_id if key.application else None,
        # status: set by api_key_list / api_key_get; computed here for any other key.
        "status": getattr(key, "status", None) or api_key_status(key), "expires_at": iso(key.expires_at),
        "last_used_at": iso(key.last_used_at), "last_used_ip": key.last_used_ip, "created_at": iso(key.created_at),
        "created_by": key.created_by.email if key.created_by else None,
    }


class ApiKeyPageSerializer(serializers.Serializer):
    data = ApiKeySerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself: shown in this answer only, never again.")


class ApiKeyCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=API_KEY_NAME_MAX)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=sorted(ALL_PERMISSIONS)), min_length=1,
                                   max_length=len(ALL_PERMISSIONS),
                                   help_text="Permission names, at most the calling key's own.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    allowed_ips = serializers.ListField(child=StrictCharField(max_length=64), required=False, default=list,
                                        max_length=ALLOWED_IPS_MAX)
    application = StrictCharField(required=False, allow_null=True, default=None, max_length=100,
                                  help_text="The client id of an application of this org to bind the key to.")
