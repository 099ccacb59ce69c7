"""/api/v1/orgs/{org}/applications: OIDC clients of the org and their roles, through the console's services.

A confidential application's client secret is in the answer that created (or rotated) it and nowhere else,
sent with Cache-Control: no-store. Groups named in a body must be the org's own: another org's group id
reads exactly like an unknown one (400).
"""

from datetime import timedelta

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.serializers.applications import (
    ApplicationCreateSerializer,
    ApplicationPageSerializer,
    ApplicationSecretSerializer,
    ApplicationSerializer,
    ApplicationUpdateSerializer,
    AppRoleCreateSerializer,
    AppRoleListSerializer,
    AppRoleSerializer,
    AppRoleUpdateSerializer,
    ClientSecretSerializer,
    SecretRotateSerializer,
    app_role_json,
    application_json,
)
from applications.models import Application
from applications.role_services import app_role_create, app_role_delete, app_role_update
from applications.selectors import app_role_get, app_roles_with_groups, application_get, application_list
from applications.services import (
    application_create,
    application_delete,
    application_disable,
    application_enable,
    application_update,
    client_secret_rotate,
)
from directory.selectors import group_get
from orgs.models import Organization

APP_ID = OpenApiParameter("app_id", int, OpenApiParameter.PATH)
ROLE_ID = OpenApiParameter("role_id", int, OpenApiParameter.PATH)
NO_STORE = {"Cache-Control": "no-store"}


def _groups(org, ids, field: str = "allowed_groups") -> list:
    groups = []
    for pk in dict.fromkeys(ids):
        try:
            groups.append(group_get(org=org, pk=pk))
        except Http404:
            raise exceptions.ValidationError({field: [f"No group {pk} in this organization."]}) from None
    return groups


def _current(app: Application) -> dict:
    """The fields application_update takes, as they are now (a PATCH changes only what it names)."""
    return {"name": app.name, "description": app.description, "redirect_uris": app.redirect_uris.split(),
            "post_logout_redirect_uris": app.post_logout_redirect_uris.split(),
            "allowed_origins": app.allowed_origins.split(), "trusted": app.skip_authorization,
            "require_pkce": app.require_pkce, "access_token_lifetime": app.access_token_lifetime,
            "refresh_token_lifetime": app.refresh_token_lifetime, "allowed_scopes": app.allowed_scopes.split(),
            "allowed_groups": list(app.allowed_groups.all()), "backchannel_logout_uri": app.backchannel_logout_uri}


class _AppMixin:
    org: Organization
    def app(self, app_id) -> Application:
        return application_get(org=self.org, pk=app_id)


class ApplicationListView(_AppMixin, ApiView):
    permissions = {"GET": "applications.view", "POST": "applications.manage"}

    @extend_schema(responses=ApplicationPageSerializer, operation_id="applications_list",
                   summary="List the org's applications")
    def get(self, request: Request, org_slug: str) -> Response:
        apps = application_list(org=self.org).prefetch_related("allowed_groups")
        return Response({"data": [application_json(app) for app in apps], "next_cursor": None})

    @extend_schema(request=ApplicationCreateSerializer, responses={201: ApplicationSecretSerializer},
                   operation_id="applications_create",
                   summary="Register an application (a confidential kind's secret is shown once)")
    def post(self, request: Request, org_slug: str) -> Response:
        data = ApplicationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["allowed_groups"] = _groups(self.org, values.get("allowed_groups", []))
        if "trusted" in values:
            values["trusted"] = values.pop("trusted")
        created = application_create(org=self.org, actor=self.principal.actor, request=request, **values)
        body = {**application_json(self.app(created.application.pk)), "client_secret": created.client_secret}
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={**NO_STORE, "Location": f"{request.path.rstrip('/')}/{created.application.pk}"})


