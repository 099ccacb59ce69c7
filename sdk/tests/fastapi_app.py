"""A FastAPI API (and a bare Starlette one) protected by gatehouse-sdk's ASGI middleware."""

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from gatehouse_sdk import AccessToken, ResourceServer
from gatehouse_sdk.asgi import GatehouseMiddleware, require_fresh_auth, require_role, require_scope, require_token
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def describe(token: AccessToken | None) -> dict:
    if token is None:
        return {"token": None}
    return {"sub": token.sub, "client_id": token.client_id, "scopes": sorted(token.scopes), "org": token.org}


def make_fastapi(server: ResourceServer) -> FastAPI:
    app = FastAPI()
    app.add_middleware(GatehouseMiddleware, server=server)

    @app.get("/public")
    async def public(request: Request) -> dict:
        return describe(request.state.access_token)

    @app.get("/me")
    async def me(token: Annotated[AccessToken, Depends(require_token())]) -> dict:
        return describe(token)

    @app.get("/orders")
    async def orders(token: Annotated[AccessToken, Depends(require_scope("orders:read"))]) -> dict:
        return describe(token)

    @app.get("/sync/orders")
    def sync_orders(token: Annotated[AccessToken, Depends(require_scope("orders:read"))]) -> dict:
        return describe(token)

    @app.get("/admin")
    async def admin(token: Annotated[AccessToken, Depends(require_role("orders:admin"))]) -> dict:
        return describe(token)

    @app.get("/payments", dependencies=[Depends(require_fresh_auth(300))])
    async def payments(token: Annotated[AccessToken, Depends(require_scope("orders:read"))]) -> dict:
        return describe(token)

    return app


def make_starlette(server: ResourceServer) -> Starlette:
    async def whoami(request):
        return JSONResponse(describe(request.state.access_token))

    app = Starlette(routes=[Route("/whoami", whoami)])
    app.add_middleware(GatehouseMiddleware, server=server)
    return app
