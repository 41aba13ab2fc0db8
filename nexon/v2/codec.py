"""V2 tensors to and from arrays: JSON data, raw bytes and typed gRPC contents.

Rules (README "V2 JSON rules"):
- `shape` has at most 32 dims (as on the NEXON endpoints), none negative, and must describe an array numpy can hold
  (non-zero dims x item size within 2^63 - 1 bytes).
- `data` may be flat (row-major) or nested; it must hold exactly prod(shape) elements.
- BOOL takes JSON true/false only; integer datatypes take JSON integers only, range-checked,
  exact to 64 bits (no float rounding beyond 2^53); floating datatypes take numbers and the
  strings "NaN", "Infinity", "-Infinity" (bare NaN/Infinity tokens are accepted too).
- Outputs: floats that are not finite are written as those strings; int64/uint64 as exact
  JSON integers; BYTES as UTF-8 strings.
- A model output that is not a tensor (a sequence or map, e.g. skl2onnx's ZipMap) is a BYTES
  tensor of JSON documents: shape [n] with one document per element of a sequence, [1] for
  a map. Map keys become JSON object keys (strings).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from nexon.core import dtypes
from nexon.core.dtypes import MAX_RANK, NON_FINITE, ElementType
from nexon.core.signature import TensorSpec
from nexon.core.tensors import check_shape, element_of
from nexon.errors import InvalidInput, Unsupported
from nexon.v2.messages import InputTensor, OutputTensor, RawData, TensorMetadata, TypedData

BYTES = "BYTES"
_LENGTH = struct.Struct("<I")
MAX_DIMS = MAX_RANK  # the NEXON endpoints' limit too, so every protocol agrees
_MAX_BYTES = 2**63 - 1
UNSUPPORTED_PARAMETERS = ("shared_memory_region", "shared_memory_byte_size", "shared_memory_offset",
                          "classification")


def element_for(datatype: str, name: str) -> ElementType:
    found = dtypes.BY_V2.get(datatype)
    if found is None:
        raise InvalidInput(f"input {name!r}: unknown datatype {datatype!r}; expected one of {', '.join(dtypes.BY_V2)}")
    return found


def check_parameters(parameters: Mapping[str, Any], where: str) -> None:
    """Refuse extensions NEXON does not implement, rather than silently ignoring them."""
    for key in UNSUPPORTED_PARAMETERS:
        if key in parameters:
            raise Unsupported(f"{where}: parameter {key!r} is not supported by this server")


# -- inputs ----------------------------------------------------------------------------------


def decode(tensor: InputTensor, spec: TensorSpec) -> np.ndarray:
    """One V2 input tensor as an array of the model's element type and the given shape."""
    expected = element_of(spec)
    received = element_for(tensor.datatype, tensor.name)
    if received != expected:
        raise InvalidInput(
            f"datatype mismatch for input {tensor.name!r}: model expects {expected.v2}, received {received.v2}"
        )
    shape = tensor.shape
    count = element_count(shape, expected, tensor.name)
    data = tensor.data
    if isinstance(data, RawData):
        flat = _from_raw(data.content, expected, count, tensor.name)
    elif isinstance(data, TypedData):
        flat = _from_typed(data.values, expected, tensor.name)
    else:
        flat = _from_json(data.values, expected, tensor.name)
    if flat.size != count:
        raise InvalidInput(
            f"input {tensor.name!r}: shape {list(shape)} needs {count} elements, received {flat.size}"
        )
    array = flat.reshape(shape)
    check_shape(spec, array)
    return array


def element_count(shape: Sequence[int], element: ElementType, name: str) -> int:
    """prod(shape), for a shape an array can have; anything else is InvalidInput naming why."""
    if len(shape) > MAX_DIMS:
        raise InvalidInput(f"input {name!r}: shape has {len(shape)} dims; at most {MAX_DIMS} are supported")
    if any(d < 0 for d in shape):
        raise InvalidInput(f"input {name!r}: shape must not have negative dims, received {list(shape)}")
    # numpy (and ORT) refuse a shape whose non-zero dims times the item size pass 2^63 - 1 bytes,
    # even when another dim is 0.
    if math.prod(d for d in shape if d) * element.itemsize > _MAX_BYTES:
        raise InvalidInput(
            f"input {name!r}: shape {list(shape)} is too large: its dims multiply past 2^63 - 1 bytes "
            f"of {element.v2}"
        )
    return math.prod(shape)


