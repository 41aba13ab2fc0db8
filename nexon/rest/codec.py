"""JSON in and out of the REST layer: orjson, numpy-aware, never json.dumps(array.tolist())."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response

from nexon.core.dtypes import NON_FINITE
from nexon.errors import InvalidInput, PayloadTooLarge

T = TypeVar("T")

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):  # non-contiguous, big-endian or object arrays
        if value.dtype == object:  # string tensors: lists of str; bytes elements come back here
            return value.tolist()
        return np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default, option=_OPTIONS)


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


#: bodies or outputs larger than this are decoded / encoded on the blocking executor
OFFLOAD_BYTES = 256 * 1024
#: management requests (deploy, undeploy) are small JSON documents
SMALL_BODY_BYTES = 1024 * 1024
#: orjson holds the GIL while it encodes: big arrays are encoded a block at a time
_BLOCK_BYTES = 1024 * 1024


def loads(body: bytes) -> Any:
    if not body:
        raise InvalidInput("request body is empty; expected JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        first = str(exc)
    try:  # the bare NaN / Infinity tokens Python's json module writes
        return json.loads(body, parse_constant=NON_FINITE.__getitem__)
    except (ValueError, KeyError, UnicodeDecodeError, RecursionError):
        raise InvalidInput(f"request body is not valid JSON: {first}") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with PayloadTooLarge as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def json_body(request: Request, limit: int = SMALL_BODY_BYTES) -> Any:
    return loads(await read_body(request, limit))


def encode_array(array: np.ndarray) -> bytes:
    """An array as nested JSON lists. Non-finite floats are written as the strings "NaN",
    "Infinity" and "-Infinity" (JSON has no such numbers), as the V2 endpoints do."""
    if array.ndim == 0:
        return dumps(_finite_or_strings(array.reshape(1)).tolist()[0])  # orjson writes 0-d arrays as lists
    return dumps(_finite_or_strings(array))


def encode_blocks(array: np.ndarray) -> Iterator[bytes]:
    """`encode_array` in pieces of about 1 MB, to stream: orjson holds the GIL while it encodes,
    and one 36 MB bytes object costs tens of milliseconds just to allocate and copy."""
    if array.ndim == 0 or array.nbytes <= _BLOCK_BYTES:
        yield encode_array(array)
        return
    yield b"["
    if array.ndim > 1 and array[0].nbytes > _BLOCK_BYTES:
        for i, row in enumerate(array):
            if i:
                yield b","
            yield from encode_blocks(row)
    else:
        step = max(1, _BLOCK_BYTES // max(1, array[0].nbytes if array.ndim > 1 else array.itemsize))
        for i in range(0, len(array), step):
            block = encode_array(array[i:i + step])[1:-1]
            yield block if i == 0 else b"," + block
    yield b"]"


def _finite_or_strings(array: np.ndarray) -> Any:
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return array
    out = array.astype(object)
    out[np.isnan(array)] = "NaN"
    out[np.isposinf(array)] = "Infinity"
    out[np.isneginf(array)] = "-Infinity"
    return out


_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: no "1_0", no " 1", no other scripts' digits


def strict_int(text: str) -> int | None:
    return int(text) if _INTEGER.fullmatch(text) else None


_KIND_NAMES: dict[type, str] = {int: "an integer", str: "a string", bool: "true or false"}


def field(body: Any, name: str, kind: type[T], *, required: bool = True) -> T | None:
    """`body[name]` checked to be a `kind`; InvalidInput names the field."""
    if not isinstance(body, Mapping):
        raise InvalidInput("request body must be a JSON object")
    if name not in body or body[name] is None:
        if required:
            raise InvalidInput(f"field {name!r} is required")
        return None
    value = body[name]
    if kind is int and isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)  # the original clients send versions as strings too
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInput(f"field {name!r} must be {_KIND_NAMES.get(kind, 'a ' + kind.__name__)}")
    return value
