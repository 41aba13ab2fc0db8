"""V2 requests and replies as frozen values, the same for REST and gRPC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class JsonData:
    """REST `data`: a flat or nested JSON list (or a scalar)."""

    values: Any


@dataclass(frozen=True)
class RawData:
    """Flattened row-major little-endian bytes; BYTES elements length-prefixed."""

    content: bytes


@dataclass(frozen=True)
class TypedData:
    """gRPC `contents`: the one repeated field that matches the datatype, as an array of the
    field's element type (a list of bytes for BYTES)."""

    values: np.ndarray | Sequence[bytes]


Payload = JsonData | RawData | TypedData


@dataclass(frozen=True)
class InputTensor:
    name: str
    datatype: str
    shape: tuple[int, ...]
    data: Payload


@dataclass(frozen=True)
class InferRequest:
    model_name: str
    model_version: str  # "" for the deployed version
    id: str
    inputs: tuple[InputTensor, ...]
    outputs: tuple[str, ...] = ()  # empty: all outputs


@dataclass(frozen=True)
class OutputTensor:
    name: str
    datatype: str
    shape: tuple[int, ...]
    array: np.ndarray  # BYTES: a flat-able object array of bytes


@dataclass(frozen=True)
class InferResponse:
    model_name: str
    model_version: str
    id: str
    outputs: tuple[OutputTensor, ...]


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: tuple[int, ...]  # -1 for a dynamic dimension


@dataclass(frozen=True)
class ModelMetadata:
    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]


@dataclass(frozen=True)
class ServerMetadata:
    name: str
    version: str
    extensions: tuple[str, ...] = field(default=())
