"""/api/v1/orgs/{org}/api-keys: the org's API keys — list, create (within the caller's own scopes, the key
shown once), revoke, deactivate, reactivate, delete. The same services and audit events as the console."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.serializers.api_keys import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeyPageSerializer,
    ApiKeySerializer,
    api_key_json,
)
from applications.apikey_selectors import api_key_get, api_key_list
from applications.apikey_services import (
    api_key_create,
    api_key_deactivate,
    api_key_delete,
    api_key_reactivate,
    api_key_revoke,
)
from applications.models import Application

KEY_ID = OpenApiParameter("key_id", int, OpenApiParameter.PATH)


class ApiKeyListView(ApiView):
    permissions = {"GET": "apikeys.view", "POST": "apikeys.manage"}

    @extend_schema(responses=ApiKeyPageSerializer, operation_id="api_keys_list",
                   summary="List the org's API keys, newest first")
    def get(self, request: Request, org_slug: str) -> Response:
        return Response({"data": [api_key_json(key) for key in api_key_list(org=self.org)], "next_cursor": None})

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer},
                   operation_id="api_keys_create", summary="Create an API key (shown once in this answer)")
    def post(self, request: Request, org_slug: str) -> Response:
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        application = None
        if values["application"] is not None:
            application = Application.objects.for_org(self.org).filter(client_id=values["application"]).first()
            if application is None:
                raise exceptions.ValidationError({"application": ["No application with this client id here."]})
        caller = self.principal.api_key
        if caller is None:
            # A key acts for its creator; an application's token has no person whose reach a new key could take.
            raise exceptions.PermissionDenied("Only an API key can create API keys.", code="key_required")
        key, raw = api_key_create(
            org=self.org, actor=self.principal.actor, request=request, name=values["name"], scopes=values["scopes"],
            expires_at=values["expires_at"], allowed_ips=values["allowed_ips"], application=application,
            # Never more than the calling key may do itself.
            held=self.principal.permissions, system=caller.created_by_system)
        body = {**api_key_json(api_key_get(org=self.org, pk=key.pk)), "key": raw}
        return Response(body, status=status.HTTP_201_CREATED, headers={
            "Location": f"{request.path.rstrip('/')}/{key.pk}", "Cache-Control": "no-store"})


class ApiKeyDetailView(ApiView):
    permissions = {"GET": "apikeys.view", "DELETE": "apikeys.manage"}

    @extend_schema(parameters=[KEY_ID], responses=ApiKeySerializer, operation_id="api_keys_read",
                   summary="Read an API key")
    def get(self, request: Request, org_slug: str, key_id: int) -> Response:
        body = api_key_json(api_key_get(org=self.org, pk=key_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[KEY_ID], responses={204: None}, operation_id="api_keys_delete",
                   summary="Delete an API key (the audit log keeps its record)")
    def delete(self, request: Request, org_slug: str, key_id: int) -> Response:
        key = api_key_get(org=self.org, pk=key_id)
        self.if_match(request, api_key_json(key))
        api_key_delete(api_key=key, actor=self.principal.actor, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ApiKeyActionView(ApiView):
    permissions = {"POST": "apikeys.manage"}

    def perform(self, request: Request, key) -> None:
        raise NotImplementedError

    def post(self, request: Request, org_slug: str, key_id: int) -> Response:
        self.perform(request, api_key_get(org=self.org, pk=key_id))
        body = api_key_json(api_key_get(org=self.org, pk=key_id))
        return self.with_etag(Response(body), body)


def _action_schema(summary: str, operation_id: str):
    return extend_schema_view(post=extend_schema(parameters=[KEY_ID], request=None, responses=ApiKeySerializer,
                                                 summary=summary, operation_id=operation_id))


@_action_schema("Revoke an API key for good", "api_keys_revoke")
class ApiKeyRevokeView(_ApiKeyActionView):
    def perform(self, request, key):
        api_key_revoke(api_key=key, actor=self.principal.actor, request=request)


@_action_schema("Deactivate an API key (it can be reactivated)", "api_keys_deactivate")
class ApiKeyDeactivateView(_ApiKeyActionView):
    def perform(self, request, key):
        api_key_deactivate(api_key=key, actor=self.principal.actor, request=request)


@_action_schema("Reactivate a deactivated API key", "api_keys_reactivate")
class ApiKeyReactivateView(_ApiKeyActionView):
    def perform(self, request, key):
        api_key_reactivate(api_key=key, actor=self.principal.actor, request=request)
