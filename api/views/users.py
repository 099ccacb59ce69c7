"""/api/v1/orgs/{org}/users: an org's members — list, invite, read, change, remove, and account actions.

The same services as the console's users pages, so the same rules and audit events: only a holder of
owners.manage grants the owner role or acts on an owner; the last owner stays; account actions (reset,
unlock) only while the membership is active, and only for users of this org alone (the services say so).
"""

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.pagination import PageQuery, cursor_decode, cursor_encode, page_body
from api.principal import ApiPrincipal
from api.problems import Conflict
from api.serializers.users import (
    ActionResultSerializer,
    MemberInviteSerializer,
    MemberListQuery,
    MemberPageSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    SessionsEndedSerializer,
    member_json,
)
from directory.group_selectors import groups_of_users_in_org
from directory.member_services import member_sessions_end, membership_employee_id_update
from directory.selectors import group_get, org_member_get, user_cursor_decode, user_list, user_page
from directory.services import user_password_reset_send, user_profile_update
from orgs.models import Membership, Organization
from orgs.services import (
    invitation_resend,
    member_invite,
    membership_reactivate,
    membership_remove,
    membership_role_change,
    membership_suspend,
)
from security.services import account_unlock

USER_ID = OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The user's id.")


def _group_filter(org, pk: int | None):
    if pk is None:
        return None
    try:
        return group_get(org=org, pk=pk)
    except Http404:
        raise exceptions.ValidationError({"group": ["No such group in this organization."]}) from None


class _MemberMixin:
    """The member named in the URL, and the console's rule that only an owner acts on an owner."""

    org: Organization
    principal: ApiPrincipal

    def member(self, user_id) -> Membership:
        return org_member_get(org=self.org, user_pk=user_id)

    def member_body(self, membership: Membership) -> dict:
        groups = groups_of_users_in_org(org=self.org, user_ids=[membership.user_id]).get(membership.user_id, [])
        return member_json(membership, groups)

    def check_may_manage(self, membership: Membership) -> None:
        if membership.role == Membership.Role.OWNER and not self.principal.has("owners.manage"):
            raise exceptions.PermissionDenied("Only an owner's key can change an owner's membership or account.",
                                              code="owner_protected")

    def check_account_action(self, membership: Membership) -> None:
        if membership.status != Membership.Status.ACTIVE:
            raise Conflict("Account actions are available once the membership is active.")


class MemberListView(_MemberMixin, ApiView):
    permissions = {"GET": "members.view", "POST": "members.manage"}
    query_params = frozenset({"q", "status", "role", "group", "sort", "limit", "cursor"})

    @extend_schema(parameters=[MemberListQuery, PageQuery], responses=MemberPageSerializer,
                   summary="List the org's users", operation_id="users_list")
    def get(self, request: Request, org_slug: str) -> Response:
        query = MemberListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page_query = PageQuery(data=request.query_params)
        page_query.is_valid(raise_exception=True)
        filters = {name: value for name, value in query.validated_data.items() if value not in (None, "")}
        sort = filters.get("sort", "email")
        after = None
        if "cursor" in page_query.validated_data:
            position = cursor_decode(page_query.validated_data["cursor"], list_name="users", org_id=self.org.pk,
                                     filters=filters)
            try:
                after = user_cursor_decode(position, sort) if isinstance(position, str) else None
            except ValueError:
                after = None
            if after is None:
                raise exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})
        memberships = user_list(org=self.org, query=filters.get("q"), status=filters.get("status"),
                                role=filters.get("role"), group=_group_filter(self.org, filters.get("group")),
                                sort=sort)
        page = user_page(memberships, sort=sort, after=after, size=page_query.validated_data["limit"])
        groups = groups_of_users_in_org(org=self.org, user_ids=[m.user_id for m in page.memberships])
        next_cursor = (cursor_encode(page.next_after, list_name="users", org_id=self.org.pk, filters=filters)
                       if page.next_after else None)
        return Response(page_body([member_json(m, groups.get(m.user_id, [])) for m in page.memberships],
                                  next_cursor))

    @extend_schema(request=MemberInviteSerializer, responses={201: MemberSerializer}, summary="Invite a user",
                   operation_id="users_invite")
    def post(self, request: Request, org_slug: str) -> Response:
        data = MemberInviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["role"] == Membership.Role.OWNER and not self.principal.has("owners.manage"):
            raise exceptions.PermissionDenied("Only an owner's key can grant the owner role.", code="owner_protected")
        groups = []
        for pk in values["groups"]:
            try:
                groups.append(group_get(org=self.org, pk=pk))
            except Http404:
                raise exceptions.ValidationError({"groups": [f"No group {pk} in this organization."]}) from None
        membership = member_invite(org=self.org, email=values["email"], role=values["role"],
                                   full_name=values["full_name"], groups=groups, actor=self.principal.actor,
                                   request=request)
        body = self.member_body(self.member(membership.user_id))
        response = Response(body, status=status.HTTP_201_CREATED,
                            headers={"Location": f"{request.path.rstrip('/')}/{membership.user_id}"})
        return self.with_etag(response, body)