def _from_json(values: Any, element: ElementType, name: str) -> np.ndarray:
    if values is None:
        raise InvalidInput(f"input {name!r}: 'data' is required (or parameters.binary_data_size)")
    if element.v2 == BYTES:
        return _strings([_text(v, name) for v in _flatten(values, name)])
    try:
        array = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput(f"input {name!r}: 'data' is not a rectangular array") from None
    if array.dtype == object:
        raise InvalidInput(f"input {name!r}: 'data' must hold {element.v2} values of one kind, within range")
    return _cast(array, element, name, values)


def _cast(array: np.ndarray, element: ElementType, name: str, values: Any) -> np.ndarray:
    kind, target = array.dtype.kind, element.numpy
    if target.kind == "b":
        if kind != "b":
            raise InvalidInput(f"input {name!r}: BOOL takes JSON true/false, received {array.dtype.name} values")
        return array.reshape(-1)
    if target.kind in "iu":
        if kind not in "iu":
            return _exact_ints(values, element, name)
        _check_range(array, element, name)
        return array.astype(target, copy=False).reshape(-1)
    if kind == "b":
        raise InvalidInput(f"input {name!r}: {element.v2} takes numbers, received booleans")
    if kind == "U":  # numbers mixed with "NaN" / "Infinity" strings
        return np.array([_float(v, name) for v in _flatten(values, name)], dtype=target)
    if kind not in "iuf":
        raise InvalidInput(f"input {name!r}: {element.v2} takes numbers, received {array.dtype.name} values")
    return array.astype(target).reshape(-1)


def _exact_ints(values: Any, element: ElementType, name: str) -> np.ndarray:
    """Integers numpy could not hold in one dtype (e.g. 0 beside 2^64 - 1): checked one by one."""
    flat = _flatten(values, name)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in flat):
        raise InvalidInput(f"input {name!r}: {element.v2} takes JSON integers only")
    info = np.iinfo(element.numpy)  # type: ignore[type-var]
    if flat and (min(flat) < info.min or max(flat) > info.max):
        raise InvalidInput(f"input {name!r}: values out of range for {element.v2} ([{info.min}, {info.max}])")
    return np.array(flat, dtype=element.numpy)


def _float(value: Any, name: str) -> float:
    if isinstance(value, str):
        if value in NON_FINITE:
            return NON_FINITE[value]
        raise InvalidInput(f"input {name!r}: {value!r} is not a number (strings allowed: NaN, Infinity, -Infinity)")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"input {name!r}: {value!r} is not a number")
    return float(value)


def _check_range(array: np.ndarray, element: ElementType, name: str) -> None:
    if array.size == 0:
        return
    info = np.iinfo(element.numpy)  # type: ignore[type-var]
    if int(array.min()) < info.min or int(array.max()) > info.max:
        raise InvalidInput(f"input {name!r}: values out of range for {element.v2} ([{info.min}, {info.max}])")


