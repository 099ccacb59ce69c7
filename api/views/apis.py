"""/api/v1/orgs/{org}/apis: the org's registered APIs (resource servers) and which applications hold their
scopes, through the console's services (applications/api_services.py). An introspection secret is in the
answer that made it and nowhere else."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.fields import StrictCharField, StrictChoiceField, StrictIntegerField
from api.serializers import StrictSerializer
from applications.api_selectors import api_get, api_list
from applications.api_services import api_create, api_delete, api_secret_rotate, api_update, application_api_scopes_set
from applications.models import Api, ApiScope
from applications.selectors import application_get
from orgs.models import Organization

API_ID = OpenApiParameter("api_id", int, OpenApiParameter.PATH)
APP_ID = OpenApiParameter("app_id", int, OpenApiParameter.PATH)
NO_STORE = {"Cache-Control": "no-store"}


class ScopeSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    description = StrictCharField(max_length=200)


class RegisteredApiSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    identifier = serializers.CharField(help_text="The tokens' aud and the resource value; never changes.")
    description = serializers.CharField()
    token_format = serializers.ChoiceField(choices=Api.TokenFormat.choices)
    access_token_lifetime = serializers.IntegerField()
    client_id = serializers.CharField(help_text="Authenticates the API at the introspection endpoint.")
    scopes = ScopeSerializer(many=True)


class RegisteredApiSecretSerializer(RegisteredApiSerializer):
    client_secret = serializers.CharField(help_text="Shown in this answer only.")


class RegisteredApiPageSerializer(serializers.Serializer):
    data = RegisteredApiSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class RegisteredApiCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    identifier = StrictCharField(max_length=255)
    description = StrictCharField(required=False, allow_blank=True, max_length=500, default="")
    token_format = StrictChoiceField(required=False, choices=Api.TokenFormat.choices, default=Api.TokenFormat.JWT)
    access_token_lifetime = StrictIntegerField(required=False, default=Api.DEFAULT_LIFETIME, min_value=1,
                                               max_value=10**7)
    scopes = ScopeSerializer(many=True)


class RegisteredApiUpdateSerializer(StrictSerializer):
    name = StrictCharField(required=False, max_length=100)
    description = StrictCharField(required=False, allow_blank=True, max_length=500)
    token_format = StrictChoiceField(required=False, choices=Api.TokenFormat.choices)
    access_token_lifetime = StrictIntegerField(required=False, min_value=1, max_value=10**7)
    scopes = ScopeSerializer(many=True, required=False)


class ApiScopeGrantSerializer(StrictSerializer):
    scopes = serializers.ListField(child=StrictCharField(max_length=100), max_length=200,
                                   help_text="Names of this org's API scopes: the application holds exactly these.")


class ApiScopeGrantResultSerializer(serializers.Serializer):
    scopes = serializers.ListField(child=serializers.CharField())


def registered_api_json(api: Api) -> dict[str, Any]:
    return {"id": api.pk, "name": api.name, "identifier": api.identifier, "description": api.description,
            "token_format": api.token_format, "access_token_lifetime": api.access_token_lifetime,
            "client_id": api.client_id,
            "scopes": [{"name": scope.name, "description": scope.description} for scope in api.scopes.all()]}


def _scope_pairs(scopes: list[dict]) -> list[tuple[str, str]]:
    return [(scope["name"], scope["description"]) for scope in scopes]


class RegisteredApiListView(ApiView):
    permissions = {"GET": "applications.view", "POST": "applications.manage"}
    org: Organization

    @extend_schema(responses=RegisteredApiPageSerializer, operation_id="apis_list", summary="The org's registered APIs")
    def get(self, request: Request, org_slug: str) -> Response:
        return Response({"data": [registered_api_json(api) for api in api_list(org=self.org)], "next_cursor": None})

    @extend_schema(request=RegisteredApiCreateSerializer, responses={201: RegisteredApiSecretSerializer},
                   operation_id="apis_create", summary="Register an API (its introspection secret is shown once)")
    def post(self, request: Request, org_slug: str) -> Response:
        data = RegisteredApiCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        created = api_create(org=self.org, scopes=_scope_pairs(values.pop("scopes")), actor=self.principal.actor,
                             request=request, **values)
        body = {**registered_api_json(api_get(org=self.org, pk=created.api.pk)), "client_secret": created.client_secret}
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={**NO_STORE, "Location": f"{request.path.rstrip('/')}/{created.api.pk}"})


class RegisteredApiDetailView(ApiView):
    permissions = {"GET": "applications.view", "PATCH": "applications.manage", "DELETE": "applications.manage"}

    @extend_schema(parameters=[API_ID], responses=RegisteredApiSerializer, operation_id="apis_read",
                   summary="Read a registered API")
    def get(self, request: Request, org_slug: str, api_id: int) -> Response:
        body = registered_api_json(api_get(org=self.org, pk=api_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[API_ID], request=RegisteredApiUpdateSerializer, responses=RegisteredApiSerializer,
                   operation_id="apis_update", summary="Change a registered API (the identifier never changes)")
    def patch(self, request: Request, org_slug: str, api_id: int) -> Response:
        data = RegisteredApiUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api = api_get(org=self.org, pk=api_id)
        current = registered_api_json(api)
        self.if_match(request, current)
        values = data.validated_data
        api_update(api=api, name=values.get("name", api.name), description=values.get("description", api.description),
                   token_format=values.get("token_format", api.token_format),
                   access_token_lifetime=values.get("access_token_lifetime", api.access_token_lifetime),
                   scopes=_scope_pairs(values.get("scopes", current["scopes"])), actor=self.principal.actor,
                   request=request)
        body = registered_api_json(api_get(org=self.org, pk=api_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[API_ID], responses={204: None}, operation_id="apis_delete",
                   summary="Delete a registered API")
    def delete(self, request: Request, org_slug: str, api_id: int) -> Response:
        api = api_get(org=self.org, pk=api_id)
        self.if_match(request, registered_api_json(api))
        api_delete(api=api, actor=self.principal.actor, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(post=extend_schema(parameters=[API_ID], request=None, responses=RegisteredApiSecretSerializer,
                                       operation_id="apis_secret_rotate",
                                       summary="A new introspection secret (shown once; the old one stops now)"))
class RegisteredApiSecretView(ApiView):
    permissions = {"POST": "applications.manage"}

    def post(self, request: Request, org_slug: str, api_id: int) -> Response:
        api = api_get(org=self.org, pk=api_id)
        secret = api_secret_rotate(api=api, actor=self.principal.actor, request=request)
        return Response({**registered_api_json(api_get(org=self.org, pk=api_id)), "client_secret": secret},
                        headers=NO_STORE)


class ApplicationApiScopesView(ApiView):
    permissions = {"GET": "applications.view", "PUT": "applications.manage"}

    @extend_schema(parameters=[APP_ID], responses=ApiScopeGrantResultSerializer, operation_id="applications_api_scopes",
                   summary="The API scopes an application holds")
    def get(self, request: Request, org_slug: str, app_id: int) -> Response:
        app = application_get(org=self.org, pk=app_id)
        return Response({"scopes": sorted(app.api_scopes.values_list("name", flat=True))})

    @extend_schema(parameters=[APP_ID], request=ApiScopeGrantSerializer, responses=ApiScopeGrantResultSerializer,
                   operation_id="applications_api_scopes_set", summary="Grant an application exactly these API scopes")
    def put(self, request: Request, org_slug: str, app_id: int) -> Response:
        app = application_get(org=self.org, pk=app_id)
        data = ApiScopeGrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        names = list(dict.fromkeys(data.validated_data["scopes"]))
        scopes = list(ApiScope.objects.filter(org=self.org, name__in=names))
        missing = sorted(set(names) - {scope.name for scope in scopes})
        if missing:
            raise exceptions.ValidationError({"scopes": [f"No API scope “{missing[0]}” in this organization."]})
        application_api_scopes_set(application=app, scopes=scopes, actor=self.principal.actor, request=request)
        return Response({"scopes": sorted(names)})
