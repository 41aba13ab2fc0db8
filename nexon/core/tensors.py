"""Turning client payloads into input arrays, checked against the model's signature.

Every failure is an InvalidInput whose message names the input, what the model expects and
what was received. Nothing here knows about HTTP or gRPC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nexon.core import dtypes
from nexon.core.dtypes import ElementType
from nexon.core.signature import Dim, TensorSpec
from nexon.errors import InvalidInput, Unsupported


def shape_text(shape: Sequence[Dim] | None) -> str:
    if shape is None:
        return "(not a tensor)"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def element_of(spec: TensorSpec) -> ElementType:
    element = spec.element
    if element is None:
        raise Unsupported(f"input {spec.name!r} has type {spec.type}; only tensor inputs can be fed")
    return element


def check_element(spec: TensorSpec, received: ElementType) -> ElementType:
    expected = element_of(spec)
    if received != expected:
        raise InvalidInput(
            f"dtype mismatch for input {spec.name!r}: model expects {expected.name}, received {received.name}"
        )
    return expected


def check_shape(spec: TensorSpec, array: np.ndarray) -> None:
    expected = spec.shape
    if not expected:
        # None: not a tensor. (): ONNX Runtime reports a scalar and an input of unknown rank
        # alike, so that case is left to ONNX Runtime's own check.
        return
    received = array.shape
    ok = len(received) == len(expected) and all(
        not isinstance(e, int) or e == r for e, r in zip(expected, received, strict=True)
    )
    if not ok:
        raise InvalidInput(
            f"shape mismatch for input {spec.name!r}: model expects {shape_text(expected)}, "
            f"received {shape_text(received)}"
        )


def from_json(value: Any, spec: TensorSpec, dtype: str | None) -> np.ndarray:
    """A nested JSON list (or scalar) as an array of the input's dtype.

    JSON rules: bool inputs take only true/false; integer inputs take integers (or floats with
    an integral value below 2^53, where a float is still exact); float inputs take numbers and
    the strings (or bare tokens) NaN, Infinity, -Infinity; string inputs take only strings.
    """
    element = check_element(spec, dtypes.by_name(dtype)) if dtype else element_of(spec)
    if element.name == "string":
        _require_strings(value, spec.name)
    array = _cast(_as_array(value, spec.name), element, spec.name)
    check_shape(spec, array)
    return array


def from_bytes(content: bytes, dims: Sequence[int], element: ElementType | None, spec: TensorSpec) -> np.ndarray:
    """Raw little-endian row-major bytes as an array; `element=None` takes the model's dtype."""
    element = check_element(spec, element) if element else element_of(spec)
    if element.name == "string":
        raise InvalidInput(f"input {spec.name!r}: string tensors cannot be sent as raw bytes here")
    if not dims:
        raise InvalidInput(f"input {spec.name!r}: dims are required and must not be empty")
    if any(d < 0 for d in dims):
        raise InvalidInput(f"input {spec.name!r}: dims must not be negative, received {list(dims)}")
    if len(dims) > dtypes.MAX_RANK:
        raise InvalidInput(f"input {spec.name!r}: {len(dims)} dims; at most {dtypes.MAX_RANK} are supported")
    expected_len = math.prod(dims) * element.itemsize
    if len(content) != expected_len:
        raise InvalidInput(
            f"input {spec.name!r}: tensor_content has {len(content)} bytes, expected {expected_len} "
            f"({' x '.join(map(str, dims))} x {element.itemsize}-byte {element.name})"
        )
    try:
        array = np.frombuffer(content, dtype=element.wire).reshape(tuple(dims))
    except ValueError as exc:
        raise InvalidInput(f"input {spec.name!r}: cannot shape the data as {list(dims)}: {exc}") from None
    if element.name == "bool" and array.size and array.view(np.uint8).max() > 1:
        raise InvalidInput(f"input {spec.name!r}: bool tensor bytes must be 0 or 1")
    if array.dtype != element.numpy:
        array = array.astype(element.numpy)
    check_shape(spec, array)
    return array


def _as_array(value: Any, name: str) -> np.ndarray:
    if value is None:
        raise InvalidInput(f"input {name!r}: no data (null)")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"input {name!r} is not a rectangular array: {exc}") from None
    if array.dtype == object:
        if all(isinstance(v, int) for v in array.reshape(-1).tolist()):
            raise InvalidInput(f"input {name!r}: integer values out of the 64-bit range")
        raise InvalidInput(f"input {name!r} is not a rectangular array of numbers")
    return array


_EXACT_FLOAT_INT = 2.0**53


def _require_strings(value: Any, name: str) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif not isinstance(item, str):
            raise InvalidInput(f"input {name!r}: model expects strings, received {type(item).__name__} values")


def _non_finite(array: np.ndarray, element: ElementType, name: str) -> np.ndarray:
    """A float input with "NaN" / "Infinity" / "-Infinity" strings among its numbers."""
    out = np.empty(array.shape, dtype=element.numpy)
    flat, src = out.reshape(-1), array.reshape(-1)
    for i, text in enumerate(src.tolist()):
        special = dtypes.NON_FINITE.get(text)
        if special is not None:
            flat[i] = special
            continue
        try:
            flat[i] = float(text)  # a number that numpy stringified beside a "NaN"
        except ValueError:
            raise InvalidInput(
                f"input {name!r}: model expects {element.name}, received the string {text!r} "
                "(only \"NaN\", \"Infinity\" and \"-Infinity\" stand for numbers)"
            ) from None
    return out


def _cast(array: np.ndarray, element: ElementType, name: str) -> np.ndarray:
    target = element.numpy
    source = array.dtype.kind
    if element.name == "string":
        if source not in ("U", "S"):
            raise InvalidInput(f"input {name!r}: model expects strings, received {array.dtype.name} values")
        return array.astype(object)
    if source in ("U", "S"):
        if target.kind == "f":
            return _non_finite(array, element, name)
        raise InvalidInput(f"input {name!r}: model expects {element.name}, received strings")
    if target.kind == "b":
        if source != "b":
            raise InvalidInput(f"input {name!r}: model expects bool, received {array.dtype.name} values")
        return array.astype(np.bool_, copy=False)
    if target.kind in ("i", "u"):
        if source == "f":
            if not np.all(np.isfinite(array)) or not np.all(np.mod(array, 1) == 0):
                raise InvalidInput(
                    f"input {name!r}: model expects {element.name}, received non-integer numbers"
                )
            if array.size and np.abs(array).max() >= _EXACT_FLOAT_INT:
                raise InvalidInput(
                    f"input {name!r}: integers of 2^53 or more must be written as JSON integers "
                    "(as floats they are not exact)"
                )
        elif source == "b":
            raise InvalidInput(f"input {name!r}: model expects {element.name}, received booleans")
        if array.size:
            info = np.iinfo(target)  # type: ignore[type-var]
            low, high = array.min(), array.max()
            if low < info.min or high > info.max:
                raise InvalidInput(
                    f"input {name!r}: values out of range for {element.name} ([{info.min}, {info.max}])"
                )
        return array.astype(target, copy=False)
    # float targets
    if source == "b":
        raise InvalidInput(f"input {name!r}: model expects {element.name}, received booleans")
    return array.astype(target, copy=False)
