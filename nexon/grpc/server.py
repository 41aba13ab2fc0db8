"""The grpclib server: NEXON services, health tied to readiness, optional reflection.

Every request passes through one wrapper (installed on grpclib's RecvRequest event) that
refuses work while draining, enforces GRPC_MAX_RECV_BYTES, counts in-flight calls and records
metrics.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from typing import Any

from grpclib.const import Status
from grpclib.events import RecvMessage, RecvRequest, listen
from grpclib.exceptions import GRPCError
from grpclib.health.check import ServiceStatus
from grpclib.health.service import OVERALL, Health
from grpclib.reflection.service import ServerReflection
from grpclib.server import Server

from nexon.metrics import Metrics
from nexon.readiness import Readiness


class GrpcServer:
    def __init__(
        self,
        services: Sequence[Any],
        readiness: Readiness,
        metrics: Metrics,
        *,
        max_recv_bytes: int,
        enable_reflection: bool,
    ) -> None:
        status = ServiceStatus()
        readiness.subscribe(status.set)
        health = Health({OVERALL: [status], **{s: [status] for s in services}})
        handlers: list[Any] = [*services, health]
        if enable_reflection:
            handlers = ServerReflection.extend(handlers)
        self._server = Server(handlers)
        self._metrics = metrics
        self._max_recv_bytes = max_recv_bytes
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.draining = False
        listen(self._server, RecvRequest, self._on_request)
        listen(self._server, RecvMessage, self._on_message)

    async def start_on(self, sock: socket.socket) -> None:
        await self._server.start(sock=sock)

    async def _on_message(self, event: RecvMessage) -> None:
        size = event.message.ByteSize()
        if size > self._max_recv_bytes:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"request of {size} bytes exceeds GRPC_MAX_RECV_BYTES={self._max_recv_bytes}",
            )

    async def _on_request(self, event: RecvRequest) -> None:
        if self.draining:
            raise GRPCError(Status.UNAVAILABLE, "server is shutting down")
        inner = event.method_func
        method = event.method_name

        async def tracked(stream: Any) -> None:
            self._inflight += 1
            self._idle.clear()
            started = time.perf_counter()
            code = "OK"
            try:
                await inner(stream)
            except GRPCError as exc:
                code = exc.status.name
                raise
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except BaseException:
                code = "INTERNAL"
                raise
            finally:
                self._inflight -= 1
                if self._inflight == 0:
                    self._idle.set()
                self._metrics.observe("grpc", method, code, time.perf_counter() - started)

        event.method_func = tracked

    async def shutdown(self, grace_s: float) -> None:
        """Refuse new calls, let in-flight ones finish for up to `grace_s`, then close."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace_s)
        except TimeoutError:
            pass
        self._server.close()
        await self._server.wait_closed()
