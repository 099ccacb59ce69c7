"""/api/v1/orgs/{org}/audit-events (read) and /email (list, read, requeue, cancel): the org's records.

Reads go through audit.selectors and emailqueue.selectors as the console's pages do, so an org never sees
another org's or the platform's rows; one-time links in mail are redacted as on the console.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.pagination import PageQuery, cursor_decode, cursor_encode, page_body
from api.serializers.records import (
    AuditEventDetailSerializer,
    AuditPageSerializer,
    AuditQuery,
    EmailCancelSerializer,
    EmailDetailSerializer,
    EmailPageSerializer,
    EmailQuery,
    audit_event_json,
    email_json,
)
from audit.selectors import Cursor, audit_event_get, audit_event_list, audit_page
from emailqueue.selectors import email_get, email_list, email_page
from emailqueue.services import email_cancel, email_requeue

EVENT_ID = OpenApiParameter("event_id", int, OpenApiParameter.PATH)
EMAIL_ID = OpenApiParameter("email_id", int, OpenApiParameter.PATH)


def _filters(query_class, request: Request) -> tuple[dict, dict]:
    query = query_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    page = PageQuery(data=request.query_params)
    page.is_valid(raise_exception=True)
    return {name: value for name, value in query.validated_data.items() if value not in (None, "")}, \
        page.validated_data


def _unreadable() -> exceptions.ValidationError:
    return exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})


class AuditEventListView(ApiView):
    permissions = {"GET": "audit.view"}
    query_params = frozenset({"action", "actor", "target", "date_from", "date_to", "ip", "limit", "cursor"})

    @extend_schema(parameters=[AuditQuery, PageQuery], responses=AuditPageSerializer, operation_id="audit_list",
                   summary="The org's audit events, newest first")
    def get(self, request: Request, org_slug: str) -> Response:
        filters, page = _filters(AuditQuery, request)
        before = None
        if "cursor" in page:
            position = cursor_decode(page["cursor"], list_name="audit", org_id=self.org.pk, filters=filters)
            try:
                before = Cursor.decode(position) if isinstance(position, str) else None
            except (ValueError, OverflowError):
                before = None
            if before is None:
                raise _unreadable()
        result = audit_page(audit_event_list(org=self.org, **filters), before=before, size=page["limit"])
        cursor = (cursor_encode(result.next_before, list_name="audit", org_id=self.org.pk, filters=filters)
                  if result.next_before else None)
        return Response(page_body([audit_event_json(event) for event in result.events], cursor))


class AuditEventDetailView(ApiView):
    permissions = {"GET": "audit.view"}

    @extend_schema(parameters=[EVENT_ID], responses=AuditEventDetailSerializer, operation_id="audit_read",
                   summary="One audit event, with its metadata")
    def get(self, request: Request, org_slug: str, event_id: int) -> Response:
        return Response(audit_event_json(audit_event_get(org=self.org, pk=event_id), detail=True))


class EmailListView(ApiView):
    permissions = {"GET": "email.view"}
    query_params = frozenset({"status", "recipient", "limit", "cursor"})

    @extend_schema(parameters=[EmailQuery, PageQuery], responses=EmailPageSerializer, operation_id="email_list",
                   summary="The org's outgoing mail, newest first")
    def get(self, request: Request, org_slug: str) -> Response:
        filters, page = _filters(EmailQuery, request)
        before = None
        if "cursor" in page:
            before = cursor_decode(page["cursor"], list_name="email", org_id=self.org.pk, filters=filters)
            if isinstance(before, bool) or not isinstance(before, int) or before < 1:
                raise _unreadable()
        result = email_page(email_list(org=self.org, **filters), before=before, size=page["limit"])
        cursor = (cursor_encode(result.next_before, list_name="email", org_id=self.org.pk, filters=filters)
                  if result.next_before else None)
        return Response(page_body([email_json(email) for email in result.emails], cursor))


class EmailDetailView(ApiView):
    permissions = {"GET": "email.view"}

    @extend_schema(parameters=[EMAIL_ID], responses=EmailDetailSerializer, operation_id="email_read",
                   summary="One message (one-time links redacted)")
    def get(self, request: Request, org_slug: str, email_id: int) -> Response:
        return Response(email_json(email_get(org=self.org, pk=email_id), detail=True))


class EmailRequeueView(ApiView):
    permissions = {"POST": "email.manage"}

    @extend_schema(parameters=[EMAIL_ID], request=None, responses=EmailDetailSerializer,
                   operation_id="email_requeue", summary="Send a failed, dead or cancelled message again")
    def post(self, request: Request, org_slug: str, email_id: int) -> Response:
        email = email_requeue(email=email_get(org=self.org, pk=email_id), actor=self.principal.actor, request=request)
        return Response(email_json(email_get(org=self.org, pk=email.pk), detail=True))


class EmailCancelView(ApiView):
    permissions = {"POST": "email.manage"}

    @extend_schema(parameters=[EMAIL_ID], request=EmailCancelSerializer, responses=EmailDetailSerializer,
                   operation_id="email_cancel", summary="Cancel a message that has not been sent")
    def post(self, request: Request, org_slug: str, email_id: int) -> Response:
        data = EmailCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = email_cancel(email=email_get(org=self.org, pk=email_id), actor=self.principal.actor, request=request,
                             reason=data.validated_data["reason"])
        return Response(email_json(email_get(org=self.org, pk=email.pk), detail=True))
