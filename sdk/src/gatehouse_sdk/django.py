"""Django: a middleware that verifies the bearer token, and view decorators that require one."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, JsonResponse

from .checks import check_fresh_auth, check_role, check_scope, validate_max_age
from .errors import ConfigurationError, GatehouseError, MissingToken
from .server import ResourceServer, refuse_token_in_query
from .token import AccessToken

__all__ = [
    "GatehouseMiddleware",
    "error_response",
    "get_resource_server",
    "require_fresh_auth",
    "require_role",
    "require_scope",
    "require_token",
    "token_for",
]

_server: ResourceServer | None = None


def get_resource_server() -> ResourceServer:
    """The ResourceServer built from settings.GATEHOUSE_SDK: {"ISSUER": ..., "AUDIENCE": ..., ...}, each
    key a ResourceServer argument in upper case (e.g. "INTROSPECTION_CLIENT_ID", "LEEWAY")."""
    global _server
    if _server is None:
        options = getattr(settings, "GATEHOUSE_SDK", None)
        if not isinstance(options, dict):
            raise ImproperlyConfigured('Set GATEHOUSE_SDK = {"ISSUER": ..., "AUDIENCE": ...} in your settings.')
        try:
            _server = ResourceServer(**{name.lower(): value for name, value in options.items()})
        except (ConfigurationError, TypeError) as exc:
            raise ImproperlyConfigured(f"GATEHOUSE_SDK: {exc}") from exc
    return _server


def _forget_server(*, setting: str, **kwargs: Any) -> None:
    global _server
    if setting == "GATEHOUSE_SDK":
        _server = None


setting_changed.connect(_forget_server)


def error_response(error: GatehouseError) -> HttpResponse:
    """The JSON error with RFC 6750's WWW-Authenticate (or Retry-After for an unreachable issuer)."""
    realm = _server.realm if _server is not None else None
    return JsonResponse(error.body(), status=error.status, headers=error.headers(realm))


def token_for(request: HttpRequest) -> AccessToken | None:
    """The request's verified token: the middleware's result, or verified here when it is not installed."""
    if not hasattr(request, "access_token"):
        refuse_token_in_query("access_token" in request.GET)
        request.access_token = get_resource_server().authenticate(request.headers.get("Authorization"))
    return request.access_token


class GatehouseMiddleware:
    """Sets `request.access_token` (an AccessToken, or None without a bearer token). A bad token is
    answered here with 400/401 (or 503 when the issuer cannot be reached); views that need a token
    say so with the decorators below."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            token_for(request)
        except GatehouseError as error:
            return error_response(error)
        return self.get_response(request)


def _view_check(check: Callable[[AccessToken], None]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a check on the token into a decorator for sync and async function views."""

    def run(request: HttpRequest) -> HttpResponse | None:
        try:
            token = token_for(request)
            if token is None:
                raise MissingToken
            check(token)
        except GatehouseError as error:
            return error_response(error)
        return None

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                refused = await sync_to_async(run)(request)
                return refused if refused is not None else await view(request, *args, **kwargs)

            return async_wrapper

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refused = run(request)
            return refused if refused is not None else view(request, *args, **kwargs)

        return wrapper

    return decorator


def require_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any valid access token; none gives 401 with `WWW-Authenticate: Bearer`."""
    return _view_check(lambda token: None)(view)


def require_scope(*scopes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every named scope (403 insufficient_scope naming them otherwise)."""
    return _view_check(lambda token: check_scope(token, *scopes))


def require_role(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Every named app role (403 insufficient_scope naming the role otherwise)."""
    return _view_check(lambda token: check_role(token, *roles))


def require_fresh_auth(max_age: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A user who signed in at most `max_age` seconds ago (401 insufficient_user_authentication, RFC 9470)."""
    validate_max_age(max_age)
    return _view_check(lambda token: check_fresh_auth(token, max_age, now=get_resource_server().clock()))
