"""Reads to its end a request body the app refused early, before the refusal is sent.

An upload refused before it was read (too large, wrong name, not multipart) leaves body
bytes on the wire. Hypercorn then closes the connection with unread data, which the kernel
turns into a reset that can destroy the response in flight: behind Envoy the client gets a
503 or a truncated 413 instead of the error. So when a response starts before the body was
read, the rest is drained first (up to DRAIN_MAX_BYTES and DRAIN_TIMEOUT_S), and the
connection stays reusable. Past those bounds the response says `connection: close` so a
pooling client (Envoy) at least never sends another request into the closing socket.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
DRAIN_MAX_BYTES = 256 * MIB
DRAIN_TIMEOUT_S = 30.0


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class DrainUnreadBody:
    def __init__(self, app: ASGIApp, max_bytes: int = DRAIN_MAX_BYTES, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("http_version") == "2" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        body_done = False

        async def tracking_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                body_done = True
            return message

        async def drain() -> None:
            drained = 0
            while not body_done and drained <= self.max_bytes:
                drained += len((await tracking_receive()).get("body", b""))

        async def draining_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not body_done:
                try:
                    await asyncio.wait_for(drain(), self.timeout_s)
                except TimeoutError:
                    pass
                if not body_done:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, tracking_receive, draining_send)
