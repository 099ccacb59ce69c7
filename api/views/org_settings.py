"""/api/v1/orgs/{org}/settings and /password-policy: the org's settings, branding and password rules, read
with org.view, changed with settings.manage through the console's services (the same audit events)."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from api.serializers import StrictSerializer
from identity.models import PasswordPolicy
from orgs.branding import organization_branding_update
from orgs.models import Organization
from orgs.settings_services import organization_settings_update, password_policy_update

SETTINGS = ("name", "notify_new_device_sign_in", "mfa_policy", "mfa_grace_days", "session_max_age_minutes",
            "lockout_threshold", "api_keys_require_allowlist")
BRANDING = ("display_name", "accent_color")
ALLOWLIST_HELP = ("true: no API key of the org may be created without an IP allow-list, and keys without one are "
                  "refused (403). The platform's own requirement, if set, holds whatever this says.")


class OrgSettingsSerializer(serializers.Serializer):
    slug = serializers.CharField()
    status = serializers.ChoiceField(choices=Organization.Status.choices)
    name = serializers.CharField()
    notify_new_device_sign_in = serializers.BooleanField()
    mfa_policy = serializers.ChoiceField(choices=Organization.MfaPolicy.choices)
    mfa_grace_days = serializers.IntegerField()
    session_max_age_minutes = serializers.IntegerField(allow_null=True)
    lockout_threshold = serializers.IntegerField(allow_null=True)
    api_keys_require_allowlist = serializers.BooleanField(help_text=ALLOWLIST_HELP)
    display_name = serializers.CharField(help_text="Branding: the name the hosted pages show.")
    accent_color = serializers.CharField(help_text="Branding: #rrggbb, or empty.")


class OrgSettingsUpdateSerializer(StrictSerializer):
    name = StrictCharField(required=False, max_length=150)
    notify_new_device_sign_in = StrictBooleanField(required=False)
    mfa_policy = StrictChoiceField(required=False, choices=Organization.MfaPolicy.choices)
    mfa_grace_days = StrictIntegerField(required=False)
    session_max_age_minutes = StrictIntegerField(required=False, allow_null=True)
    lockout_threshold = StrictIntegerField(required=False, allow_null=True)
    api_keys_require_allowlist = StrictBooleanField(required=False, help_text=ALLOWLIST_HELP)
    display_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    accent_color = StrictCharField(required=False, allow_blank=True, max_length=7)


def settings_json(org: Organization) -> dict[str, Any]:
    return {"slug": org.slug, "status": org.status, **{name: getattr(org, name) for name in SETTINGS + BRANDING}}


class OrgSettingsView(ApiView):
    permissions = {"GET": "org.view", "PATCH": "settings.manage"}

    @extend_schema(responses=OrgSettingsSerializer, operation_id="settings_read",
                   summary="The org's settings and branding")
    def get(self, request: Request, org_slug: str) -> Response:
        body = settings_json(self.org)
        return self.with_etag(Response(body), body)

    @extend_schema(request=OrgSettingsUpdateSerializer, responses=OrgSettingsSerializer,
                   operation_id="settings_update", summary="Change settings or branding (If-Match: the ETag you read)")
    def patch(self, request: Request, org_slug: str) -> Response:
        data = OrgSettingsUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = Organization.objects.get(pk=self.org.pk)
        self.if_match(request, settings_json(org))
        values = data.validated_data
        settings_changes = {name: values[name] for name in SETTINGS if name in values}
        branding_changes = {name: values[name] for name in BRANDING if name in values}
        with transaction.atomic():
            if settings_changes:
                organization_settings_update(org=org, actor=self.principal.actor, request=request, **settings_changes)
            if branding_changes:
                organization_branding_update(org=org, actor=self.principal.actor, request=request, **branding_changes)
        body = settings_json(Organization.objects.get(pk=org.pk))
        return self.with_etag(Response(body), body)


class PasswordPolicySerializer(serializers.Serializer):
    min_length = serializers.IntegerField()
    check_common = serializers.BooleanField()
    history_count = serializers.IntegerField()
    max_age_days = serializers.IntegerField(allow_null=True)


class PasswordPolicyUpdateSerializer(StrictSerializer):
    min_length = StrictIntegerField(required=False, help_text="12 to 128.")
    check_common = StrictBooleanField(required=False)
    history_count = StrictIntegerField(required=False, help_text="0 to 24.")
    max_age_days = StrictIntegerField(required=False, allow_null=True, help_text="1 to 3650, or null.")


POLICY_FIELDS = ("min_length", "check_common", "history_count", "max_age_days")


def _policy_json(org: Organization) -> dict[str, Any]:
    # No row yet: the defaults the console shows (identity.models.PasswordPolicy).
    policy = PasswordPolicy.objects.filter(org=org).first() or PasswordPolicy(org=org)
    return {name: getattr(policy, name) for name in POLICY_FIELDS}


class PasswordPolicyView(ApiView):
    permissions = {"GET": "org.view", "PATCH": "settings.manage"}

    @extend_schema(responses=PasswordPolicySerializer, operation_id="password_policy_read",
                   summary="The org's password rules (on top of the platform's)")
    def get(self, request: Request, org_slug: str) -> Response:
        body = _policy_json(self.org)
        return self.with_etag(Response(body), body)

    @extend_schema(request=PasswordPolicyUpdateSerializer, responses=PasswordPolicySerializer,
                   operation_id="password_policy_update", summary="Change the org's password rules")
    def patch(self, request: Request, org_slug: str) -> Response:
        data = PasswordPolicyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        current = _policy_json(self.org)
        self.if_match(request, current)
        password_policy_update(org=self.org, actor=self.principal.actor, request=request,
                               **{**current, **data.validated_data})
        body = _policy_json(self.org)
        return self.with_etag(Response(body), body)
