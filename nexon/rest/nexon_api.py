"""The original NEXON REST API: paths, bodies and status codes its clients already use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import numpy as np
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from nexon.config import Settings
from nexon.core import tensors
from nexon.core.orchestrator import Orchestrator
from nexon.errors import InvalidInput
from nexon.executor import BlockingExecutor
from nexon.rest.codec import (
    JSON,
    OFFLOAD_BYTES,
    encode_array,
    encode_blocks,
    field,
    json_body,
    loads,
    read_body,
    strict_int,
)
from nexon.rest.uploads import FileUpload
from nexon.store.base import ModelRecord, Status

GRPC_METHOD = "nexon.grpc.inference.v1.InferenceService/Predict"


def endpoints_of(settings: Settings, record: ModelRecord) -> dict[str, str]:
    http_host, http_port = settings.http_address
    grpc_host, grpc_port = settings.grpc_address
    path = f"/inference/infer/{quote(record.name, safe='')}"
    return {
        "rest_envoy": f"{settings.public_envoy_url.rstrip('/')}{path}",
        "rest_direct": f"http://{http_host}:{http_port}{path}",
        "grpc_envoy": settings.public_envoy_grpc,
        "grpc_direct": f"{grpc_host}:{grpc_port}",
        "grpc_service": GRPC_METHOD,
    }


def _version(raw: str) -> int:
    version = strict_int(raw)
    if version is None:
        raise InvalidInput(f"model version must be an integer, got {raw!r}")
    return version


class NexonAPI:
    def __init__(self, orchestrator: Orchestrator, settings: Settings, executor: BlockingExecutor) -> None:
        self._core = orchestrator
        self._settings = settings
        self._executor = executor

    def routes(self) -> list[Route]:
        return [
            Route("/upload/", self.upload, methods=["POST"]),
            Route("/deployment/deploy-file/", self.deploy_file, methods=["POST"]),
            Route("/deployment/deploy-model/", self.deploy_model, methods=["POST"]),
            Route("/deployment/undeploy/{model_name:str}", self.undeploy, methods=["PUT"]),
            Route("/allModels", self.all_models, methods=["GET"]),
            Route("/deployedModels", self.deployed_models, methods=["GET"]),
            Route("/uploadedModels", self.uploaded_models, methods=["GET"]),
            Route("/models/{model_name:str}", self.model, methods=["GET"]),
            Route("/deleteModel/{model_name:str}/{model_version:str}", self.delete, methods=["DELETE"]),
            Route("/inference/infer/{model_name:str}", self.infer, methods=["POST"]),
        ]

    async def _staged(self, request: Request) -> tuple[str, Any]:
        upload = FileUpload(request)
        filename = await upload.open()
        staged = await self._core.stage_upload(filename, upload.chunks())
        return filename, staged

    async def upload(self, request: Request) -> JSON:
        filename, staged = await self._staged(request)
        record = await self._core.upload(filename, staged)
        return JSON(
            {
                "message": f"{record.name} version {record.version} uploaded",
                "model_id": record.id,
                "file_id": record.file_id,
                "model": record.to_json(),
            }
        )

    def _deployed_reply(self, record: ModelRecord) -> JSON:
        return JSON(
            {
                "message": f"{record.name} version {record.version} deployed",
                "model_id": record.id,
                "version": record.version,
                "endpoints": endpoints_of(self._settings, record),
            }
        )

    async def deploy_file(self, request: Request) -> JSON:
        filename, staged = await self._staged(request)
        record = await self._core.upload_and_deploy(filename, staged)
        return self._deployed_reply(record)

    async def deploy_model(self, request: Request) -> JSON:
        body = await json_body(request)
        name = field(body, "model_name", str)
        model_id = field(body, "model_id", str)
        assert name is not None and model_id is not None
        return self._deployed_reply(await self._core.deploy(name, model_id))

    async def undeploy(self, request: Request) -> JSON:
        name = request.path_params["model_name"]
        body = await json_body(request)
        version = field(body, "model_version", int)
        body_name = field(body, "model_name", str, required=False)
        if body_name is not None and body_name.removesuffix(".onnx") != name.removesuffix(".onnx"):
            raise InvalidInput(f"model_name {body_name!r} in the body does not match {name!r} in the path")
        assert version is not None
        record = await self._core.undeploy(name, version)
        return JSON({"message": f"{record.name} version {record.version} undeployed", "model": record.to_json()})

    async def _listing(self, status: Status | None) -> JSON:
        return JSON([r.to_json() for r in await self._core.list_models(status)])

    async def all_models(self, request: Request) -> JSON:
        return await self._listing(None)

    async def deployed_models(self, request: Request) -> JSON:
        return await self._listing(Status.DEPLOYED)

    async def uploaded_models(self, request: Request) -> JSON:
        return await self._listing(Status.UPLOADED)

    async def model(self, request: Request) -> JSON:
        raw = request.query_params.get("version")
        record = await self._core.model(request.path_params["model_name"], _version(raw) if raw else None)
        return JSON({**record.to_json(), "endpoints": endpoints_of(self._settings, record)})

    async def delete(self, request: Request) -> JSON:
        version = _version(request.path_params["model_version"])
        record = await self._core.delete(request.path_params["model_name"], version)
        return JSON({"message": f"{record.name} version {record.version} deleted"})

    async def infer(self, request: Request) -> Response:
        raw = await read_body(request, self._settings.max_request_bytes)
        large = len(raw) > OFFLOAD_BYTES
        body = await self._executor.run(loads, raw) if large else loads(raw)
        if not isinstance(body, dict) or "input" not in body:
            raise InvalidInput("field 'input' is required")
        dtype = field(body, "dtype", str, required=False)
        value = body["input"]
        prediction = await self._core.infer_first(
            request.path_params["model_name"], lambda spec: tensors.from_json(value, spec, dtype), offload=large
        )
        value = prediction.outputs[0].value
        if not isinstance(value, np.ndarray):
            return JSON({"results": [value]})
        if value.nbytes <= OFFLOAD_BYTES // 8:
            return Response(b'{"results":[' + encode_array(value) + b"]}", media_type="application/json")
        return StreamingResponse(self._stream_results(value), media_type="application/json")

    async def _stream_results(self, value: np.ndarray) -> AsyncIterator[bytes]:
        """A big output, encoded a block at a time off the loop and sent as it is encoded."""
        yield b'{"results":['
        blocks = encode_blocks(value)
        while (block := await self._executor.run(next, blocks, b"")) != b"":
            yield block
        yield b"]}"

