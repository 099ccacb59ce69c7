"""Django REST framework: an authentication class and permission classes for Gatehouse tokens."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .checks import check_fresh_auth, check_role, check_scope, validate_max_age
from .django import get_resource_server, token_for
from .errors import GatehouseError, MissingToken
from .token import AccessToken, TokenUser

__all__ = ["BearerError", "GatehouseAuthentication", "require_fresh_auth", "require_role", "require_scope"]


class BearerError(exceptions.APIException):
    """A GatehouseError as DRF renders it: the same status, JSON body and headers as the middleware."""

    def __init__(self, error: GatehouseError) -> None:
        super().__init__(detail=error.body())
        self.status_code = error.status
        headers = error.headers(get_resource_server().realm)
        # DRF's exception handler copies these two attributes into the response headers.
        self.auth_header = headers.get("WWW-Authenticate")
        if "Retry-After" in headers:
            self.wait = int(headers["Retry-After"])


class GatehouseAuthentication(BaseAuthentication):
    """`request.user` becomes a TokenUser and `request.auth` the AccessToken; no token leaves the
    request anonymous, so that DRF's permissions answer 401 with a Bearer challenge."""

    def authenticate(self, request: Request) -> tuple[TokenUser, AccessToken] | None:
        try:
            token = token_for(request._request)
        except GatehouseError as error:
            raise BearerError(error) from error
        return None if token is None else (TokenUser(token), token)

    def authenticate_header(self, request: Request) -> str:
        return MissingToken().challenge(get_resource_server().realm)


class _TokenPermission(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        try:
            if not isinstance(request.auth, AccessToken):
                raise MissingToken
            self.check(request.auth)
        except GatehouseError as error:
            raise BearerError(error) from error
        return True

    def check(self, token: AccessToken) -> None:
        raise NotImplementedError


def require_scope(*scopes: str) -> type[BasePermission]:
    """A permission class: every named scope, else 403 with `error="insufficient_scope"`."""
    return type("RequireScope", (_TokenPermission,), {"check": lambda self, token: check_scope(token, *scopes)})


def require_role(*roles: str) -> type[BasePermission]:
    """A permission class: every named app role, else 403 with `error="insufficient_scope"`."""
    return type("RequireRole", (_TokenPermission,), {"check": lambda self, token: check_role(token, *roles)})


def require_fresh_auth(max_age: int) -> type[BasePermission]:
    """A permission class: a sign-in at most `max_age` seconds ago, else the RFC 9470 401 challenge."""
    validate_max_age(max_age)

    def check(self: Any, token: AccessToken) -> None:
        check_fresh_auth(token, max_age, now=get_resource_server().clock())

    return type("RequireFreshAuth", (_TokenPermission,), {"check": check})
