"""Tensor element types: one row per type, naming it in numpy, ONNX, the V2 protocol and NEXON.

The canonical name is numpy's (`float32`); REST `dtype` fields use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np

from nexon.errors import InvalidInput


@dataclass(frozen=True)
class ElementType:
    name: str  # canonical, numpy-style
    onnx: str  # ONNX Runtime's type string, e.g. "tensor(float)"
    v2: str  # Open Inference Protocol datatype
    numpy: np.dtype[np.generic]

    @property
    def itemsize(self) -> int:
        return self.numpy.itemsize

    @property
    def wire(self) -> np.dtype[np.generic]:
        """The little-endian dtype used for raw tensor bytes."""
        return self.numpy.newbyteorder("<")


def _t(name: str, onnx: str, v2: str, np_dtype: str) -> ElementType:
    return ElementType(name, f"tensor({onnx})", v2, np.dtype(np_dtype))


ELEMENT_TYPES: tuple[ElementType, ...] = (
    _t("float32", "float", "FP32", "float32"),
    _t("float64", "double", "FP64", "float64"),
    _t("float16", "float16", "FP16", "float16"),
    _t("int8", "int8", "INT8", "int8"),
    _t("int16", "int16", "INT16", "int16"),
    _t("int32", "int32", "INT32", "int32"),
    _t("int64", "int64", "INT64", "int64"),
    _t("uint8", "uint8", "UINT8", "uint8"),
    _t("uint16", "uint16", "UINT16", "uint16"),
    _t("uint32", "uint32", "UINT32", "uint32"),
    _t("uint64", "uint64", "UINT64", "uint64"),
    _t("bool", "bool", "BOOL", "bool"),
    _t("string", "string", "BYTES", "object"),
    # ONNX Runtime's Python API has no numpy bfloat16: runtime.py passes these as OrtValues.
    ElementType("bfloat16", "tensor(bfloat16)", "BF16", np.dtype(ml_dtypes.bfloat16)),
)

#: how JSON spells the floats it has no numbers for (both protocols; the lowercase ones as clients write them)
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf"),
              "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
#: the most dimensions a tensor may have, on every protocol
MAX_RANK = 32

BY_NAME = {t.name: t for t in ELEMENT_TYPES}
BY_ONNX = {t.onnx: t for t in ELEMENT_TYPES}
BY_V2 = {t.v2: t for t in ELEMENT_TYPES}
BY_NUMPY = {t.numpy: t for t in ELEMENT_TYPES if t.name != "string"}

_ALIASES = {"float": "float32", "double": "float64", "half": "float16", "boolean": "bool"}


def by_name(name: str) -> ElementType:
    """The element type for a REST `dtype` string; InvalidInput names the accepted ones."""
    key = _ALIASES.get(name.lower(), name.lower()) if isinstance(name, str) else name
    found = BY_NAME.get(key)
    if found is None:
        raise InvalidInput(f"unknown dtype {name!r}; expected one of {', '.join(BY_NAME)}")
    return found


def of_array(array: np.ndarray) -> ElementType:
    if array.dtype.kind in ("U", "S", "O"):
        return BY_NAME["string"]
    found = BY_NUMPY.get(array.dtype.newbyteorder("="))
    if found is None:
        raise InvalidInput(f"unsupported tensor dtype {array.dtype}")
    return found
