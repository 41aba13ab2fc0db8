"""The V2 data plane: one object REST and gRPC both call; it calls the Orchestrator.

Version rule: an empty version means the deployed version of the name; a given version is
served only if it is the deployed one (ModelNotFound if the name has no such version,
NotDeployed if it exists but another, or none, is deployed). Names may leave out `.onnx`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import numpy as np

from nexon.core.orchestrator import Orchestrator
from nexon.core.runtime import LoadedModel
from nexon.core.signature import TensorSpec
from nexon.errors import InvalidInput, ModelNotFound, NotDeployed
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelRecord
from nexon.v2 import codec
from nexon.v2.messages import (
    InferRequest,
    InferResponse,
    InputTensor,
    JsonData,
    ModelMetadata,
    RawData,
    ServerMetadata,
    TypedData,
)

PLATFORM = "onnxruntime_onnx"
EXTENSIONS = ("binary_tensor_data",)
#: inputs carrying more than this are decoded on the blocking executor (when the plane has one)
OFFLOAD_BYTES = 256 * 1024


def parse_version(version: str) -> int | None:
    text = version.strip()
    if not text:
        return None
    if not text.isdigit():
        raise ModelNotFound(f"model version must be a positive integer, got {version!r}")
    return int(text)


class DataPlane:
    def __init__(self, orchestrator: Orchestrator, ready: Callable[[], Awaitable[bool]], server_version: str,
                 *, executor: BlockingExecutor | None = None) -> None:
        """`executor` takes the decoding of large inputs off the loop; None decodes inline."""
        self._core = orchestrator
        self._ready = ready
        self._metadata = ServerMetadata("nexon", server_version, EXTENSIONS)
        self._executor = executor

    def live(self) -> bool:
        return True

    async def ready(self) -> bool:
        return await self._ready()

    def server_metadata(self) -> ServerMetadata:
        return self._metadata

    async def _resolve(self, name: str, version: str) -> tuple[ModelRecord, LoadedModel]:
        """One lookup of the deployed record and one of its session (loaded, or the load error)."""
        if not name.strip():
            raise InvalidInput("model name is required")
        record = await self._core.deployed(name, parse_version(version))
        return record, await self._core.session(record)

    async def check_model_ready(self, name: str, version: str) -> ModelRecord:
        """The deployed, loaded record; raises the reason it is not ready."""
        record, _ = await self._resolve(name, version)
        return record

    async def model_ready(self, name: str, version: str) -> bool:
        try:
            await self._resolve(name, version)
        except (ModelNotFound, NotDeployed):
            return False
        return True

    async def model_metadata(self, name: str, version: str) -> ModelMetadata:
        record, model = await self._resolve(name, version)
        signature = model.signature
        return ModelMetadata(
            name=record.name,
            versions=(str(record.version),),
            platform=PLATFORM,
            inputs=tuple(codec.tensor_metadata(s, output=False) for s in signature.inputs),
            outputs=tuple(codec.tensor_metadata(s, output=True) for s in signature.outputs),
        )

    async def infer(self, request: InferRequest) -> InferResponse:
        record, model = await self._resolve(request.model_name, request.model_version)
        if len(set(request.outputs)) != len(request.outputs):
            raise InvalidInput("an output is requested twice")
        if self._executor is not None and _payload_bytes(request) > OFFLOAD_BYTES:
            feeds = await self._executor.run(_decode, model, request)
        else:
            feeds = _decode(model, request)
        # The session resolved above runs: one lookup, and no other version can be served.
        prediction = await self._core.run(record, model, feeds, list(request.outputs) or None)
        return InferResponse(
            model_name=record.name,
            model_version=str(record.version),
            id=request.id,
            outputs=tuple(codec.output_tensor(o.name, o.value) for o in prediction.outputs),
        )


def _decode(model: LoadedModel, request: InferRequest) -> dict[str, np.ndarray]:
    feeds: dict[str, np.ndarray] = {}
    for tensor in request.inputs:
        if tensor.name in feeds:
            raise InvalidInput(f"input {tensor.name!r} is given twice")
        feeds[tensor.name] = codec.decode(tensor, _spec(model, tensor))
    return feeds


def _payload_bytes(request: InferRequest) -> int:
    """Roughly what decoding the inputs walks: raw bytes, typed values, or JSON elements as declared."""
    total = 0
    for tensor in request.inputs:
        data = tensor.data
        if isinstance(data, RawData):
            total += len(data.content)
        elif isinstance(data, TypedData):
            total += len(data.values) * 8
        elif isinstance(data, JsonData) and data.values is not None:
            total += 8 * math.prod(d for d in tensor.shape if d > 0)
    return total


def _spec(model: LoadedModel, tensor: InputTensor) -> TensorSpec:
    """The input's spec; an initializer-backed (optional) input is typed by the request and
    left to ONNX Runtime to check, as the runtime exposes only its name."""
    spec = model.signature.input(tensor.name)
    if spec is not None:
        return spec
    if tensor.name in model.optional_inputs:
        return TensorSpec(tensor.name, codec.element_for(tensor.datatype, tensor.name).onnx, None)
    known = ", ".join(s.name for s in model.signature.inputs)
    optional = f" (optional: {', '.join(sorted(model.optional_inputs))})" if model.optional_inputs else ""
    raise InvalidInput(f"unknown input {tensor.name!r}; the model's inputs are {known}{optional}")
