"""Serve ``lazyimport.status()`` over HTTP from a FastAPI or Starlette app.

We often see a hand-written debug endpoint per service::

    @app.get("/api/debug/lazy-loading-status")
    def lazy_status():
        return lazyimport.status()

The same, in one line (``pip install lazyimport[fastapi]``)::

    from lazyimport.integrations.fastapi import add_status_route
    add_status_route(app)                      # FastAPI or Starlette
    app.include_router(status_router())        # FastAPI, the router way
    Starlette(routes=[status_route()])         # Starlette, the route-list way

The snapshot never runs a module, so a health check or a dashboard can poll it
while the app is still loading its heavy dependencies.  It tells which
modules and files the process uses: mount it where only operators can reach it.
"""
from __future__ import annotations

from ..status import status

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH = "/api/debug/lazy-loading-status"
NAME = "lazyimport_status"


async def status_endpoint(request: Any) -> Any:
    """Answer GET with status() as JSON (a Starlette endpoint)."""
    from starlette.responses import JSONResponse

    return JSONResponse(status(), headers={"Cache-Control": "no-store"})


def status_route(path: str = DEFAULT_PATH, *, include_in_schema: bool = False) -> Any:
    """Return a Starlette ``Route`` serving status() at *path*."""
    from starlette.routing import Route

    return Route(path, status_endpoint, methods=["GET"], name=NAME, include_in_schema=include_in_schema)


def add_status_route(app: Any, path: str = DEFAULT_PATH, *, include_in_schema: bool = False) -> None:
    """Serve status() at *path* on a FastAPI or Starlette *app*."""
    app.router.routes.append(status_route(path, include_in_schema=include_in_schema))


def status_router(path: str = DEFAULT_PATH, *, include_in_schema: bool = False) -> Any:
    """Return a FastAPI ``APIRouter`` serving status() at *path* (for ``include_router``)."""
    from fastapi import APIRouter

    router = APIRouter()
    router.routes.append(status_route(path, include_in_schema=include_in_schema))
    return router
