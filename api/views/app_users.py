"""/api/v1/app/users: an application's one-way user sync, and whether an address is one of its users.

Called as the application (a key bound to it; its client credentials later), with members.view. The answer
to a lookup is "assigned" or "not assigned" and nothing else: never whether the address has an account
in another org, or in this one without being assigned.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.pagination import PageQuery, cursor_decode, cursor_encode
from api.serializers.app_users import LookupResultSerializer, LookupSerializer, SyncPageSerializer
from api.sync import assigned_users, feed_item, sync_hash, sync_head, sync_page, sync_reconcile
from applications.models import Application


class AppUsersView(ApiView):
    permissions = {"GET": "members.view"}
    query_params = frozenset({"cursor", "limit"})
    app_only = True

    @property
    def application(self) -> Application:
        # app_only: the base view refused every caller without an application before any handler runs.
        application = self.principal.application
        assert application is not None
        return application

    def _position(self, raw: str) -> tuple[int, int]:
        position = cursor_decode(raw, list_name="app-users", org_id=self.org.pk,
                                 filters={"app": self.application.pk})
        after, skip = (position.get("after"), position.get("skip")) if isinstance(position, dict) else (None, None)
        if not isinstance(after, int) or not isinstance(skip, int) or after < 0 or skip < 0:
            raise exceptions.ValidationError({"cursor": ["This cursor cannot be read; start again without one."]})
        return after, skip

    @extend_schema(parameters=[PageQuery], responses=SyncPageSerializer, operation_id="app_users_sync",
                   summary="Sync the users assigned to the calling application")
    def get(self, request: Request) -> Response:
        page_query = PageQuery(data=request.query_params)
        page_query.is_valid(raise_exception=True)
        application = self.application
        if "cursor" in page_query.validated_data:
            after, skip = self._position(page_query.validated_data["cursor"])
            head = sync_head(application)
            if after > head:
                raise exceptions.ValidationError({"cursor": ["This cursor is ahead of this application's feed; "
                                                             "start again without one."]})
            if after == head:
                # At the head: look for news (at most once per minimum interval per application).
                sync_reconcile(application=application)
        else:
            sync_reconcile(application=application)
            # A first sync needs no tombstones of what it never had; those made while it pages are news.
            after, skip = 0, sync_head(application)
        limit = page_query.validated_data["limit"]
        entries = sync_page(application=application, after=after, skip_removed_until=skip, limit=limit)
        has_more = len(entries) > limit
        entries = entries[:limit]
        last = entries[-1].seq if entries else after
        cursor = cursor_encode({"after": last, "skip": skip}, list_name="app-users", org_id=self.org.pk,
                               filters={"app": application.pk})
        return Response({"data": [feed_item(entry) for entry in entries], "next_cursor": cursor,
                         "has_more": has_more})


class AppUserLookupView(ApiView):
    permissions = {"POST": "members.view"}
    app_only = True

    @extend_schema(request=LookupSerializer, responses=LookupResultSerializer, operation_id="app_users_lookup",
                   summary="Is this address one of the calling application's users?")
    def post(self, request: Request) -> Response:
        data = LookupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        application = self.principal.application
        assert application is not None  # app_only
        found = list(assigned_users(application, email=email).values())
        if not found:
            return Response({"email": email, "assigned": False})
        user = found[0]
        return Response({"email": email, "assigned": True,
                         "user": {**user, "deleted": False, "sync_hash": sync_hash(user)}})
