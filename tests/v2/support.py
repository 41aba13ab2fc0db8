"""What the V2 tests share: deploying models, tritonclient clients, running one case three ways."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx
import numpy as np
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp

from tests.support.server import NexonProcess

PROTOCOLS = ("rest-json", "rest-binary", "grpc")


class Endpoints(Protocol):
    """A NexonProcess, or Envoy in front of one: where tritonclient connects."""

    @property
    def http_port(self) -> int: ...

    @property
    def grpc_target(self) -> str: ...


def deploy(server: NexonProcess, filename: str, model: bytes) -> dict[str, Any]:
    response = httpx.post(f"{server.http_url}/deployment/deploy-file/", files={"file": (filename, model)}, timeout=120)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def upload(server: NexonProcess, filename: str, model: bytes) -> dict[str, Any]:
    response = httpx.post(f"{server.http_url}/upload/", files={"file": (filename, model)}, timeout=120)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def http_client(server: Endpoints) -> thttp.InferenceServerClient:
    return thttp.InferenceServerClient(f"127.0.0.1:{server.http_port}", network_timeout=300, connection_timeout=60)


def grpc_client(server: Endpoints) -> tgrpc.InferenceServerClient:
    return tgrpc.InferenceServerClient(server.grpc_target)


def v2_datatype(array: np.ndarray) -> str:
    if array.dtype.kind in ("U", "S", "O"):
        return "BYTES"
    from tritonclient.utils import np_to_triton_dtype

    datatype: str = np_to_triton_dtype(array.dtype)
    return datatype


def _bytes_array(array: np.ndarray) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    out.reshape(-1)[:] = [v.encode() if isinstance(v, str) else v for v in array.reshape(-1)]
    return out


def infer(protocol: str, server: Endpoints, model: str, feeds: Mapping[str, np.ndarray],
          outputs: Sequence[str], request_id: str = "") -> dict[str, np.ndarray]:
    """Run one model through one V2 path with tritonclient; outputs as numpy, by name."""
    if protocol == "grpc":
        gclient = grpc_client(server)
        try:
            ginputs = []
            for name, array in feeds.items():
                datatype = v2_datatype(array)
                tensor = tgrpc.InferInput(name, list(array.shape), datatype)
                tensor.set_data_from_numpy(_bytes_array(array) if datatype == "BYTES" else array)
                ginputs.append(tensor)
            gresult = gclient.infer(model, ginputs, outputs=[tgrpc.InferRequestedOutput(n) for n in outputs],
                                    request_id=request_id)
            return {n: gresult.as_numpy(n) for n in outputs}
        finally:
            gclient.close()
    binary = protocol == "rest-binary"
    client = http_client(server)
    try:
        inputs = []
        for name, array in feeds.items():
            datatype = v2_datatype(array)
            tensor = thttp.InferInput(name, list(array.shape), datatype)
            tensor.set_data_from_numpy(_bytes_array(array) if datatype == "BYTES" else array, binary_data=binary)
            inputs.append(tensor)
        result = client.infer(model, inputs, request_id=request_id,
                              outputs=[thttp.InferRequestedOutput(n, binary_data=binary) for n in outputs])
        return {n: result.as_numpy(n) for n in outputs}
    finally:
        client.close()


def decode_documents(array: np.ndarray) -> list[Any]:
    """A non-tensor output as NEXON sends it: BYTES elements, each one JSON document."""
    return [json.loads(v) for v in array.reshape(-1)]
