"""ASGI (Starlette, FastAPI): a middleware that verifies the bearer token, and FastAPI dependencies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request

from .checks import check_fresh_auth, check_role, check_scope, validate_max_age
from .errors import GatehouseError, InvalidRequest, MissingToken
from .keys import NeedsNetwork
from .server import ResourceServer, refuse_token_in_query
from .token import AccessToken

__all__ = ["GatehouseMiddleware", "require_fresh_auth", "require_role", "require_scope", "require_token"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SERVER_KEY = "gatehouse.server"


class GatehouseMiddleware:
    """Puts the verified token in `request.state.access_token` (None without a bearer token) and
    answers a bad one itself: 400/401 with RFC 6750's WWW-Authenticate, 503 if the issuer is down.

    Verification runs on the event loop (it is CPU-only once the keys are cached); only when the
    issuer must be asked (JWKS refresh, introspection) does it move to a worker thread.
    """

    def __init__(self, app: ASGIApp, *, server: ResourceServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            token = await self._authenticate(scope)
        except GatehouseError as error:
            await self._refuse(scope, send, error)
            return
        # A new dict: servers may share the lifespan state between requests, the token must not be.
        scope["state"] = {**(scope.get("state") or {}), "access_token": token}
        scope[_SERVER_KEY] = self.server
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> AccessToken | None:
        values = [value for name, value in scope.get("headers", ()) if name == b"authorization"]
        if len(values) > 1:
            raise InvalidRequest("Send one Authorization header.")
        query = scope.get("query_string", b"").decode("latin-1")
        refuse_token_in_query(any(name == "access_token" for name, _ in parse_qsl(query, keep_blank_values=True)))
        header = values[0].decode("latin-1") if values else None
        try:
            return self.server.authenticate(header, block=False)
        except NeedsNetwork:
            return await anyio.to_thread.run_sync(self.server.authenticate, header)

    async def _refuse(self, scope: Scope, send: Send, error: GatehouseError) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": error.description[:120]})
            return
        body = json.dumps(error.body()).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in error.headers(self.server.realm).items()]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _dependency(check: Callable[[AccessToken, ResourceServer], None]) -> Callable[[Request], Awaitable[AccessToken]]:
    async def dependency(request: Request) -> AccessToken:
        server = request.scope.get(_SERVER_KEY)
        if server is None:
            raise RuntimeError("gatehouse_sdk.asgi dependencies need GatehouseMiddleware on the app")
        token = request.state.access_token
        try:
            if token is None:
                raise MissingToken
            check(token, server)
        except GatehouseError as error:
            raise HTTPException(error.status, error.description, headers=error.headers(server.realm)) from error
        return token

    return dependency


def require_token() -> Callable[[Request], Awaitable[AccessToken]]:
    """A FastAPI dependency giving the AccessToken; none gives 401 with `WWW-Authenticate: Bearer`."""
    return _dependency(lambda token, server: None)


def require_scope(*scopes: str) -> Callable[[Request], Awaitable[AccessToken]]:
    """A FastAPI dependency: every named scope, else 403 with `error="insufficient_scope"`."""
    return _dependency(lambda token, server: check_scope(token, *scopes))


def require_role(*roles: str) -> Callable[[Request], Awaitable[AccessToken]]:
    """A FastAPI dependency: every named app role, else 403 with `error="insufficient_scope"`."""
    return _dependency(lambda token, server: check_role(token, *roles))


def require_fresh_auth(max_age: int) -> Callable[[Request], Awaitable[AccessToken]]:
    """A FastAPI dependency: a sign-in at most `max_age` seconds ago, else RFC 9470's 401 challenge."""
    validate_max_age(max_age)
    return _dependency(lambda token, server: check_fresh_auth(token, max_age, now=server.clock()))
