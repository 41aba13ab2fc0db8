"""The composition root: one process, one uvloop event loop, Hypercorn (REST) beside grpclib (gRPC).

It alone builds the collaborators, owns the signals and the one stop event both servers obey.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import logging
import os
import signal
import socket
from pathlib import Path

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig

from nexon.config import Settings, redact_uri
from nexon.core.cache import SessionCache
from nexon.core.orchestrator import Orchestrator
from nexon.core.runtime import OrtRuntime, RuntimeOptions
from nexon.executor import BlockingExecutor
from nexon.grpc.nexon_service import InferenceService
from nexon.grpc.server import GrpcServer
from nexon.grpc.v2_service import GRPCInferenceService
from nexon.metrics import Metrics
from nexon.readiness import Readiness
from nexon.rest.app import build_app
from nexon.rest.v2_api import V2API
from nexon.store.factory import open_store
from nexon.v2.dataplane import DataPlane

log = logging.getLogger("nexon")

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"})


class _DropHealth(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        return not (isinstance(atoms, dict) and atoms.get("U") in HEALTH_PATHS)


def _version() -> str:
    try:
        return importlib.metadata.version("nexon")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


def _listen(address: tuple[str, int]) -> socket.socket:
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _hypercorn_config(settings: Settings, sock: socket.socket) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]  # Hypercorn owns (and closes) its own descriptor
    config.graceful_timeout = settings.shutdown_grace_s
    access = logging.getLogger("nexon.access")
    if not settings.log_health:
        access.addFilter(_DropHealth())
    config.accesslog = access
    config.errorlog = logging.getLogger("nexon.hypercorn")
    config.h2_max_concurrent_streams = 1000
    config.include_server_header = False
    return config


async def serve(settings: Settings, stop: asyncio.Event | None = None, port_file: Path | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    http_sock = _listen(settings.http_address)
    grpc_sock = _listen(settings.grpc_address)
    http_port = http_sock.getsockname()[1]
    grpc_port = grpc_sock.getsockname()[1]
    settings = settings.replace(
        http_bind=f"{settings.http_address[0]}:{http_port}",
        grpc_bind=f"{settings.grpc_address[0]}:{grpc_port}",
    )

    executor = BlockingExecutor(settings.blocking_threads)
    store = await open_store(settings, executor)
    cache = SessionCache(settings.cache_max_models, settings.cache_max_bytes, settings.cache_ttl_s)
    runtime = OrtRuntime(
        RuntimeOptions(settings.ort_intra_op_threads, settings.ort_inter_op_threads, settings.ort_graph_opt_level)
    )
    orchestrator = Orchestrator(
        store, cache, runtime, executor,
        max_upload_bytes=settings.max_upload_bytes, sync_interval_s=settings.readiness_interval_s,
    )
    await orchestrator.start()
    # The store bounds its own calls by mongo_timeout_s; the readiness bound is a backstop, kept
    # longer so a probe is not cancelled mid-connect (PyMongo's pool recovers badly from that).
    readiness = Readiness(orchestrator.ready, settings.readiness_interval_s, 2 * settings.mongo_timeout_s + 1)
    metrics = Metrics(cache)
    dataplane = DataPlane(orchestrator, readiness.check, _version(), executor=executor)
    v2 = V2API(dataplane, executor, settings.max_request_bytes)
    app = build_app(orchestrator, settings, readiness, metrics, executor,
                    extra_routes=v2.routes(), extra_openapi=V2API.openapi())
    grpc = GrpcServer(
        [InferenceService(orchestrator, settings.grpc_max_send_bytes),
         GRPCInferenceService(dataplane, settings.grpc_max_send_bytes)],
        readiness, metrics,
        max_recv_bytes=settings.grpc_max_recv_bytes,
        enable_reflection=settings.enable_reflection,
    )
    await grpc.start_on(grpc_sock)
    await readiness.check()
    background = [asyncio.create_task(readiness.run(), name="nexon-readiness")]

    log.info(
        "nexon serving REST on http://%s, gRPC on %s, store %s",
        settings.http_bind, settings.grpc_bind, redact_uri(settings.store_uri),
    )
    if port_file is not None:
        await executor.run(port_file.write_text, json.dumps({"http": http_port, "grpc": grpc_port}))

    closing = asyncio.Event()
    rest = asyncio.create_task(hypercorn_serve(app, _hypercorn_config(settings, http_sock),  # type: ignore[arg-type]
                                               shutdown_trigger=closing.wait))
    await stop.wait()
    # Not ready at once (/readyz 503, gRPC health NOT_SERVING) but still serving for the delay,
    # so load balancers stop sending before the listeners close.
    readiness.drain()
    if settings.shutdown_delay_s > 0:
        log.info("shutting down: not ready, still serving for %.1fs", settings.shutdown_delay_s)
        await asyncio.sleep(settings.shutdown_delay_s)
    log.info("shutting down: draining for up to %.0fs", settings.shutdown_grace_s)
    closing.set()
    await asyncio.gather(rest, grpc.shutdown(settings.shutdown_grace_s), return_exceptions=True)
    for task in background:
        task.cancel()
    await orchestrator.stop()
    await store.close()
    executor.shutdown()
    for sock in (http_sock, grpc_sock):
        with contextlib.suppress(OSError):  # the servers may have closed them already
            sock.close()
    log.info("stopped")


def run(settings: Settings, port_file: Path | None = None) -> None:
    import uvloop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvloop.run(serve(settings, port_file=port_file))


