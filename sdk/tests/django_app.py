"""A Django API protected by gatehouse-sdk: function views with decorators, and DRF views."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from gatehouse_sdk import drf
from gatehouse_sdk.django import require_fresh_auth, require_role, require_scope, require_token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def describe(token) -> dict:
    if token is None:
        return {"token": None}
    return {"sub": token.sub, "client_id": token.client_id, "scopes": sorted(token.scopes), "org": token.org}


def public(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request.access_token))


@require_token
def me(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request.access_token))


@require_scope("orders:read")
def orders(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request.access_token))


@require_role("orders:admin")
def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request.access_token))


@require_fresh_auth(300)
@require_scope("orders:read")
def payments(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request.access_token))


@require_scope("orders:read")
async def async_orders(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request.access_token))


class DrfMe(APIView):
    def get(self, request: Request) -> Response:
        return Response({**describe(request.auth), "user": str(request.user)})


class DrfOrders(APIView):
    permission_classes = [drf.require_scope("orders:read")]

    def get(self, request: Request) -> Response:
        return Response(describe(request.auth))


class DrfAdmin(APIView):
    permission_classes = [drf.require_role("orders:admin")]

    def get(self, request: Request) -> Response:
        return Response(describe(request.auth))


class DrfPayments(APIView):
    permission_classes = [drf.require_scope("orders:read") & drf.require_fresh_auth(300)]

    def get(self, request: Request) -> Response:
        return Response(describe(request.auth))


urlpatterns = [
    path("public", public),
    path("me", me),
    path("orders", orders),
    path("admin", admin),
    path("payments", payments),
    path("async/orders", async_orders),
    path("drf/me", DrfMe.as_view()),
    path("drf/orders", DrfOrders.as_view()),
    path("drf/admin", DrfAdmin.as_view()),
    path("drf/payments", DrfPayments.as_view()),
]
