"""/api/v1/orgs/{org}/groups: an org's groups and their members, through the console's group services."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.pagination import PageQuery, cursor_decode, cursor_encode, page_body
from api.serializers.groups import (
    GroupCreateSerializer,
    GroupMemberPageSerializer,
    GroupMembersAddedSerializer,
    GroupMembersAddSerializer,
    GroupPageSerializer,
    GroupSerializer,
    GroupUpdateSerializer,
    group_json,
    group_member_json,
)
from directory.group_selectors import group_list_with_counts, group_memberships
from directory.models import Group
from directory.selectors import group_get, org_member_get
from directory.services import group_create, group_delete, group_member_remove, group_members_add, group_update
from orgs.models import Organization

GROUP_ID = OpenApiParameter("group_id", int, OpenApiParameter.PATH)
USER_ID = OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The user's id.")


def _keyset_ints(position, *, length: int = 1) -> list:
    if not isinstance(position, list) or len(position) != length:
        raise exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})
    return position


class _GroupMixin:
    org: Organization
    def group(self, group_id) -> Group:
        group = group_get(org=self.org, pk=group_id)
        return group_list_with_counts(org=self.org).get(pk=group.pk)


class GroupListView(_GroupMixin, ApiView):
    permissions = {"GET": "groups.view", "POST": "groups.manage"}
    query_params = frozenset({"limit", "cursor"})

    @extend_schema(parameters=[PageQuery], responses=GroupPageSerializer, operation_id="groups_list",
                   summary="List the org's groups, by name")
    def get(self, request: Request, org_slug: str) -> Response:
        page = PageQuery(data=request.query_params)
        page.is_valid(raise_exception=True)
        groups = group_list_with_counts(org=self.org)
        if "cursor" in page.validated_data:
            name, pk = _keyset_ints(cursor_decode(page.validated_data["cursor"], list_name="groups",
                                                  org_id=self.org.pk, filters={}), length=2)
            if not isinstance(name, str) or not isinstance(pk, int):
                raise exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})
            groups = groups.filter(name__gte=name).exclude(name=name, pk__lte=pk)
        limit = page.validated_data["limit"]
        rows = list(groups.order_by("name", "pk")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = (cursor_encode([rows[-1].name, rows[-1].pk], list_name="groups", org_id=self.org.pk, filters={})
                  if more else None)
        return Response(page_body([group_json(group) for group in rows], cursor))

    @extend_schema(request=GroupCreateSerializer, responses={201: GroupSerializer}, operation_id="groups_create",
                   summary="Create a group")
    def post(self, request: Request, org_slug: str) -> Response:
        data = GroupCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = group_create(org=self.org, actor=self.principal.actor, request=request, **data.validated_data)
        body = group_json(self.group(created.pk))
        response = Response(body, status=status.HTTP_201_CREATED,
                            headers={"Location": f"{request.path.rstrip('/')}/{created.pk}"})
        return self.with_etag(response, body)


class GroupDetailView(_GroupMixin, ApiView):
    permissions = {"GET": "groups.view", "PATCH": "groups.manage", "DELETE": "groups.manage"}

    @extend_schema(parameters=[GROUP_ID], responses=GroupSerializer, operation_id="groups_read",
                   summary="Read a group")
    def get(self, request: Request, org_slug: str, group_id: int) -> Response:
        body = group_json(self.group(group_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[GROUP_ID], request=GroupUpdateSerializer, responses=GroupSerializer,
                   operation_id="groups_update", summary="Rename or describe a group (the slug never changes)")
    def patch(self, request: Request, org_slug: str, group_id: int) -> Response:
        data = GroupUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = self.group(group_id)
        self.if_match(request, group_json(group))
        group_update(group=group, name=data.validated_data.get("name", group.name),
                     description=data.validated_data.get("description", group.description),
                     actor=self.principal.actor, request=request)
        body = group_json(self.group(group_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[GROUP_ID], responses={204: None}, operation_id="groups_delete",
                   summary="Delete a group (refused while it is the only group an application allows)")
    def delete(self, request: Request, org_slug: str, group_id: int) -> Response:
        group = self.group(group_id)
        self.if_match(request, group_json(group))
        group_delete(group=group, actor=self.principal.actor, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMembersView(_GroupMixin, ApiView):
    permissions = {"GET": "groups.view", "POST": "groups.manage"}
    query_params = frozenset({"limit", "cursor"})

    @extend_schema(parameters=[GROUP_ID, PageQuery], responses=GroupMemberPageSerializer,
                   operation_id="groups_members_list", summary="List a group's members")
    def get(self, request: Request, org_slug: str, group_id: int) -> Response:
        group = group_get(org=self.org, pk=group_id)
        page = PageQuery(data=request.query_params)
        page.is_valid(raise_exception=True)
        rows = group_memberships(group=group).order_by("pk")
        filters = {"group": group.pk}
        if "cursor" in page.validated_data:
            (after,) = _keyset_ints(cursor_decode(page.validated_data["cursor"], list_name="group-members",
                                                  org_id=self.org.pk, filters=filters))
            if not isinstance(after, int):
                raise exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})
            rows = rows.filter(pk__gt=after)
        limit = page.validated_data["limit"]
        found = list(rows[: limit + 1])
        more = len(found) > limit
        found = found[:limit]
        cursor = (cursor_encode([found[-1].pk], list_name="group-members", org_id=self.org.pk, filters=filters)
                  if more else None)
        return Response(page_body([group_member_json(row) for row in found], cursor))

    @extend_schema(parameters=[GROUP_ID], request=GroupMembersAddSerializer, responses=GroupMembersAddedSerializer,
                   operation_id="groups_members_add", summary="Add users to a group (all or none)")
    def post(self, request: Request, org_slug: str, group_id: int) -> Response:
        group = group_get(org=self.org, pk=group_id)
        data = GroupMembersAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        users = []
        for user_id in dict.fromkeys(data.validated_data["user_ids"]):
            try:
                users.append(org_member_get(org=self.org, user_pk=user_id).user)
            except Http404:
                # The same words for an unknown id and another org's user: nothing about other orgs leaks.
                raise exceptions.ValidationError({"user_ids": [f"No user {user_id} in this organization."]}) \
                    from None
        added = group_members_add(group=group, users=users, actor=self.principal.actor, request=request)
        return Response({"added": [user.pk for user in added]})


class GroupMemberView(ApiView):
    permissions = {"DELETE": "groups.manage"}

    @extend_schema(parameters=[GROUP_ID, USER_ID], responses={204: None}, operation_id="groups_members_remove",
                   summary="Take a user out of a group")
    def delete(self, request: Request, org_slug: str, group_id: int, user_id: int) -> Response:
        group = group_get(org=self.org, pk=group_id)
        membership = org_member_get(org=self.org, user_pk=user_id)
        if not group_member_remove(group=group, user=membership.user, actor=self.principal.actor, request=request):
            raise exceptions.NotFound("This user is not in the group.")
        return Response(status=status.HTTP_204_NO_CONTENT)
