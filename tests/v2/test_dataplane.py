"""The V2 DataPlane in process over the real core: a real Orchestrator on a real local store, real
ONNX Runtime sessions and a real BlockingExecutor. One lookup per inference, the resolved version
served, large inputs decoded off the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
from onnx import TensorProto

from nexon.core.cache import SessionCache
from nexon.core.orchestrator import Orchestrator
from nexon.core.runtime import OrtRuntime, RuntimeOptions
from nexon.executor import BlockingExecutor
from nexon.store.local import LocalStore
from nexon.v2.dataplane import OFFLOAD_BYTES, DataPlane
from nexon.v2.messages import InferRequest, InputTensor, RawData
from tests.support import models


class RecordingExecutor(BlockingExecutor):
    """The real executor, noting which functions it ran."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.ran: list[str] = []

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            assert threading.current_thread().name.startswith("nexon-blocking")
            return fn(*args, **kwargs)

        self.ran.append(getattr(fn, "__name__", repr(fn)))
        return await super().run(call)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _core(tmp: Path, executor: BlockingExecutor) -> Orchestrator:
    store = LocalStore(tmp / "store", executor)
    await store.open()
    core = Orchestrator(store, SessionCache(8, 1 << 30, 0), OrtRuntime(RuntimeOptions()), executor,
                        max_upload_bytes=1 << 30)
    staged = await core.stage_upload("ident.onnx", _chunks(models.identity(TensorProto.FLOAT, [None])))
    await core.upload_and_deploy("ident.onnx", staged)
    return core


async def _ready() -> bool:
    return True


def _request(values: np.ndarray, version: str = "") -> InferRequest:
    tensor = InputTensor("x", "FP32", (values.size,), RawData(values.astype("<f4").tobytes()))
    return InferRequest("ident", version, "r1", (tensor,))


def test_one_lookup_per_inference_and_large_inputs_decode_off_the_loop(tmp_path: Path) -> None:
    async def scenario() -> None:
        executor = RecordingExecutor()
        core = await _core(tmp_path, executor)
        try:
            plane = DataPlane(core, _ready, "test", executor=executor)
            hits = core.cache.stats.hits
            small = np.array([1.5, -2.0], np.float32)
            executor.ran.clear()
            reply = await plane.infer(_request(small, "1"))
            assert reply.model_version == "1" and reply.outputs[0].array.tolist() == [1.5, -2.0]
            assert core.cache.stats.hits == hits + 1  # one session lookup for the whole call
            assert "_decode" not in executor.ran  # small inputs decode inline

            large = np.arange(OFFLOAD_BYTES // 4 + 1, dtype=np.float32)
            out = (await plane.infer(_request(large))).outputs[0].array
            assert np.array_equal(out, large) and "_decode" in executor.ran
            await core.stop()
        finally:
            executor.shutdown()

    asyncio.run(scenario())


def test_without_an_executor_large_inputs_still_decode_inline(tmp_path: Path) -> None:
    async def scenario() -> None:
        executor = RecordingExecutor()
        core = await _core(tmp_path, executor)
        try:
            plane = DataPlane(core, _ready, "test")
            executor.ran.clear()
            large = np.arange(OFFLOAD_BYTES // 4 + 1, dtype=np.float32)
            assert np.array_equal((await plane.infer(_request(large))).outputs[0].array, large)
            assert "_decode" not in executor.ran
            await core.stop()
        finally:
            executor.shutdown()

    asyncio.run(scenario())
