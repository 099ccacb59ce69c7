"""/api/v1/platform/…: what platform operators do, with a platform key (`manage.py create_api_key --platform`).

Organizations (list, create, read, suspend, reactivate) and the platform audit (every org's events and the
platform's own). The same services as the platform console, so the same audit events; the actor is the
system (a platform key is an operator's, made on the command line).
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.fields import CharField, StrictCharField
from api.pagination import PageQuery, cursor_decode, cursor_encode, page_body
from api.serializers import StrictSerializer
from api.serializers.records import AuditEventSerializer, AuditQuery, audit_event_json
from audit.selectors import PLATFORM_ONLY, Cursor, audit_event_list_platform, audit_page
from orgs.models import Organization
from orgs.selectors import organization_get, organization_list
from orgs.services import organization_create, organization_reactivate, organization_suspend

SLUG = OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The organization's slug.")


class OrganizationSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Organization.Status.choices)
    created_at = serializers.DateTimeField()


def organization_json(org: Organization) -> dict[str, Any]:
    return {"slug": org.slug, "name": org.name, "status": org.status,
            "created_at": org.created_at.isoformat().replace("+00:00", "Z")}


class OrganizationPageSerializer(serializers.Serializer):
    data = OrganizationSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class OrganizationCreateSerializer(StrictSerializer):
    slug = StrictCharField(max_length=50)
    name = StrictCharField(max_length=150)


class ReasonSerializer(StrictSerializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=500, default="")


class PlatformAuditQuery(AuditQuery):
    org = CharField(required=False, max_length=50,
                                help_text="An organization's slug, or - for the platform's own events.")


class PlatformAuditEventSerializer(AuditEventSerializer):
    org = serializers.CharField(allow_null=True, help_text="The organization's slug; null for the platform.")


class PlatformAuditPageSerializer(serializers.Serializer):
    data = PlatformAuditEventSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class OrganizationListView(ApiView):
    platform_only = True
    permissions = {"GET": "platform.view", "POST": "platform.manage"}
    query_params = frozenset({"limit", "cursor"})

    @extend_schema(parameters=[PageQuery], responses=OrganizationPageSerializer, operation_id="platform_orgs_list",
                   summary="Every organization, by slug")
    def get(self, request: Request) -> Response:
        page = PageQuery(data=request.query_params)
        page.is_valid(raise_exception=True)
        orgs = organization_list().order_by("slug")
        if "cursor" in page.validated_data:
            after = cursor_decode(page.validated_data["cursor"], list_name="platform-orgs", org_id=None, filters={})
            if not isinstance(after, str):
                raise exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})
            orgs = orgs.filter(slug__gt=after)
        limit = page.validated_data["limit"]
        rows = list(orgs[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = cursor_encode(rows[-1].slug, list_name="platform-orgs", org_id=None, filters={}) if more else None
        return Response(page_body([organization_json(org) for org in rows], cursor))

    @extend_schema(request=OrganizationCreateSerializer, responses={201: OrganizationSerializer},
                   operation_id="platform_orgs_create", summary="Create an organization")
    def post(self, request: Request) -> Response:
        data = OrganizationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = organization_create(actor=None, request=request, **data.validated_data)
        return Response(organization_json(org), status=status.HTTP_201_CREATED,
                        headers={"Location": f"{request.path.rstrip('/')}/{org.slug}"})


class OrganizationDetailView(ApiView):
    platform_only = True
    permissions = {"GET": "platform.view"}

    @extend_schema(parameters=[SLUG], responses=OrganizationSerializer, operation_id="platform_orgs_read",
                   summary="One organization")
    def get(self, request: Request, slug: str) -> Response:
        return Response(organization_json(organization_get(slug=slug)))


class _OrganizationStatusView(ApiView):
    platform_only = True
    permissions = {"POST": "platform.manage"}
    service = staticmethod(organization_suspend)

    def post(self, request: Request, slug: str) -> Response:
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = self.service(org=organization_get(slug=slug), actor=None, request=request,
                           reason=data.validated_data["reason"])
        return Response(organization_json(org))


@extend_schema_view(post=extend_schema(parameters=[SLUG], request=ReasonSerializer, responses=OrganizationSerializer,
                                       operation_id="platform_orgs_suspend",
                                       summary="Suspend an organization (its apps' tokens are revoked)"))
class OrganizationSuspendView(_OrganizationStatusView):
    service = staticmethod(organization_suspend)


@extend_schema_view(post=extend_schema(parameters=[SLUG], request=ReasonSerializer, responses=OrganizationSerializer,
                                       operation_id="platform_orgs_reactivate",
                                       summary="Reactivate a suspended organization"))
class OrganizationReactivateView(_OrganizationStatusView):
    service = staticmethod(organization_reactivate)


class PlatformAuditView(ApiView):
    platform_only = True
    permissions = {"GET": "platform.view"}
    query_params = frozenset({"org", "action", "actor", "target", "date_from", "date_to", "ip", "limit", "cursor"})

    @extend_schema(parameters=[PlatformAuditQuery, PageQuery], responses=PlatformAuditPageSerializer,
                   operation_id="platform_audit_list", summary="The platform audit: every org's events and its own")
    def get(self, request: Request) -> Response:
        query = PlatformAuditQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = PageQuery(data=request.query_params)
        page.is_valid(raise_exception=True)
        filters = {name: value for name, value in query.validated_data.items() if value not in (None, "")}
        org_filter = filters.pop("org", None)
        org: Organization | str | None = None
        if org_filter == PLATFORM_ONLY:
            org = PLATFORM_ONLY
        elif org_filter:
            org = Organization.objects.filter(slug=org_filter).first()
            if org is None:
                raise exceptions.ValidationError({"org": ["No organization with this slug."]})
        fingerprint = {**filters, "org": org_filter}
        before = None
        if "cursor" in page.validated_data:
            position = cursor_decode(page.validated_data["cursor"], list_name="platform-audit", org_id=None,
                                     filters=fingerprint)
            try:
                before = Cursor.decode(position) if isinstance(position, str) else None
            except (ValueError, OverflowError):
                before = None
            if before is None:
                raise exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})
        result = audit_page(audit_event_list_platform(org=org, **filters), before=before,
                            size=page.validated_data["limit"])
        cursor = (cursor_encode(result.next_before, list_name="platform-audit", org_id=None, filters=fingerprint)
                  if result.next_before else None)
        rows = [{**audit_event_json(event), "org": event.org.slug if event.org else None} for event in result.events]
        return Response(page_body(rows, cursor))
