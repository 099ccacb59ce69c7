"""Applications and their roles, as the API shows and accepts them (a client secret only once, when made)."""

from typing import Any

from rest_framework import serializers

from api.fields import StrictBooleanField, StrictCharField, StrictChoiceField, StrictIntegerField
from api.serializers import StrictSerializer
from applications.models import Application, AppRole


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _ids():
    return serializers.ListField(child=StrictIntegerField(min_value=1, max_value=2**63 - 1), required=False,
                                 max_length=200, help_text="Ids of this org's groups.")


def _uris(help_text: str):
    return serializers.ListField(child=StrictCharField(max_length=500), required=False, max_length=50,
                                 help_text=help_text)


class GroupIdSlugSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()


class ApplicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Application.Kind.choices)
    status = serializers.ChoiceField(choices=Application.Status.choices)
    description = serializers.CharField()
    redirect_uris = serializers.ListField(child=serializers.CharField())
    post_logout_redirect_uris = serializers.ListField(child=serializers.CharField())
    allowed_origins = serializers.ListField(child=serializers.CharField(), help_text="CORS origins (spa only).")
    trusted = serializers.BooleanField(help_text="Skips the consent screen.")
    require_pkce = serializers.BooleanField()
    access_token_lifetime = serializers.IntegerField(allow_null=True)
    refresh_token_lifetime = serializers.IntegerField(allow_null=True)
    allowed_scopes = serializers.ListField(child=serializers.CharField())
    allowed_groups = GroupIdSlugSerializer(many=True, help_text="Empty: every member of the org may sign in.")
    backchannel_logout_uri = serializers.CharField()
    created_at = serializers.DateTimeField()


def application_json(app: Application) -> dict[str, Any]:
    return {
        "id": app.pk, "client_id": app.client_id, "name": app.name, "kind": app.kind, "status": app.status,
        "description": app.description, "redirect_uris": app.redirect_uris.split(),
        "post_logout_redirect_uris": app.post_logout_redirect_uris.split(),
        "allowed_origins": app.allowed_origins.split(), "trusted": app.skip_authorization,
        "require_pkce": app.require_pkce, "access_token_lifetime": app.access_token_lifetime,
        "refresh_token_lifetime": app.refresh_token_lifetime, "allowed_scopes": app.allowed_scopes.split(),
        "allowed_groups": [{"id": group.pk, "slug": group.slug}
                           for group in sorted(app.allowed_groups.all(), key=lambda group: group.slug)],
        "backchannel_logout_uri": app.backchannel_logout_uri, "created_at": iso(app.created),
    }


class ApplicationPageSerializer(serializers.Serializer):
    data = ApplicationSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class ApplicationSecretSerializer(ApplicationSerializer):
    client_secret = serializers.CharField(allow_null=True, help_text="Shown in this answer only (confidential "
                                                                     "kinds); null for spa and native.")


class _ApplicationFields(StrictSerializer):
    description = StrictCharField(required=False, allow_blank=True, max_length=500)
    redirect_uris = _uris("https, or loopback http; native apps also reverse-domain schemes.")
    post_logout_redirect_uris = _uris("Where RP-initiated logout may return to.")
    allowed_origins = _uris("CORS origins, for spa applications only.")
    trusted = StrictBooleanField(required=False)
    require_pkce = StrictBooleanField(required=False)
    access_token_lifetime = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=10**7)
    refresh_token_lifetime = StrictIntegerField(required=False, allow_null=True, min_value=1, max_value=10**9)
    allowed_scopes = serializers.ListField(child=StrictCharField(max_length=100), required=False, max_length=50)
    allowed_groups = _ids()
    backchannel_logout_uri = StrictCharField(required=False, allow_blank=True, max_length=500)


class ApplicationCreateSerializer(_ApplicationFields):
    name = StrictCharField(max_length=255)
    kind = StrictChoiceField(choices=Application.Kind.choices)


class ApplicationUpdateSerializer(_ApplicationFields):
    name = StrictCharField(required=False, max_length=255)


class SecretRotateSerializer(StrictSerializer):
    overlap_seconds = StrictIntegerField(required=False, default=0, min_value=0, max_value=24 * 3600,
                                         help_text="How long the old secret keeps working (at most a day).")


class ClientSecretSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    client_secret = serializers.CharField(help_text="Shown in this answer only.")


class AppRoleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    groups = GroupIdSlugSerializer(many=True, help_text="Members of these groups hold the role.")


def app_role_json(role: AppRole) -> dict[str, Any]:
    return {"id": role.pk, "key": role.key, "name": role.name,
            "groups": [{"id": group.pk, "slug": group.slug}
                       for group in sorted(role.groups.all(), key=lambda group: group.slug)]}


class AppRoleListSerializer(serializers.Serializer):
    data = AppRoleSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class AppRoleCreateSerializer(StrictSerializer):
    key = StrictCharField(max_length=100)
    name = StrictCharField(required=False, allow_blank=True, max_length=150, default="")
    groups = _ids()


class AppRoleUpdateSerializer(StrictSerializer):
    name = StrictCharField(required=False, allow_blank=True, max_length=150)
    groups = _ids()