def _flatten(values: Any, name: str) -> list[Any]:
    if not isinstance(values, list):
        return [values]
    out: list[Any] = []
    stack = [iter(values)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _text(value: Any, name: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return _utf8(value, name)
    raise InvalidInput(f"input {name!r}: BYTES takes strings, received {type(value).__name__}")


def _utf8(value: bytes, name: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"input {name!r}: ONNX string tensors hold UTF-8 text; received other bytes") from None


def _strings(items: list[str]) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _from_raw(content: bytes, element: ElementType, count: int, name: str) -> np.ndarray:
    if element.v2 == BYTES:
        return _strings([_utf8(b, name) for b in unpack_bytes(content, name)])
    expected = count * element.itemsize
    if len(content) != expected:
        raise InvalidInput(
            f"input {name!r}: raw content has {len(content)} bytes, expected {expected} "
            f"({count} x {element.itemsize}-byte {element.v2})"
        )
    if element.v2 == "BOOL":
        flags = np.frombuffer(content, dtype=np.uint8)
        if flags.size and flags.max() > 1:
            raise InvalidInput(f"input {name!r}: bool tensor bytes must be 0 or 1")
        return flags.view(np.bool_)
    array = np.frombuffer(content, dtype=element.wire)
    return array if array.dtype == element.numpy else array.astype(element.numpy)


def _from_typed(values: np.ndarray | Sequence[bytes], element: ElementType, name: str) -> np.ndarray:
    if element.v2 == BYTES:
        return _strings([_utf8(bytes(b), name) for b in values])
    if element.v2 in ("FP16", "BF16"):
        raise InvalidInput(f"input {name!r}: {element.v2} has no typed contents; send it in raw_input_contents")
    wide = np.asarray(values)
    if element.numpy.kind in "iu" and wide.size:
        _check_range(wide, element, name)
    return wide.astype(element.numpy, copy=False).reshape(-1)


def unpack_bytes(content: bytes, name: str) -> list[bytes]:
    """BYTES in binary form: each element a 4-byte little-endian length, then that many bytes."""
    items: list[bytes] = []
    view = memoryview(content)
    offset = 0
    while offset < len(view):
        if offset + 4 > len(view):
            raise InvalidInput(f"input {name!r}: BYTES content ends inside a length prefix")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += 4
        if offset + length > len(view):
            raise InvalidInput(f"input {name!r}: BYTES element of {length} bytes runs past the end of the content")
        items.append(bytes(view[offset:offset + length]))
        offset += length
    return items


def pack_bytes(items: np.ndarray) -> bytes:
    parts: list[bytes] = []
    for item in items.reshape(-1):
        parts.append(_LENGTH.pack(len(item)))
        parts.append(item)
    return b"".join(parts)


# -- outputs ---------------------------------------------------------------------------------


def output_tensor(name: str, value: Any) -> OutputTensor:
    """A model output as a V2 tensor; sequences and maps become BYTES of JSON documents."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in ("U", "S", "O"):
            return OutputTensor(name, BYTES, tuple(value.shape), _as_bytes(value))
        return OutputTensor(name, dtypes.of_array(value).v2, tuple(value.shape), value)
    if isinstance(value, list):
        docs = [_json_document(v) for v in value]
    elif isinstance(value, dict):
        docs = [_json_document(value)]
    else:
        raise Unsupported(f"output {name!r} is a {type(value).__name__}, which V2 cannot carry")
    array = np.empty(len(docs), dtype=object)
    array[:] = docs
    return OutputTensor(name, BYTES, (len(docs),), array)


def _as_bytes(value: np.ndarray) -> np.ndarray:
    flat = value.reshape(-1)
    out = np.empty(flat.size, dtype=object)
    out[:] = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in flat]
    return out.reshape(value.shape)


def _json_document(value: Any) -> bytes:
    return orjson.dumps(_jsonable(value), option=orjson.OPT_NON_STR_KEYS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fV":
            value = value.astype(np.float64)
        return _jsonable(value.tolist())
    if isinstance(value, dict):
        return {_key(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return _float_out(float(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _key(key: Any) -> Any:
    return key.item() if isinstance(key, np.generic) else key


def _float_out(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _floats(flat: np.ndarray) -> list[float | str]:
    return [_float_out(v) for v in flat.tolist()]


def json_data(output: OutputTensor) -> Any:
    """The flattened `data` of a REST output, ready for orjson."""
    flat = output.array.reshape(-1)
    if output.datatype == BYTES:
        return [_out_text(v, output.name) for v in flat]
    if flat.dtype.kind in "fV":
        wide = flat.astype(np.float32) if flat.dtype.itemsize < 4 else flat
        return wide if np.isfinite(wide).all() else _floats(wide)
    return flat


def _out_text(value: bytes, name: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsupported(f"output {name!r} holds bytes that are not UTF-8; request it as binary data") from None


def raw_content(output: OutputTensor) -> bytes:
    """Raw little-endian bytes of an output; BYTES length-prefixed."""
    if output.datatype == BYTES:
        return pack_bytes(output.array)
    if output.datatype == "BOOL":
        return np.ascontiguousarray(output.array, dtype=np.uint8).tobytes()
    element = dtypes.BY_V2[output.datatype]
    return np.ascontiguousarray(output.array, dtype=element.wire).tobytes()


# -- metadata --------------------------------------------------------------------------------


def tensor_metadata(spec: TensorSpec, *, output: bool) -> TensorMetadata:
    """Name, V2 datatype and shape (-1 for dynamic). Non-tensor outputs are BYTES of JSON."""
    element = spec.element
    if element is not None and spec.shape is not None:
        return TensorMetadata(spec.name, element.v2, tuple(d if isinstance(d, int) else -1 for d in spec.shape))
    if output:
        return TensorMetadata(spec.name, BYTES, (1,) if spec.type.startswith("map(") else (-1,))
    return TensorMetadata(spec.name, spec.type, (-1,))

