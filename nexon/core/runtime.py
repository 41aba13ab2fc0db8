"""ONNX Runtime, behind one module: sessions are built and run here, and its errors translated.

Everything here blocks; callers run it through the BlockingExecutor.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import onnxruntime as ort

from nexon.core.signature import Signature, TensorSpec, normalize_dims
from nexon.errors import InvalidInput, InvalidModel, NexonError, Unsupported

_OPT_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}

_state = ort.capi.onnxruntime_pybind11_state


_SOURCE_PATH = re.compile(r"\S*onnxruntime_src/\S*\s*")


def _short(exc: BaseException, limit: int = 600) -> str:
    text = str(exc).strip().replace("\n", " ")
    # ORT prefixes messages with "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : "; keep the reason.
    if text.startswith("[ONNXRuntimeError]"):
        text = text.split(" : ", 3)[-1]
    text = _SOURCE_PATH.sub("", text)  # ORT's own source locations mean nothing to a client
    return text[:limit]


@dataclass(frozen=True)
class RuntimeOptions:
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    graph_opt_level: str = "all"


class LoadedModel:
    """An ONNX Runtime session with its signature. Safe to run from several threads at once."""

    def __init__(self, session: ort.InferenceSession, size_bytes: int) -> None:
        self._session = session
        self.size_bytes = size_bytes
        self.signature = Signature(
            inputs=tuple(_spec(a) for a in session.get_inputs()),
            outputs=tuple(_spec(a) for a in session.get_outputs()),
        )
        self.optional_inputs = frozenset(i.name for i in session.get_overridable_initializers())
        self._bf16_outputs = any(o.type == _BF16 for o in session.get_outputs())

    def run(self, feeds: Mapping[str, Any], outputs: Sequence[str] | None = None) -> list[Any]:
        try:
            if self._bf16_outputs:
                return self._run_ort_values(feeds, outputs)
            result: list[Any] = self._session.run(list(outputs) if outputs else None, _wrap_bf16(feeds))
            return result
        except _state.InvalidArgument as exc:
            raise InvalidInput(f"model rejected the input: {_short(exc)}") from None
        except _state.NotImplemented as exc:
            raise Unsupported(f"ONNX Runtime cannot run this: {_short(exc)}") from None
        except (_state.Fail, _state.RuntimeException) as exc:
            # Raised by kernels on input-dependent failures (e.g. a Reshape that cannot apply).
            raise InvalidInput(f"inference failed on this input: {_short(exc)}") from None
        except NexonError:
            raise
        except Exception as exc:
            raise NexonError(f"inference failed: {_short(exc)}") from None


    def _run_ort_values(self, feeds: Mapping[str, Any], outputs: Sequence[str] | None) -> list[Any]:
        values = {n: _ort_value(a) for n, a in feeds.items()}
        result = self._session.run_with_ort_values(list(outputs) if outputs else None, values)
        return [_from_ort_value(v) for v in result]


_BF16 = "tensor(bfloat16)"
_ONNX_BFLOAT16 = 16  # TensorProto.BFLOAT16


def _ort_value(array: Any) -> Any:
    if isinstance(array, np.ndarray) and array.dtype == ml_dtypes.bfloat16:
        raw = np.ascontiguousarray(array).view(np.uint16)
        return ort.OrtValue.ortvalue_from_numpy_with_onnx_type(raw, _ONNX_BFLOAT16)
    return ort.OrtValue.ortvalue_from_numpy(array)


def _wrap_bf16(feeds: Mapping[str, Any]) -> dict[str, Any]:
    """numpy bfloat16 (ml_dtypes) arrays become OrtValues; ORT's numpy bridge does not know the type."""
    return {n: _ort_value(a) if isinstance(a, np.ndarray) and a.dtype == ml_dtypes.bfloat16 else a
            for n, a in feeds.items()}


def _from_ort_value(value: Any) -> Any:
    if not value.is_tensor():
        raise Unsupported("a model with bfloat16 outputs can only return tensors")
    if value.data_type() != _BF16:
        return value.numpy()
    shape = tuple(value.shape())
    size = value.tensor_size_in_bytes()
    raw = ctypes.string_at(value.data_ptr(), size) if size else b""
    return np.frombuffer(raw, dtype=np.uint16).view(ml_dtypes.bfloat16).reshape(shape)


def _spec(arg: Any) -> TensorSpec:
    is_tensor = isinstance(arg.type, str) and arg.type.startswith("tensor(")
    return TensorSpec(name=arg.name, type=arg.type, shape=normalize_dims(arg.shape) if is_tensor else None)


class OrtRuntime:
    def __init__(self, options: RuntimeOptions) -> None:
        self._options = options

    def load(self, path: Path) -> LoadedModel:
        """Build a session from a model file: by path, ORT parses without holding the GIL."""
        so = ort.SessionOptions()
        so.intra_op_num_threads = self._options.intra_op_threads
        so.inter_op_num_threads = self._options.inter_op_threads
        so.graph_optimization_level = _OPT_LEVELS[self._options.graph_opt_level]
        so.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
        except Exception as exc:
            reason = _short(exc).replace(str(path), "the model")  # never show the server's paths
            raise InvalidModel(f"ONNX Runtime cannot load the model: {reason}") from None
        return LoadedModel(session, path.stat().st_size)
