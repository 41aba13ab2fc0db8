"""A model's signature: its inputs and outputs as name, type and shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nexon.core.dtypes import BY_ONNX, ElementType

Dim = int | str | None  # a fixed size, a symbolic name, or unknown


@dataclass(frozen=True)
class TensorSpec:
    name: str
    type: str  # ONNX Runtime's type string: "tensor(float)", "seq(map(int64,tensor(float)))", ...
    shape: tuple[Dim, ...] | None  # None for non-tensor values

    @property
    def element(self) -> ElementType | None:
        """The element type of a tensor value; None for sequences, maps and unknown types."""
        return BY_ONNX.get(self.type)

    @property
    def dtype(self) -> str:
        element = self.element
        return element.name if element else self.type

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape) if self.shape is not None else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TensorSpec:
        dtype = str(data["dtype"])
        element = next((e for e in BY_ONNX.values() if e.name == dtype), None)
        shape = data.get("shape")
        return cls(
            name=str(data["name"]),
            type=element.onnx if element else dtype,
            shape=tuple(shape) if shape is not None else None,
        )


def normalize_dims(dims: Sequence[Any] | None) -> tuple[Dim, ...] | None:
    if dims is None:
        return None
    out: list[Dim] = []
    for d in dims:
        if isinstance(d, int) and d >= 0:
            out.append(d)
        elif isinstance(d, str) and d:
            out.append(d)
        else:
            out.append(None)
    return tuple(out)


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec | None:
        return next((s for s in self.inputs if s.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"inputs": [s.to_json() for s in self.inputs], "outputs": [s.to_json() for s in self.outputs]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signature:
        return cls(
            inputs=tuple(TensorSpec.from_json(s) for s in data.get("inputs", ())),
            outputs=tuple(TensorSpec.from_json(s) for s in data.get("outputs", ())),
        )
