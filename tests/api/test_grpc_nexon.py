"""The NEXON gRPC API against a real server, with grpclib and grpcio as independent clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import grpc
import httpx
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from onnx import TensorProto

from nexon.stubs import nexon_inference_pb2 as pb
from nexon.stubs.nexon_inference_grpc import InferenceServiceStub
from tests.support import models
from tests.support.rest import infer, upload_ok
from tests.support.server import NexonProcess

PREDICT = "/nexon.grpc.inference.v1.InferenceService/Predict"
SERVICE = "nexon.grpc.inference.v1.InferenceService"


@pytest.fixture(scope="module")
def client(server: NexonProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http_url, timeout=60) as c:
        upload_ok(c, "g-scale.onnx", models.scale(2.0), deploy=True)
        upload_ok(c, "g-two.onnx", models.two_in_two_out(), deploy=True)
        upload_ok(c, "g-fork.onnx", models.one_in_two_out(), deploy=True)
        upload_ok(c, "g-idle.onnx", models.scale(2.0))
        for dtype in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT32, TensorProto.INT64, TensorProto.BOOL):
            upload_ok(c, f"g-ident-{dtype}.onnx", models.identity(dtype, ["N"]), deploy=True)
        yield c


@pytest.fixture
async def stub(server: NexonProcess, client: httpx.Client) -> AsyncIterator[InferenceServiceStub]:
    channel = Channel("127.0.0.1", server.grpc_port)
    yield InferenceServiceStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def grpcio_channel(server: NexonProcess, client: httpx.Client) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.grpc_target) as channel:
        yield channel


def tensor(array: np.ndarray, dt: int = pb.DT_UNSPECIFIED, name: str = "") -> pb.RequestTensor:
    return pb.RequestTensor(dims=list(array.shape), name=name, tensor_content=array.tobytes(), data_type=dt)


def decode(out: pb.ResponseTensor) -> np.ndarray:
    dtype = {pb.DT_FLOAT32: "<f4", pb.DT_FLOAT64: "<f8", pb.DT_INT32: "<i4", pb.DT_INT64: "<i8", pb.DT_BOOL: "?"}
    return np.frombuffer(out.tensor_content, dtype=dtype[out.data_type]).reshape(tuple(out.dims))


async def test_predict_matches_rest(stub: InferenceServiceStub, client: httpx.Client) -> None:
    x = np.array([[1.5, -2.0, 3.25], [0.0, 1.0, 2.0]], dtype=np.float32)
    reply = await stub.Predict(pb.PredictRequest(model_name="g-scale.onnx", input=tensor(x, pb.DT_FLOAT32, "x")))
    assert len(reply.outputs) == 1
    out = reply.outputs[0]
    assert out.name == "y" and list(out.dims) == [2, 3] and out.data_type == pb.DT_FLOAT32
    np.testing.assert_array_equal(decode(out), x * 2)
    rest = infer(client, "g-scale.onnx", x.tolist()).json()["results"][0]
    np.testing.assert_array_equal(decode(out), np.asarray(rest, dtype=np.float32))


async def test_name_suffix_optional_and_dtype_from_model(stub: InferenceServiceStub) -> None:
    x = np.ones((1, 3), dtype=np.float32)
    reply = await stub.Predict(pb.PredictRequest(model_name="g-scale", input=tensor(x)))
    np.testing.assert_array_equal(decode(reply.outputs[0]), x * 2)


async def test_all_outputs_are_returned(stub: InferenceServiceStub, client: httpx.Client) -> None:
    x = np.array([1.0, 2.0], dtype=np.float32)
    reply = await stub.Predict(pb.PredictRequest(model_name="g-fork.onnx", input=tensor(x)))
    assert [o.name for o in reply.outputs] == ["plus", "twice"]
    np.testing.assert_array_equal(decode(reply.outputs[0]), x + 1)
    np.testing.assert_array_equal(decode(reply.outputs[1]), x * 2)
    assert infer(client, "g-fork.onnx", [1.0, 2.0]).json() == {"results": [[2.0, 3.0]]}  # REST: first only


async def test_a_second_required_input_cannot_be_fed(stub: InferenceServiceStub) -> None:
    # Predict binds the first input only; a two-input model says what is missing.
    a = np.array([1.0, 2.0], dtype=np.float32)
    with pytest.raises(GRPCError) as err:
        await stub.Predict(pb.PredictRequest(model_name="g-two.onnx", input=tensor(a)))
    assert err.value.status == Status.INVALID_ARGUMENT and "missing input 'b'" in str(err.value.message)


@pytest.mark.parametrize(
    ("dtype", "code", "values"),
    [
        (np.float32, pb.DT_FLOAT32, [0.5, -1.0]),
        (np.float64, pb.DT_FLOAT64, [1e-300, 3.0]),
        (np.int32, pb.DT_INT32, [-5, 2**31 - 1]),
        (np.int64, pb.DT_INT64, [2**53 + 1, -(2**62)]),
        (np.bool_, pb.DT_BOOL, [True, False]),
    ],
)
async def test_every_dtype_round_trips(
    stub: InferenceServiceStub, dtype: type, code: int, values: list[object]
) -> None:
    onnx_type = {np.float32: 1, np.float64: 11, np.int32: 6, np.int64: 7, np.bool_: 9}[dtype]
    x = np.array(values, dtype=dtype)
    reply = await stub.Predict(pb.PredictRequest(model_name=f"g-ident-{onnx_type}.onnx", input=tensor(x, code)))
    out = reply.outputs[0]
    assert out.data_type == code
    np.testing.assert_array_equal(decode(out), x)


@pytest.mark.parametrize(
    ("request_", "status", "text"),
    [
        (pb.PredictRequest(model_name="", input=pb.RequestTensor(dims=[1, 3])), Status.INVALID_ARGUMENT, "model_name"),
        (pb.PredictRequest(model_name="nope.onnx", input=tensor(np.ones((1, 3), np.float32))),
         Status.NOT_FOUND, "no model named"),
        (pb.PredictRequest(model_name="g-idle.onnx", input=tensor(np.ones((1, 3), np.float32))),
         Status.FAILED_PRECONDITION, "no deployed version"),
        (pb.PredictRequest(model_name="g-scale.onnx"), Status.INVALID_ARGUMENT, "input is required"),
        (pb.PredictRequest(model_name="g-scale.onnx", input=pb.RequestTensor(dims=[], tensor_content=b"1234")),
         Status.INVALID_ARGUMENT, "dims are required"),
        (pb.PredictRequest(model_name="g-scale.onnx",
                           input=pb.RequestTensor(dims=[1, 3], tensor_content=b"\0" * 11)),
         Status.INVALID_ARGUMENT, "has 11 bytes, expected 12"),
        (pb.PredictRequest(model_name="g-scale.onnx", input=tensor(np.ones((1, 3), np.float32), name="z")),
         Status.INVALID_ARGUMENT, "does not match the model's first input 'x'"),
        (pb.PredictRequest(model_name="g-scale.onnx", input=tensor(np.ones((1, 3), np.int64), pb.DT_INT64)),
         Status.INVALID_ARGUMENT, "model expects float32, received int64"),
        (pb.PredictRequest(model_name="g-scale.onnx", input=tensor(np.ones((1, 4), np.float32))),
         Status.INVALID_ARGUMENT, "model expects [N, 3], received [1, 4]"),
        (pb.PredictRequest(model_name="g-scale.onnx",
                           input=pb.RequestTensor(dims=[1], tensor_content=b"a", data_type=pb.DT_STRING)),
         Status.INVALID_ARGUMENT, "DT_STRING"),
    ],
)
async def test_errors_carry_status_and_message(stub: InferenceServiceStub, request_: pb.PredictRequest,
                                               status: Status, text: str) -> None:
    with pytest.raises(GRPCError) as err:
        await stub.Predict(request_)
    assert err.value.status == status
    assert text in str(err.value.message)


def test_grpcio_client_predict_and_errors(grpcio_channel: grpc.Channel) -> None:
    predict = grpcio_channel.unary_unary(
        PREDICT, request_serializer=pb.PredictRequest.SerializeToString,
        response_deserializer=pb.PredictReply.FromString,
    )
    x = np.array([[1, 2, 3]], dtype=np.float32)
    reply = predict(pb.PredictRequest(model_name="g-scale.onnx", input=tensor(x, pb.DT_FLOAT32)), timeout=30)
    np.testing.assert_array_equal(decode(reply.outputs[0]), x * 2)
    with pytest.raises(grpc.RpcError) as err:
        predict(pb.PredictRequest(model_name="nope.onnx", input=tensor(x)), timeout=30)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND and "no model named" in err.value.details()


def test_grpcio_health_check_and_watch(grpcio_channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(grpcio_channel)
    for service in ("", SERVICE):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as err:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    watch = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE), timeout=10)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()


def test_grpcio_reflection_lists_services(grpcio_channel: grpc.Channel) -> None:
    db = ProtoReflectionDescriptorDatabase(grpcio_channel)
    services = set(db.get_services())
    assert {SERVICE, "grpc.health.v1.Health"} <= services
    method = db.FindFileContainingSymbol(SERVICE)
    assert method.package == "nexon.grpc.inference.v1"


async def test_rest_load_is_a_grpc_cache_hit(stub: InferenceServiceStub, client: httpx.Client) -> None:
    upload_ok(client, "g-shared.onnx", models.scale(6.0))
    record_id = client.get("/models/g-shared.onnx").json()["_id"]
    # a fresh sha: scale(6.0) is new bytes, so nothing of it is cached yet except the upload check
    client.post("/deployment/deploy-model/", json={"model_name": "g-shared.onnx", "model_id": record_id})

    def counters() -> dict[str, float]:
        text = client.get("/metrics").text
        return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                if line.startswith("nexon_cache_") and not line.startswith("#")}

    assert infer(client, "g-shared.onnx", [[1, 1, 1]]).status_code == 200
    before = counters()
    x = np.ones((1, 3), dtype=np.float32)
    reply = await stub.Predict(pb.PredictRequest(model_name="g-shared.onnx", input=tensor(x)))
    np.testing.assert_array_equal(decode(reply.outputs[0]), x * 6)
    after = counters()
    assert after["nexon_cache_hits_total"] >= before["nexon_cache_hits_total"] + 1
    assert after["nexon_cache_loads_total"] == before["nexon_cache_loads_total"]
    assert after["nexon_cache_misses_total"] == before["nexon_cache_misses_total"]
    grpc_ok = [line for line in client.get("/metrics").text.splitlines()
               if line.startswith("nexon_requests_total") and 'protocol="grpc"' in line and 'code="OK"' in line]
    assert grpc_ok, "gRPC requests are counted"


def test_grpcio_undecodable_requests_are_invalid_argument(grpcio_channel: grpc.Channel) -> None:
    raw = grpcio_channel.unary_unary(PREDICT, request_serializer=lambda b: b,
                                     response_deserializer=pb.PredictReply.FromString)
    valid = pb.PredictRequest(model_name="g-scale.onnx").SerializeToString()
    for garbage in (b"\xff\xff\xff\xff", valid[:-3], b"\x0a\x03\xff\xfe\xfd"):  # junk, truncated, bad UTF-8
        with pytest.raises(grpc.RpcError) as err:
            raw(garbage, timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, garbage
        assert "not a valid message" in err.value.details()


@pytest.mark.parametrize(
    ("dims", "content", "text"),
    [
        ([2**62, 2**62, 0], b"", "cannot shape"),
        ([1] * 1000, b"\0\0\0\0", "at most 32"),
    ],
)
async def test_absurd_dims_are_invalid_argument(stub: InferenceServiceStub, dims: list[int], content: bytes,
                                                text: str) -> None:
    with pytest.raises(GRPCError) as err:
        await stub.Predict(pb.PredictRequest(model_name="g-scale.onnx",
                                             input=pb.RequestTensor(dims=dims, tensor_content=content)))
    assert err.value.status == Status.INVALID_ARGUMENT and text in str(err.value.message)


async def test_bool_bytes_must_be_0_or_1(stub: InferenceServiceStub) -> None:
    with pytest.raises(GRPCError) as err:
        await stub.Predict(pb.PredictRequest(model_name="g-ident-9.onnx", input=pb.RequestTensor(
            dims=[2], tensor_content=b"\x02\xff", data_type=pb.DT_BOOL)))
    assert err.value.status == Status.INVALID_ARGUMENT and "0 or 1" in str(err.value.message)
