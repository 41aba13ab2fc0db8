"""Malformed V2 requests get 400 / INVALID_ARGUMENT with the same message on REST and gRPC.

Real `nexon serve`, real clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from onnx import TensorProto
from tritonclient.grpc import service_pb2, service_pb2_grpc

from tests.support import models as base_models
from tests.support.server import NexonProcess
from tests.v2 import models
from tests.v2.support import deploy


@pytest.fixture(scope="module")
def deployed(server: NexonProcess) -> NexonProcess:
    deploy(server, "ids.onnx", models.identities())
    deploy(server, "rank64.onnx", base_models.identity(TensorProto.FLOAT, [None] * 64))
    return server


@pytest.fixture
def raw(deployed: NexonProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=deployed.http_url, timeout=60) as client:
        yield client


@pytest.fixture
def channel(deployed: NexonProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(deployed.grpc_target) as chan:
        yield chan


def _rest(raw: httpx.Client, model: str, inputs: list[dict[str, Any]]) -> tuple[int, Any]:
    response = raw.post(f"/v2/models/{model}/infer", json={"inputs": inputs})
    return response.status_code, response.json()


def _grpc_error(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details() or ""


def _fp32(name: str, shape: list[int], values: list[float]) -> service_pb2.ModelInferRequest.InferInputTensor:
    tensor = service_pb2.ModelInferRequest.InferInputTensor(name=name, datatype="FP32", shape=shape)
    tensor.contents.fp32_contents.extend(values)
    return tensor


BAD_SHAPES = {
    "1000 dims": ([1] * 1000, "shape has 1000 dims; at most 64 are supported"),
    "65 dims": ([1] * 65, "shape has 65 dims; at most 64 are supported"),
    "negative": ([-1], "shape must not have negative dims, received [-1]"),
    "overflow beside a zero": ([2**62, 2**62, 0], f"shape [{2**62}, {2**62}, 0] is too large"),
    "overflow": ([2**62, 2**62], f"shape [{2**62}, {2**62}] is too large"),
    "bytes overflow": ([2**62], f"shape [{2**62}] is too large: its dims multiply past 2^63 - 1 bytes of FP32"),
    "count mismatch": ([2], "shape [2] needs 2 elements, received 1"),
}


@pytest.mark.parametrize("case", BAD_SHAPES, ids=list(BAD_SHAPES))
def test_malformed_shape_is_invalid_input_on_both_protocols(case: str, raw: httpx.Client,
                                                            channel: grpc.Channel) -> None:
    shape, reason = BAD_SHAPES[case]
    status, body = _rest(raw, "ids", [{"name": "fp32_in", "datatype": "FP32", "shape": shape, "data": [1]}])
    assert status == 400
    assert body["error"].startswith("input 'fp32_in': ") and reason in body["error"]
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    request = service_pb2.ModelInferRequest(model_name="ids", inputs=[_fp32("fp32_in", shape, [1.0])])
    code, details = _grpc_error(lambda: stub.ModelInfer(request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == body["error"]


def test_shape_beyond_int64_over_rest_is_400(raw: httpx.Client) -> None:
    status, body = _rest(raw, "ids", [{"name": "fp32_in", "datatype": "FP32", "shape": [2**70, 0], "data": []}])
    assert status == 400 and body["error"] == "inputs[0].shape must be a list of 64-bit integers"
    status, body = _rest(raw, "ids", [{"name": "fp32_in", "datatype": "FP32", "shape": [2**64 - 1, 0], "data": []}])
    assert status == 400 and f"shape [{2**64 - 1}, 0] is too large" in body["error"]
    status, body = _rest(raw, "ids", [{"name": "fp32_in", "datatype": "FP32", "shape": [1.5], "data": [1]}])
    assert status == 400 and body["error"] == "inputs[0].shape must be a list of 64-bit integers"


def test_shapes_at_the_limits_still_run(raw: httpx.Client) -> None:
    status, body = _rest(raw, "rank64", [{"name": "x", "datatype": "FP32", "shape": [1] * 64, "data": [7]}])
    assert status == 200 and body["outputs"][0]["shape"] == [1] * 64 and body["outputs"][0]["data"] == [7.0]
    empty = [2**40] * 3 + [0] + [1] * 60  # 2^120 elements but for the 0: an empty array numpy can hold
    status, body = _rest(raw, "rank64", [{"name": "x", "datatype": "FP32", "shape": empty, "data": []}])
    assert status == 400 and "is too large" in body["error"]
    fits = [2**20] * 3 + [0] + [1] * 60
    status, body = _rest(raw, "rank64", [{"name": "x", "datatype": "FP32", "shape": fits, "data": []}])
    assert status == 200 and body["outputs"][0]["shape"] == fits and body["outputs"][0]["data"] == []
