"""The Open Inference Protocol (KServe V2) over REST, with the binary tensor data extension.

A thin translator: JSON (and trailing binary) in, one DataPlane call, JSON (and binary) out.
Errors render as {"error": "..."} through the one table (rest/errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nexon.errors import InvalidInput
from nexon.executor import BlockingExecutor
from nexon.rest.codec import JSON, OFFLOAD_BYTES, dumps, loads, read_body
from nexon.v2 import codec
from nexon.v2.dataplane import DataPlane
from nexon.v2.messages import InferRequest, InferResponse, InputTensor, JsonData, ModelMetadata, Payload, RawData

HEADER_LENGTH = "Inference-Header-Content-Length"
_MODEL = "/v2/models/{model_name:str}"
_VERSIONED = _MODEL + "/versions/{model_version:str}"


class V2API:
    def __init__(self, dataplane: DataPlane, executor: BlockingExecutor, max_body_bytes: int) -> None:
        self._plane = dataplane
        self._executor = executor
        self._max_body_bytes = max_body_bytes

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/v2", self.server_metadata, methods=["GET"]),
            Route("/v2/health/live", self.live, methods=["GET"]),
            Route("/v2/health/ready", self.ready, methods=["GET"]),
        ]
        for base in (_MODEL, _VERSIONED):
            routes += [
                Route(base, self.model_metadata, methods=["GET"]),
                Route(base + "/ready", self.model_ready, methods=["GET"]),
                Route(base + "/infer", self.infer, methods=["POST"]),
            ]
        return routes

    @staticmethod
    def openapi() -> dict[str, Any]:
        """The V2 paths for /openapi.json (the protocol's own spec has the bodies)."""
        err = {"description": "error", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"error": {"type": "string"}}}}}}

        def op(summary: str, *codes: int) -> dict[str, Any]:
            return {"summary": summary, "responses": {"200": {"description": "OK"}, **{str(c): err for c in codes}}}

        paths: dict[str, Any] = {
            "/v2": {"get": op("Server metadata")},
            "/v2/health/live": {"get": op("Server liveness")},
            "/v2/health/ready": {"get": op("Server readiness", 503)},
        }
        for base in ("/v2/models/{model_name}", "/v2/models/{model_name}/versions/{model_version}"):
            paths[base] = {"get": op("Model metadata (inputs/outputs, -1 for dynamic dims)", 400, 404)}
            paths[base + "/ready"] = {"get": op("Model readiness", 400, 404)}
            paths[base + "/infer"] = {"post": op(
                "Inference: JSON tensors, or JSON header + binary tensor data "
                "(Inference-Header-Content-Length)", 400, 404, 413, 503)}
        return paths

    async def server_metadata(self, request: Request) -> JSON:
        meta = self._plane.server_metadata()
        return JSON({"name": meta.name, "version": meta.version, "extensions": list(meta.extensions)})

    async def live(self, request: Request) -> JSON:
        return JSON({"live": self._plane.live()})

    async def ready(self, request: Request) -> JSON:
        ready = await self._plane.ready()
        return JSON({"ready": ready}, status_code=200 if ready else 503)

    async def model_metadata(self, request: Request) -> JSON:
        name, version = _model(request)
        return JSON(metadata_json(await self._plane.model_metadata(name, version)))

    async def model_ready(self, request: Request) -> JSON:
        name, version = _model(request)
        record = await self._plane.check_model_ready(name, version)
        return JSON({"name": record.name, "version": str(record.version), "ready": True})

    async def infer(self, request: Request) -> Response:
        name, version = _model(request)
        body = await read_body(request, self._max_body_bytes)
        header, binary = _split(body, request.headers.get(HEADER_LENGTH))

        def decode() -> tuple[InferRequest, Mapping[str, bool]]:
            return infer_request_from_json(loads(header), binary, name, version)

        # Big JSON documents are decoded and encoded off the event loop.
        large = len(header) > OFFLOAD_BYTES
        infer_request, binary_outputs = await self._executor.run(decode) if large else decode()
        reply = await self._plane.infer(infer_request)
        if large or sum(o.array.nbytes for o in reply.outputs) > OFFLOAD_BYTES // 8:
            return await self._executor.run(infer_response, reply, binary_outputs)
        return infer_response(reply, binary_outputs)


def _model(request: Request) -> tuple[str, str]:
    return request.path_params["model_name"], request.path_params.get("model_version", "")


