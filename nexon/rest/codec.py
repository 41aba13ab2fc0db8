"""JSON in and out of the REST layer: orjson, numpy-aware, never json.dumps(array.tolist())."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response

from nexon.errors import InvalidInput

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


def loads(body: bytes) -> Any:
    if not body:
        raise InvalidInput("request body is empty; expected JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None


async def json_body(request: Request) -> Any:
    return loads(await request.body())


def field(body: Any, name: str, kind: type[T], *, required: bool = True) -> T | None:
    """`body[name]` checked to be a `kind`; InvalidInput names the field."""
    if not isinstance(body, Mapping):
        raise InvalidInput("request body must be a JSON object")
    if name not in body or body[name] is None:
        if required:
            raise InvalidInput(f"field {name!r} is required")
        return None
    value = body[name]
    if kind is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)  # the original clients send versions as strings too
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInput(f"field {name!r} must be a {kind.__name__}")
    return value
