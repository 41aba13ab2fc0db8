"""Checks an uploaded file is a self-contained ONNX model before anything is stored.

Parsing a model with the onnx package holds the GIL (about 100 ms per 150 MB), which would
stall the event loop even from a worker thread, so `ModelChecker` runs the parse in one
child process.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from nexon.errors import InvalidModel


def problem_with(data: bytes) -> str | None:
    """Why `data` is not a self-contained ONNX model, or None if it is one.

    External-data models are refused outright: the server never opens a path named in a model.
    """
    import onnx
    from google.protobuf.message import DecodeError
    from onnx.external_data_helper import _get_all_tensors  # graph, subgraphs and attributes

    if not data:
        return "the file is empty"
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        return f"not an ONNX model: {str(exc)[:300] or 'cannot parse protobuf'}"
    if not model.HasField("graph"):
        return "not an ONNX model: it has no graph"
    for tensor in _get_all_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            return (
                f"model references external data (tensor {tensor.name!r}); "
                "upload a self-contained model (onnx.save with save_as_external_data=False)"
            )
    return None


def _die_with_parent() -> None:
    """Linux: the checker is killed with the server, even by a kill -9 (no orphans left)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _check_file(path: str) -> str | None:
    return problem_with(Path(path).read_bytes())


class ModelChecker:
    """Runs `problem_with` on a file in a child process."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    1, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent
                )
            return self._pool

    async def check(self, path: Path) -> None:
        """Raise InvalidModel unless the file is a self-contained ONNX model."""
        try:
            problem = await asyncio.wrap_future(self._get_pool().submit(_check_file, str(path)))
        except BrokenProcessPool:
            with self._lock:
                self._pool = None
            raise InvalidModel("the model could not be checked: the checker ran out of memory or crashed") from None
        if problem is not None:
            raise InvalidModel(problem)

    def shutdown(self) -> None:
        """Stop the child and wait for it (blocks: call it off the loop)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
