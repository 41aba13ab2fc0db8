"""The onnx wheel's backend test cases (simple, pytorch-converted, pytorch-operator, light) as data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from tests.support.models import onnx_backend_data

SUITES = ("simple", "pytorch-converted", "pytorch-operator", "light")


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    model: bytes
    inputs: dict[str, Any]  # ndarray, or list/dict for non-tensor inputs
    expected: dict[str, Any]
    rtol: float = 1e-3
    atol: float = 1e-7

    @property
    def filename(self) -> str:
        return f"{self.suite}-{self.name}.onnx"

    @property
    def tensor_inputs(self) -> bool:
        return all(isinstance(v, np.ndarray) for v in self.inputs.values())


def _read(path: Path, type_proto: onnx.TypeProto) -> Any:
    data = path.read_bytes()
    kind = type_proto.WhichOneof("value")
    if kind == "sequence_type":
        seq = onnx.SequenceProto()
        seq.ParseFromString(data)
        return numpy_helper.to_list(seq)
    if kind == "map_type":
        mp = onnx.MapProto()
        mp.ParseFromString(data)
        return numpy_helper.to_dict(mp)
    if kind == "optional_type":
        opt = onnx.OptionalProto()
        opt.ParseFromString(data)
        return numpy_helper.to_optional(opt)
    tensor = onnx.TensorProto()
    tensor.ParseFromString(data)
    return numpy_helper.to_array(tensor)


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def _dummy(value: onnx.ValueInfoProto) -> np.ndarray:
    """The input onnx's runner generates for the light models (arange / n, float32)."""
    shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in value.type.tensor_type.shape.dim)
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) / n).astype(np.float32)


def load_cases() -> list[Case]:
    root = onnx_backend_data()
    cases: list[Case] = []
    for suite in SUITES:
        for entry in sorted((root / suite).iterdir()):
            if suite == "light":
                if entry.suffix != ".onnx":
                    continue
                model = onnx.load(entry)
                inputs = {i.name: _dummy(i) for i in _graph_inputs(model)}
                prefix = entry.with_suffix("")
                expected = {o.name: _read(Path(f"{prefix}_output_{k}.pb"), o.type)
                            for k, o in enumerate(model.graph.output)}
                cases.append(Case(suite, entry.stem, entry.read_bytes(), inputs, expected, 1e-3, 1e-5))
                continue
            model_path = entry / "model.onnx"
            model = onnx.load(model_path)
            for data_set in sorted(entry.glob("test_data_set_*")):
                inputs = {i.name: _read(data_set / f"input_{k}.pb", i.type)
                          for k, i in enumerate(_graph_inputs(model))}
                expected = {o.name: _read(data_set / f"output_{k}.pb", o.type)
                            for k, o in enumerate(model.graph.output)}
                name = entry.name if data_set.name == "test_data_set_0" else f"{entry.name}-{data_set.name}"
                cases.append(Case(suite, name, model_path.read_bytes(), inputs, expected))
    return cases


def matches(expected: Any, actual: Any, rtol: float, atol: float) -> bool:
    """Values equal within the backend tests' tolerance; strings and JSON documents exactly."""
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            matches(e, a, rtol, atol) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(
            matches(expected[k], actual[k], rtol, atol) for k in expected)
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if expected.dtype.kind in ("U", "S", "O"):
        norm = [v.decode() if isinstance(v, bytes) else str(v) for v in actual.reshape(-1)]
        return expected.shape == actual.shape and norm == [str(v) for v in expected.reshape(-1)]
    if expected.shape != actual.shape:
        return False
    try:
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)
    except AssertionError:
        return False
    return True
