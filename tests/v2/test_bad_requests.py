"""Malformed V2 requests get 400 / INVALID_ARGUMENT with the same message on REST and gRPC;
initializer-backed (optional) inputs can be overridden. Real `nexon serve`, real clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import numpy as np
import orjson
import pytest
from onnx import TensorProto
from tritonclient.grpc import service_pb2, service_pb2_grpc

from tests.support import models as base_models
from tests.support.server import NexonProcess
from tests.v2 import models
from tests.v2.support import deploy

INFER = "/inference.GRPCInferenceService/ModelInfer"
TYPED = {"BOOL": TensorProto.BOOL, "INT8": TensorProto.INT8, "UINT16": TensorProto.UINT16,
         "UINT32": TensorProto.UINT32, "INT64": TensorProto.INT64, "UINT64": TensorProto.UINT64,
         "FP64": TensorProto.DOUBLE}
METADATA = "/inference.GRPCInferenceService/ModelMetadata"


@pytest.fixture(scope="module")
def deployed(server: NexonProcess) -> NexonProcess:
    deploy(server, "ids.onnx", models.identities())
    deploy(server, "bias.onnx", base_models.with_optional_input())
    deploy(server, "rank32.onnx", base_models.identity(TensorProto.FLOAT, [None] * 32))
    deploy(server, "flags.onnx", base_models.identity(TensorProto.BOOL, [None]))
    for datatype, onnx_type in TYPED.items():
        deploy(server, f"typed_{datatype.lower()}.onnx", base_models.identity(onnx_type, [None]))
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
    "1000 dims": ([1] * 1000, "shape has 1000 dims; at most 32 are supported"),
    "33 dims": ([1] * 33, "shape has 33 dims; at most 32 are supported"),
    "64 dims": ([1] * 64, "shape has 64 dims; at most 32 are supported"),
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
    status, body = _rest(raw, "rank32", [{"name": "x", "datatype": "FP32", "shape": [1] * 32, "data": [7]}])
    assert status == 200 and body["outputs"][0]["shape"] == [1] * 32 and body["outputs"][0]["data"] == [7.0]
    empty = [2**40] * 3 + [0] + [1] * 28  # 2^120 elements but for the 0: an empty array numpy can hold
    status, body = _rest(raw, "rank32", [{"name": "x", "datatype": "FP32", "shape": empty, "data": []}])
    assert status == 400 and "is too large" in body["error"]
    fits = [2**20] * 3 + [0] + [1] * 28
    status, body = _rest(raw, "rank32", [{"name": "x", "datatype": "FP32", "shape": fits, "data": []}])
    assert status == 200 and body["outputs"][0]["shape"] == fits and body["outputs"][0]["data"] == []


def _rest_binary(raw: httpx.Client, model: str, datatype: str, shape: list[int], blob: bytes) -> tuple[int, Any]:
    header = orjson.dumps({"inputs": [{"name": "x", "datatype": datatype, "shape": shape,
                                       "parameters": {"binary_data_size": len(blob)}}],
                           "outputs": [{"name": "y", "parameters": {"binary_data": False}}]})
    response = raw.post(f"/v2/models/{model}/infer", content=header + blob,
                        headers={"Inference-Header-Content-Length": str(len(header))})
    return response.status_code, response.json()


def _grpc_raw(model: str, datatype: str, shape: list[int], blob: bytes) -> service_pb2.ModelInferRequest:
    return service_pb2.ModelInferRequest(
        model_name=model, inputs=[service_pb2.ModelInferRequest.InferInputTensor(name="x", datatype=datatype,
                                                                                  shape=shape)],
        raw_input_contents=[blob])


@pytest.mark.parametrize("blob", [b"\x00\x02\x01", b"\xff\x00\x00", b"\x01\x01\x80"], ids=["2", "255", "128"])
def test_bool_bytes_other_than_0_or_1_are_refused_on_both_protocols(blob: bytes, raw: httpx.Client,
                                                                    channel: grpc.Channel) -> None:
    status, body = _rest_binary(raw, "flags", "BOOL", [3], blob)
    assert status == 400
    assert body["error"] == "input 'x': bool tensor bytes must be 0 or 1"
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    code, details = _grpc_error(lambda: stub.ModelInfer(_grpc_raw("flags", "BOOL", [3], blob)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == body["error"]


def test_bool_bytes_0_and_1_still_run_on_both_protocols(raw: httpx.Client, channel: grpc.Channel) -> None:
    status, body = _rest_binary(raw, "flags", "BOOL", [4], b"\x01\x00\x00\x01")
    assert status == 200, body
    assert body["outputs"][0]["data"] == [True, False, False, True]
    reply = service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(
        _grpc_raw("flags", "BOOL", [4], b"\x01\x00\x00\x01"))
    assert reply.raw_output_contents[0] == b"\x01\x00\x00\x01"
    status, body = _rest_binary(raw, "flags", "BOOL", [0], b"")
    assert status == 200 and body["outputs"][0]["data"] == [] and body["outputs"][0]["shape"] == [0]


def test_rank_limit_is_the_same_on_both_protocols_and_raw_bytes(raw: httpx.Client, channel: grpc.Channel) -> None:
    status, body = _rest_binary(raw, "rank32", "FP32", [1] * 33, b"\x00" * 4)
    assert status == 400 and body["error"] == "input 'x': shape has 33 dims; at most 32 are supported"
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    code, details = _grpc_error(lambda: stub.ModelInfer(_grpc_raw("rank32", "FP32", [1] * 33, b"\x00" * 4)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details == body["error"]
    reply = stub.ModelInfer(_grpc_raw("rank32", "FP32", [1] * 32, np.float32(2.5).tobytes()))
    assert list(reply.outputs[0].shape) == [1] * 32
    assert np.frombuffer(reply.raw_output_contents[0], "<f4").tolist() == [2.5]


TYPED_CASES: dict[str, tuple[str, list[Any], str]] = {
    "BOOL": ("bool_contents", [True, False, True], "?"),
    "INT8": ("int_contents", [-128, 0, 127], "<i1"),
    "UINT16": ("uint_contents", [0, 1, 65535], "<u2"),
    "UINT32": ("uint_contents", [0, 7, 2**32 - 1], "<u4"),
    "INT64": ("int64_contents", [-(2**63), 2**53 + 1, 2**63 - 1], "<i8"),
    "UINT64": ("uint64_contents", [0, 2**53 + 1, 2**64 - 1], "<u8"),
    "FP64": ("fp64_contents", [0.1, -1e308, float("inf")], "<f8"),
}


@pytest.mark.parametrize("datatype", TYPED_CASES)
def test_grpc_typed_contents_arrive_exact(datatype: str, channel: grpc.Channel) -> None:
    field, values, wire = TYPED_CASES[datatype]
    tensor = service_pb2.ModelInferRequest.InferInputTensor(name="x", datatype=datatype, shape=[len(values)])
    getattr(tensor.contents, field).extend(values)
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    reply = stub.ModelInfer(service_pb2.ModelInferRequest(model_name=f"typed_{datatype.lower()}", inputs=[tensor]))
    assert reply.outputs[0].datatype == datatype and list(reply.outputs[0].shape) == [len(values)]
    assert np.frombuffer(reply.raw_output_contents[0], wire).tolist() == values


@pytest.mark.parametrize(("datatype", "field", "value"), [("INT8", "int_contents", 128),
                                                          ("UINT16", "uint_contents", 65536)])
def test_grpc_typed_contents_out_of_range_are_refused(datatype: str, field: str, value: int,
                                                      channel: grpc.Channel) -> None:
    tensor = service_pb2.ModelInferRequest.InferInputTensor(name="x", datatype=datatype, shape=[2])
    getattr(tensor.contents, field).extend([1, value])
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    request = service_pb2.ModelInferRequest(model_name=f"typed_{datatype.lower()}", inputs=[tensor])
    code, details = _grpc_error(lambda: stub.ModelInfer(request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.startswith(f"input 'x': values out of range for {datatype}")


@pytest.mark.parametrize("depth", [1_100, 100_000])
def test_deeply_nested_json_is_400_not_500(depth: int, raw: httpx.Client) -> None:
    # orjson refuses past 1,024 levels; Python's json (the bare-NaN fallback) then recurses too deep.
    nested = b"[" * depth + b"1" + b"]" * depth
    body = b'{"inputs": [{"name": "fp32_in", "datatype": "FP32", "shape": [1], "data": ' + nested + b"}]}"
    response = raw.post("/v2/models/ids/infer", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("request body is not valid JSON: ")
    assert raw.get("/v2/health/live").json() == {"live": True}


def test_bare_nan_and_infinity_still_parse(raw: httpx.Client) -> None:
    body = b'{"inputs": [{"name": "x", "datatype": "FP64", "shape": [4], "data": [NaN, Infinity, -Infinity, 1.5]}]}'
    response = raw.post("/v2/models/typed_fp64/infer", content=body)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == ["NaN", "Infinity", "-Infinity", 1.5]
    empty = raw.post("/v2/models/typed_fp64/infer", content=b"")
    assert empty.status_code == 400 and empty.json()["error"] == "request body is empty; expected JSON"


@pytest.mark.parametrize("path", [INFER, METADATA])
@pytest.mark.parametrize("payload", [b"\xff\xff\xff\xff garbage", b"\x0a\x10tw", b"\x0a\x02\xc3\x28"],
                         ids=["garbage", "truncated", "bad-utf8"])
def test_undecodable_grpc_request_is_invalid_argument(path: str, payload: bytes, channel: grpc.Channel) -> None:
    reply = service_pb2.ModelInferResponse if path == INFER else service_pb2.ModelMetadataResponse
    call = channel.unary_unary(path, request_serializer=lambda b: b, response_deserializer=reply.FromString)
    code, details = _grpc_error(lambda: call(payload, timeout=30))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details and "internal error" not in details
    # the server and the channel are fine afterwards
    meta = channel.unary_unary(METADATA, request_serializer=service_pb2.ModelMetadataRequest.SerializeToString,
                               response_deserializer=service_pb2.ModelMetadataResponse.FromString)
    assert meta(service_pb2.ModelMetadataRequest(name="bias"), timeout=30).name == "bias.onnx"


# -- initializer-backed (optional) inputs ----------------------------------------------------


def test_optional_input_can_be_overridden_on_rest(raw: httpx.Client) -> None:
    x = {"name": "x", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]}
    bias = {"name": "bias", "datatype": "FP32", "shape": [3], "data": [0.5, 0.25, -1]}
    status, body = _rest(raw, "bias", [x, bias])
    assert status == 200, body
    assert body["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [3], "data": [1.5, 2.25, 2.0]}]
    status, body = _rest(raw, "bias", [x, {**bias, "datatype": "FP64"}])
    assert status == 400 and "expected: (tensor(float))" in body["error"]
    status, body = _rest(raw, "bias", [x, {**bias, "shape": [1, 3]}])
    assert status == 400 and "Invalid rank for input: bias" in body["error"]
    status, body = _rest(raw, "bias", [x, {**bias, "name": "nope"}])
    assert status == 400 and body["error"] == "unknown input 'nope'; the model's inputs are x (optional: bias)"


def test_optional_input_can_be_overridden_on_grpc(channel: grpc.Channel) -> None:
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    request = service_pb2.ModelInferRequest(model_name="bias", inputs=[
        _fp32("x", [3], [1, 2, 3]), _fp32("bias", [3], [100, 200, 300])])
    reply = stub.ModelInfer(request)
    assert np.frombuffer(reply.raw_output_contents[0], "<f4").tolist() == [101.0, 202.0, 303.0]
    short = service_pb2.ModelInferRequest(model_name="bias", inputs=[_fp32("x", [3], [1, 2, 3]),
                                                                      _fp32("bias", [2], [1, 2])])
    code, details = _grpc_error(lambda: stub.ModelInfer(short))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "Got invalid dimensions for input: bias" in details


def test_metadata_lists_required_inputs_only(raw: httpx.Client, channel: grpc.Channel) -> None:
    meta = raw.get("/v2/models/bias").json()
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [3]}]
    reply = service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelMetadata(
        service_pb2.ModelMetadataRequest(name="bias"))
    assert [(t.name, t.datatype, list(t.shape)) for t in reply.inputs] == [("x", "FP32", [3])]
