"""The V2 DataPlane in process, over a real ONNX Runtime session and a real BlockingExecutor:
one lookup per inference, the resolved version passed on, large inputs decoded off the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, cast

import numpy as np
import onnxruntime as ort
from onnx import TensorProto

from nexon.core.orchestrator import Orchestrator, Output, Prediction
from nexon.core.runtime import LoadedModel
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelRecord, Status
from nexon.v2.dataplane import OFFLOAD_BYTES, DataPlane
from nexon.v2.messages import InferRequest, InputTensor, RawData
from tests.support import models


class RecordingExecutor(BlockingExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.threads: list[str] = []

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            self.threads.append(threading.current_thread().name)
            return fn(*args, **kwargs)

        return await super().run(call)


class FakeOrchestrator:
    """The three calls the DataPlane makes, counted; infer runs the real session inline."""

    def __init__(self, model: LoadedModel, record: ModelRecord) -> None:
        self.model, self.record = model, record
        self.calls: list[tuple[str, Any]] = []

    async def deployed(self, name: str, version: int | None = None) -> ModelRecord:
        self.calls.append(("deployed", version))
        return self.record

    async def session(self, record: ModelRecord) -> LoadedModel:
        self.calls.append(("session", record.version))
        return self.model

    async def infer(self, name: str, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None,
                    version: int | None = None) -> Prediction:
        self.calls.append(("infer", version))
        values = self.model.run(feeds, outputs)
        return Prediction(self.record, tuple(Output(n, v) for n, v in zip(["y"], values, strict=True)))


def _plane(executor: BlockingExecutor | None) -> tuple[DataPlane, FakeOrchestrator]:
    session = ort.InferenceSession(models.identity(TensorProto.FLOAT, [None]), providers=["CPUExecutionProvider"])
    record = ModelRecord("id", "file", "ident.onnx", 3, date.today(), date.today(), Status.DEPLOYED, "0" * 64, 1,
                         LoadedModel(session, 1).signature)
    core = FakeOrchestrator(LoadedModel(session, 1), record)
    return DataPlane(cast(Orchestrator, core), _ready, "test", executor=executor), core


async def _ready() -> bool:
    return True


def _request(values: np.ndarray) -> InferRequest:
    tensor = InputTensor("x", "FP32", (values.size,), RawData(values.astype("<f4").tobytes()))
    return InferRequest("ident", "", "r1", (tensor,))


def test_one_lookup_per_inference_and_the_resolved_version_is_passed_on() -> None:
    plane, core = _plane(None)
    reply = asyncio.run(plane.infer(_request(np.array([1.5, -2.0], np.float32))))
    assert reply.model_version == "3" and reply.outputs[0].array.tolist() == [1.5, -2.0]
    assert core.calls == [("deployed", None), ("session", 3), ("infer", 3)]


def test_large_inputs_are_decoded_on_the_executor_small_ones_inline() -> None:
    executor = RecordingExecutor()
    try:
        plane, _ = _plane(executor)
        small = np.arange(16, dtype=np.float32)
        assert asyncio.run(plane.infer(_request(small))).outputs[0].array.tolist() == small.tolist()
        assert executor.threads == []
        large = np.arange(OFFLOAD_BYTES // 4 + 1, dtype=np.float32)
        out = asyncio.run(plane.infer(_request(large))).outputs[0].array
        assert np.array_equal(out, large)
        assert len(executor.threads) == 1 and executor.threads[0].startswith("nexon-blocking")
    finally:
        executor.shutdown()


def test_without_an_executor_large_inputs_still_decode_inline() -> None:
    plane, core = _plane(None)
    large = np.arange(OFFLOAD_BYTES // 4 + 1, dtype=np.float32)
    assert np.array_equal(asyncio.run(plane.infer(_request(large))).outputs[0].array, large)
    assert [c[0] for c in core.calls] == ["deployed", "session", "infer"]