class MemberDetailView(_MemberMixin, ApiView):
    permissions = {"GET": "members.view", "PATCH": "members.manage", "DELETE": "members.manage"}

    @extend_schema(parameters=[USER_ID], responses=MemberSerializer, summary="Read a user", operation_id="users_read")
    def get(self, request: Request, org_slug: str, user_id: int) -> Response:
        body = self.member_body(self.member(user_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[USER_ID], request=MemberUpdateSerializer, responses=MemberSerializer,
                   summary="Change a user's role, status, employee id or name (If-Match: the ETag you read)",
                   operation_id="users_update")
    def patch(self, request: Request, org_slug: str, user_id: int) -> Response:
        data = MemberUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        membership = self.member(user_id)
        self.if_match(request, self.member_body(membership))
        self.check_may_manage(membership)
        if values.get("role") == Membership.Role.OWNER and not self.principal.has("owners.manage"):
            raise exceptions.PermissionDenied("Only an owner's key can grant the owner role.", code="owner_protected")
        actor = self.principal.actor
        # One change of several fields is all or nothing: a refusal of the last undoes the first.
        with transaction.atomic():
            if "employee_id" in values:
                membership_employee_id_update(membership=membership, employee_id=values["employee_id"], actor=actor,
                                              request=request)
            if "full_name" in values:
                self.check_account_action(membership)
                user_profile_update(org=self.org, user=membership.user, full_name=values["full_name"], actor=actor,
                                    request=request)
            if "role" in values:
                membership_role_change(membership=membership, role=values["role"], actor=actor, request=request)
            if values.get("status") == Membership.Status.SUSPENDED:
                membership_suspend(membership=membership, actor=actor, request=request)
            elif values.get("status") == Membership.Status.ACTIVE:
                membership_reactivate(membership=membership, actor=actor, request=request)
        body = self.member_body(self.member(user_id))
        return self.with_etag(Response(body), body)

    @extend_schema(parameters=[USER_ID], responses={204: None}, summary="Remove a user from the org",
                   operation_id="users_remove")
    def delete(self, request: Request, org_slug: str, user_id: int) -> Response:
        membership = self.member(user_id)
        self.if_match(request, self.member_body(membership))
        self.check_may_manage(membership)
        membership_remove(membership=membership, actor=self.principal.actor, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _MemberActionView(_MemberMixin, ApiView):
    permissions = {"POST": "members.manage"}
    on_account = False

    def perform(self, request: Request, membership: Membership) -> tuple[str, bool]:
        raise NotImplementedError

    def post(self, request: Request, org_slug: str, user_id: int) -> Response:
        membership = self.member(user_id)
        self.check_may_manage(membership)
        if self.on_account:
            self.check_account_action(membership)
        detail, changed = self.perform(request, membership)
        return Response({"detail": detail, "changed": changed})


@extend_schema_view(post=extend_schema(parameters=[USER_ID], request=None, responses=ActionResultSerializer,
               summary="Email the user a password reset link",
               operation_id="users_password_reset"))
class MemberPasswordResetView(_MemberActionView):
    on_account = True

    def perform(self, request, membership):
        user_password_reset_send(org=self.org, user=membership.user, actor=self.principal.actor, request=request)
        return f"Sent a password reset email to {membership.user.email}.", True


@extend_schema_view(post=extend_schema(parameters=[USER_ID], request=None, responses=ActionResultSerializer,
               summary="Lift the user's sign-in lock", operation_id="users_unlock"))
class MemberUnlockView(_MemberActionView):
    on_account = True

    def perform(self, request, membership):
        lifted = account_unlock(user=membership.user, actor=self.principal.actor, request=request, org=self.org)
        if lifted:
            return f"Unlocked the account of {membership.user.email}.", True
        return f"{membership.user.email} was not locked; nothing changed.", False


@extend_schema_view(post=extend_schema(parameters=[USER_ID], request=None, responses=ActionResultSerializer,
               summary="Send a fresh invitation (the previous link stops working)",
               operation_id="users_invitation_resend"))
class MemberInvitationResendView(_MemberActionView):
    def perform(self, request, membership):
        invitation_resend(membership=membership, actor=self.principal.actor, request=request)
        return f"Sent a new invitation to {membership.user.email}.", True


@extend_schema_view(post=extend_schema(
    parameters=[USER_ID], request=None, responses=SessionsEndedSerializer,
    summary="Sign the user out everywhere (ends every session; this org's apps lose those sessions' tokens)",
    operation_id="users_sessions_end"))
class MemberSessionsEndView(_MemberActionView):
    """The console's "End all sessions": one sign-in serves every org of the user, so it ends everywhere."""

    def post(self, request: Request, org_slug: str, user_id: int) -> Response:
        membership = self.member(user_id)
        self.check_may_manage(membership)
        self.check_account_action(membership)
        ended = member_sessions_end(org=self.org, membership=membership, actor=self.principal.actor, request=request)
        email = membership.user.email
        detail = (f"Ended {ended} session{'s' if ended != 1 else ''} of {email}." if ended
                  else f"{email} had no open session; nothing changed.")
        return Response({"detail": detail, "changed": ended > 0, "ended": ended})
