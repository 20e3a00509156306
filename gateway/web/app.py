"""The web application: routes, static files, the database handle, and the guard around it all."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.config import Settings
from gateway.store.database import Database
from gateway.web import api, compose, mailbox, mailboxes, notifications, records, review, signin, tasks
from gateway.web import settings as settings_pages
from gateway.web.guard import Guard
from gateway.web.pages import base_path, not_found, url


async def home(request: Request) -> Response:
    return RedirectResponse(url(request, "/mailbox"), status_code=303)


async def _not_found(request: Request, _exc: Exception) -> Response:
    if request.url.path.startswith(base_path(request) + "/api/"):
        return api.error_response(404, "not_found", "no such route")
    return not_found(request)


def create_app(settings: Settings, db: Database | None = None) -> Guard:
    """The ASGI application; opens its own database handle at startup unless one is given."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.db = db if db is not None else await Database.open(settings)
        try:
            yield
        finally:
            if db is None:
                await app.state.db.close()

    from pathlib import Path
    routes = [
        Route("/", home, methods=["GET"]),
        *signin.ROUTES, *mailbox.ROUTES, *mailboxes.ROUTES, *compose.ROUTES, *records.ROUTES, *review.ROUTES, *settings_pages.ROUTES,
        *tasks.ROUTES, *notifications.ROUTES,
        Mount("/api/v1", routes=api.ROUTES),
        Mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: _not_found})
    if db is not None:
        app.state.db = db
    return Guard(app, settings)
