"""The Starlette app: routes are plain lists, collaborators come in through build_app."""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexon.config import Settings
from nexon.core.orchestrator import Orchestrator
from nexon.errors import NexonError
from nexon.executor import BlockingExecutor
from nexon.metrics import CONTENT_TYPE, Metrics
from nexon.readiness import Readiness
from nexon.rest import openapi
from nexon.rest.codec import JSON
from nexon.rest.errors import CatchAll, http_error, nexon_error
from nexon.rest.nexon_api import NexonAPI
from nexon.rest.unread_body import DrainUnreadBody
from nexon.rest.webui import web_root


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.observe("rest", f"{scope['method']} {path}", str(status), time.perf_counter() - started)


def build_app(
    orchestrator: Orchestrator,
    settings: Settings,
    readiness: Readiness,
    metrics: Metrics,
    executor: BlockingExecutor,
    extra_routes: list[BaseRoute] | None = None,
    extra_openapi: dict[str, Any] | None = None,
) -> Starlette:
    spec = openapi.spec(extra_openapi)

    async def healthz(request: Request) -> JSON:
        return JSON({"status": "ok"})

    async def readyz(request: Request) -> JSON:
        if await readiness.check():
            return JSON({"status": "ready"})
        return JSON({"status": "not ready", "detail": "model store is not reachable"}, status_code=503)

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def openapi_json(request: Request) -> JSON:
        return JSON(spec)

    docs_page = openapi.docs_html(spec)

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(docs_page)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        *NexonAPI(orchestrator, settings, executor).routes(),
        *(extra_routes or []),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(DrainUnreadBody), Middleware(CatchAll), Middleware(RequestMetrics, metrics=metrics)],
        exception_handlers={NexonError: nexon_error, HTTPException: http_error},
    )
    web = web_root(settings.web_dir)
    if web is not None:
        # The UI answers only what no route matches, so a wrong method on an API path stays a 405.
        app.router.default = _read_only(StaticFiles(directory=web, html=True))
    return app


def _read_only(static: ASGIApp) -> ASGIApp:
    """The UI fallback answers GET/HEAD only: any other method on an unknown path is a plain 404."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(404, "Not Found")
        await static(scope, receive, send)

    return app
