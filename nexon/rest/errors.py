"""Domain errors to HTTP responses, through the one table in nexon.errors.

Unknown exceptions become a generic 500 carrying a request id; the traceback goes to the log.
"""

from __future__ import annotations

import logging
import secrets

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexon.errors import NexonError, is_internal
from nexon.rest.codec import JSON, dumps

log = logging.getLogger("nexon.rest")



def error_key(path: str) -> str:
    return "error" if path.startswith("/v2") else "detail"


async def nexon_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NexonError)
    message = exc.message
    if is_internal(exc):
        request_id = secrets.token_hex(8)
        log.error("internal error in %s %s (request id %s): %s", request.method, request.url.path, request_id,
                  exc.message)
        message = f"internal error (request id {request_id})"
    return JSON({error_key(request.url.path): message}, status_code=exc.http_status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSON({error_key(request.url.path): exc.detail}, status_code=exc.status_code, headers=exc.headers)


class CatchAll:
    """Outermost middleware: an unexpected exception is a 500 with a request id, never a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            request_id = secrets.token_hex(8)
            log.exception("unhandled error in %s %s (request id %s)", scope["method"], scope["path"], request_id)
            if started:
                raise
            body = dumps({error_key(scope["path"]): f"internal error (request id {request_id})"})
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