class ApplicationDetailView(_AppMixin, ApiView):
    permissions = {"GET": "applications.view", "PATCH": "applications.manage", "DELETE": "applications.manage"}

    @extend_schema(parameters=[APP_ID], responses=ApplicationSerializer, operation_id="applications_read",
                   summary="Read an application")
    def get(self, request: Request, org_slug: str, app_id: int) -> Response:
        body = application_json(self.app(app_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[APP_ID], request=ApplicationUpdateSerializer, responses=ApplicationSerializer,
                   operation_id="applications_update",
                   summary="Change an application: URIs, CORS origins, lifetimes, scopes, allowed groups…")
    def patch(self, request: Request, org_slug: str, app_id: int) -> Response:
        data = ApplicationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = self.app(app_id)
        self.if_match(request, application_json(app))
        values = {**_current(app), **data.validated_data}
        if "allowed_groups" in data.validated_data:
            values["allowed_groups"] = _groups(self.org, data.validated_data["allowed_groups"])
        application_update(application=app, actor=self.principal.actor, request=request, **values)
        body = application_json(self.app(app_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[APP_ID], responses={204: None}, operation_id="applications_delete",
                   summary="Delete an application (its tokens are revoked first)")
    def delete(self, request: Request, org_slug: str, app_id: int) -> Response:
        app = self.app(app_id)
        self.if_match(request, application_json(app))
        application_delete(application=app, actor=self.principal.actor, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(post=extend_schema(parameters=[APP_ID], request=SecretRotateSerializer,
                                       responses=ClientSecretSerializer, operation_id="applications_secret_rotate",
                                       summary="Give a confidential application a new client secret (shown once)"))
class ApplicationSecretView(_AppMixin, ApiView):
    permissions = {"POST": "applications.manage"}

    def post(self, request: Request, org_slug: str, app_id: int) -> Response:
        data = SecretRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        app = self.app(app_id)
        secret = client_secret_rotate(application=app, actor=self.principal.actor, request=request,
                                      overlap=timedelta(seconds=data.validated_data["overlap_seconds"]))
        return Response({"client_id": app.client_id, "client_secret": secret}, headers=NO_STORE)


class _AppStatusView(_AppMixin, ApiView):
    permissions = {"POST": "applications.manage"}
    service = staticmethod(application_enable)

    def post(self, request: Request, org_slug: str, app_id: int) -> Response:
        self.service(application=self.app(app_id), actor=self.principal.actor, request=request)
        body = application_json(self.app(app_id))
        return self.with_etag(Response(body), body)


@extend_schema_view(post=extend_schema(parameters=[APP_ID], request=None, responses=ApplicationSerializer,
                                       operation_id="applications_disable",
                                       summary="Disable an application (its tokens are revoked)"))
class ApplicationDisableView(_AppStatusView):
    service = staticmethod(application_disable)


@extend_schema_view(post=extend_schema(parameters=[APP_ID], request=None, responses=ApplicationSerializer,
                                       operation_id="applications_enable", summary="Enable an application"))
class ApplicationEnableView(_AppStatusView):
    service = staticmethod(application_enable)


class AppRoleListView(_AppMixin, ApiView):
    permissions = {"GET": "applications.view", "POST": "applications.manage"}

    @extend_schema(parameters=[APP_ID], responses=AppRoleListSerializer, operation_id="app_roles_list",
                   summary="An application's roles")
    def get(self, request: Request, org_slug: str, app_id: int) -> Response:
        roles = app_roles_with_groups(application=self.app(app_id))
        return Response({"data": [app_role_json(role) for role in roles], "next_cursor": None})

    @extend_schema(parameters=[APP_ID], request=AppRoleCreateSerializer, responses={201: AppRoleSerializer},
                   operation_id="app_roles_create", summary="Define a role, granted to groups")
    def post(self, request: Request, org_slug: str, app_id: int) -> Response:
        app = self.app(app_id)
        data = AppRoleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = app_role_create(application=app, key=data.validated_data["key"], name=data.validated_data["name"],
                               groups=_groups(self.org, data.validated_data.get("groups", []), "groups"),
                               actor=self.principal.actor, request=request)
        return Response(app_role_json(app_role_get(application=app, pk=role.pk)), status=status.HTTP_201_CREATED)


class AppRoleDetailView(_AppMixin, ApiView):
    permissions = {"PATCH": "applications.manage", "DELETE": "applications.manage"}

    @extend_schema(parameters=[APP_ID, ROLE_ID], request=AppRoleUpdateSerializer, responses=AppRoleSerializer,
                   operation_id="app_roles_update", summary="Rename a role or change its groups")
    def patch(self, request: Request, org_slug: str, app_id: int, role_id: int) -> Response:
        app = self.app(app_id)
        role = app_role_get(application=app, pk=role_id)
        data = AppRoleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        groups = (_groups(self.org, data.validated_data["groups"], "groups") if "groups" in data.validated_data
                  else list(role.groups.all()))
        app_role_update(role=role, name=data.validated_data.get("name", role.name), groups=groups,
                        actor=self.principal.actor, request=request)
        return Response(app_role_json(app_role_get(application=app, pk=role_id)))

    @extend_schema(parameters=[APP_ID, ROLE_ID], responses={204: None}, operation_id="app_roles_delete",
                   summary="Delete a role")
    def delete(self, request: Request, org_slug: str, app_id: int, role_id: int) -> Response:
        role = app_role_get(application=self.app(app_id), pk=role_id)
        app_role_delete(role=role, actor=self.principal.actor, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