def metadata_json(meta: ModelMetadata) -> dict[str, Any]:
    def tensors(items: Any) -> list[dict[str, Any]]:
        return [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in items]

    return {"name": meta.name, "versions": list(meta.versions), "platform": meta.platform,
            "inputs": tensors(meta.inputs), "outputs": tensors(meta.outputs)}


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        raise InvalidInput(f"{HEADER_LENGTH} must be an integer, got {header_length!r}") from None
    if not 0 <= length <= len(body):
        raise InvalidInput(f"{HEADER_LENGTH} is {length} but the body has {len(body)} bytes")
    return body[:length], body[length:]


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be a JSON object")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{where} must be a non-empty string")
    return value


def _shape(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in value):
        # orjson reads integers past 64 bits as floats: those land here too.
        raise InvalidInput(f"{where}.shape must be a list of 64-bit integers")
    return tuple(value)


def infer_request_from_json(
    doc: Any, binary: bytes, model_name: str, model_version: str
) -> tuple[InferRequest, dict[str, bool]]:
    """The request, and for each requested output whether it goes back as binary data."""
    body = _object(doc, "request body")
    parameters = _object(body.get("parameters"), "parameters")
    codec.check_parameters(parameters, "request")
    request_id = body.get("id", "")
    if not isinstance(request_id, str):
        raise InvalidInput("id must be a string")
    raw_inputs = body.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidInput("inputs must be a non-empty list")
    offset = 0
    inputs: list[InputTensor] = []
    for i, item in enumerate(raw_inputs):
        where = f"inputs[{i}]"
        tensor = _object(item, where)
        name = _string(tensor.get("name"), f"{where}.name")
        datatype = _string(tensor.get("datatype"), f"{where}.datatype")
        shape = _shape(tensor.get("shape"), where)
        tensor_params = _object(tensor.get("parameters"), f"{where}.parameters")
        codec.check_parameters(tensor_params, f"input {name!r}")
        size = tensor_params.get("binary_data_size")
        data: Payload
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise InvalidInput(f"input {name!r}: binary_data_size must be a non-negative integer")
            if "data" in tensor:
                raise InvalidInput(f"input {name!r}: give either data or binary_data_size, not both")
            if offset + size > len(binary):
                raise InvalidInput(f"input {name!r}: binary_data_size {size} runs past the binary data")
            data = RawData(binary[offset:offset + size])
            offset += size
        else:
            data = JsonData(tensor.get("data"))
        inputs.append(InputTensor(name, datatype, shape, data))
    if offset != len(binary):
        raise InvalidInput(f"{len(binary) - offset} bytes of binary data follow the inputs unclaimed")
    default_binary = parameters.get("binary_data_output", False) is True
    requested: dict[str, bool] = {}
    raw_outputs = body.get("outputs") or []
    if not isinstance(raw_outputs, list):
        raise InvalidInput("outputs must be a list")
    for i, item in enumerate(raw_outputs):
        output = _object(item, f"outputs[{i}]")
        name = _string(output.get("name"), f"outputs[{i}].name")
        output_params = _object(output.get("parameters"), f"outputs[{i}].parameters")
        codec.check_parameters(output_params, f"output {name!r}")
        flag = output_params.get("binary_data", default_binary)
        if name in requested:
            raise InvalidInput(f"output {name!r} is requested twice")
        requested[name] = flag is True
    request = InferRequest(model_name, model_version, request_id, tuple(inputs), tuple(requested))
    return request, {"*": default_binary, **requested}


def infer_response(reply: InferResponse, binary_outputs: Mapping[str, bool]) -> Response:
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for out in reply.outputs:
        entry: dict[str, Any] = {"name": out.name, "datatype": out.datatype, "shape": list(out.shape)}
        if binary_outputs.get(out.name, binary_outputs["*"]):
            blob = codec.raw_content(out)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = codec.json_data(out)
        outputs.append(entry)
    doc: dict[str, Any] = {"model_name": reply.model_name, "model_version": reply.model_version}
    if reply.id:
        doc["id"] = reply.id
    doc["outputs"] = outputs
    header = dumps(doc)
    if not blobs:
        return Response(header, media_type="application/json")
    return Response(header + b"".join(blobs), media_type="application/octet-stream",
                    headers={HEADER_LENGTH: str(len(header))})
