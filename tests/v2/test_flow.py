"""The V2 flow driven by tritonclient.http and tritonclient.grpc against a real `nexon serve`."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as tgrpc
import tritonclient.http as thttp
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

from tests.support import models as base_models
from tests.support.server import NexonProcess
from tests.v2 import models
from tests.v2.support import PROTOCOLS, decode_documents, deploy, grpc_client, http_client, infer, upload

HEADER = "Inference-Header-Content-Length"


@pytest.fixture(scope="module")
def deployed(server: NexonProcess) -> dict[str, bytes]:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 4)).astype(np.float32)
    labels = (features[:, 0] + features[:, 1] > 0).astype(np.int64) + (features[:, 2] > 1)
    classifier = to_onnx(LogisticRegression(max_iter=500).fit(features, labels), features[:2],
                         target_opset={"": 17, "ai.onnx.ml": 3})
    made = {"two.onnx": base_models.two_in_two_out(), "ids.onnx": models.identities(),
            "half.onnx": models.half_affine(), "bf16.onnx": models.bf16_cast(),
            "clf.onnx": classifier.SerializeToString()}
    for name, data in made.items():
        deploy(server, name, data)
    deploy(server, "ver.onnx", base_models.scale(2.0))
    upload(server, "ver.onnx", base_models.scale(3.0))  # version 2, not deployed
    return made


@pytest.fixture
def rest(server: NexonProcess, deployed: dict[str, bytes]) -> Iterator[thttp.InferenceServerClient]:
    client = http_client(server)
    yield client
    client.close()


@pytest.fixture
def rpc(server: NexonProcess, deployed: dict[str, bytes]) -> Iterator[tgrpc.InferenceServerClient]:
    client = grpc_client(server)
    yield client
    client.close()


@pytest.fixture
def raw(server: NexonProcess, deployed: dict[str, bytes]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http_url, timeout=60) as client:
        yield client


@pytest.fixture
def stub(server: NexonProcess, deployed: dict[str, bytes]) -> Iterator[service_pb2_grpc.GRPCInferenceServiceStub]:
    with grpc.insecure_channel(server.grpc_target) as channel:
        yield service_pb2_grpc.GRPCInferenceServiceStub(channel)


# -- health and metadata ---------------------------------------------------------------------


def test_live_ready_and_server_metadata(rest: thttp.InferenceServerClient, rpc: tgrpc.InferenceServerClient,
                                        raw: httpx.Client) -> None:
    assert rest.is_server_live() and rest.is_server_ready()
    assert rpc.is_server_live() and rpc.is_server_ready()
    meta = rest.get_server_metadata()
    assert meta["name"] == "nexon" and "binary_tensor_data" in meta["extensions"]
    gmeta = rpc.get_server_metadata()
    assert gmeta.name == "nexon" and gmeta.version == meta["version"] and list(gmeta.extensions) == meta["extensions"]
    assert raw.get("/v2/health/live").json() == {"live": True}
    assert raw.get("/v2/health/ready").json() == {"ready": True}


def test_model_metadata_with_and_without_suffix(rest: thttp.InferenceServerClient,
                                                rpc: tgrpc.InferenceServerClient) -> None:
    expected = {"name": "two.onnx", "versions": ["1"], "platform": "onnxruntime_onnx",
                "inputs": [{"name": "a", "datatype": "FP32", "shape": [2]},
                           {"name": "b", "datatype": "FP32", "shape": [2]}],
                "outputs": [{"name": "sum", "datatype": "FP32", "shape": [2]},
                            {"name": "prod", "datatype": "FP32", "shape": [2]}]}
    assert rest.get_model_metadata("two") == expected
    assert rest.get_model_metadata("two.onnx", model_version="1") == expected
    meta = rpc.get_model_metadata("two.onnx", as_json=True)
    assert meta["name"] == "two.onnx" and meta["versions"] == ["1"]
    inputs = [(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]]
    assert inputs == [("a", "FP32", ["2"]), ("b", "FP32", ["2"])]
    dynamic = rest.get_model_metadata("ids")
    assert {t["name"]: (t["datatype"], t["shape"]) for t in dynamic["inputs"]}["fp16_in"] == ("FP16", [-1])
    assert {t["name"]: t["datatype"] for t in dynamic["outputs"]}["bytes_out"] == "BYTES"
    assert rest.is_model_ready("two") and rest.is_model_ready("two.onnx", "1")
    assert rpc.is_model_ready("two") and rpc.is_model_ready("two.onnx", "1")


# -- inference -------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_two_inputs_two_outputs(protocol: str, server: NexonProcess, deployed: dict[str, bytes]) -> None:
    a, b = np.array([1.5, -2.0], np.float32), np.array([4.0, 0.5], np.float32)
    got = infer(protocol, server, "two", {"a": a, "b": b}, ["sum", "prod"])
    assert got["sum"].tolist() == [5.5, -1.5] and got["prod"].tolist() == [6.0, -1.0]


def test_request_id_echoed_and_requested_outputs_only(rest: thttp.InferenceServerClient,
                                                      rpc: tgrpc.InferenceServerClient) -> None:
    a = thttp.InferInput("a", [2], "FP32")
    a.set_data_from_numpy(np.array([1, 2], np.float32), binary_data=False)
    b = thttp.InferInput("b", [2], "FP32")
    b.set_data_from_numpy(np.array([3, 4], np.float32))
    only_prod = [thttp.InferRequestedOutput("prod", binary_data=False)]
    result = rest.infer("two", [a, b], request_id="req-7", outputs=only_prod)
    response = result.get_response()
    assert response["id"] == "req-7" and response["model_name"] == "two.onnx" and response["model_version"] == "1"
    assert response["outputs"] == [{"name": "prod", "datatype": "FP32", "shape": [2], "data": [3.0, 8.0]}]
    ga = tgrpc.InferInput("a", [2], "FP32")
    ga.set_data_from_numpy(np.array([1, 2], np.float32))
    gb = tgrpc.InferInput("b", [2], "FP32")
    gb.set_data_from_numpy(np.array([3, 4], np.float32))
    gresult = rpc.infer("two", [ga, gb], request_id="g-9", outputs=[tgrpc.InferRequestedOutput("sum")])
    gresponse = gresult.get_response()
    assert gresponse.id == "g-9" and [o.name for o in gresponse.outputs] == ["sum"]
    assert gresult.as_numpy("sum").tolist() == [4.0, 6.0]


def _all_types() -> dict[str, np.ndarray]:
    return {
        "bool_in": np.array([True, False, True]),
        "uint8_in": np.array([0, 7, 255], np.uint8),
        "uint16_in": np.array([0, 7, 65535], np.uint16),
        "uint32_in": np.array([0, 7, 2**32 - 1], np.uint32),
        "uint64_in": np.array([0, 2**53 + 1, 2**64 - 1], np.uint64),
        "int8_in": np.array([-128, 0, 127], np.int8),
        "int16_in": np.array([-32768, 0, 32767], np.int16),
        "int32_in": np.array([-(2**31), 0, 2**31 - 1], np.int32),
        "int64_in": np.array([-(2**63), 2**53 + 1, 2**63 - 1], np.int64),
        "fp16_in": np.array([1.5, -0.25, 65504], np.float16),
        "fp32_in": np.array([np.nan, np.inf, -1.25], np.float32),
        "fp64_in": np.array([-np.inf, 1e300, 2**-1074], np.float64),
        "bytes_in": np.array(["hello", "ünïcødé", ""], dtype=object),
    }


def _text(value: bytes | str) -> str:
    """tritonclient gives BYTES as bytes from binary data and as str from JSON data."""
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_datatype_round_trips_exactly(protocol: str, server: NexonProcess, deployed: dict[str, bytes]) -> None:
    feeds = _all_types()
    outputs = [n.replace("_in", "_out") for n in feeds]
    got = infer(protocol, server, "ids", feeds, outputs)
    for name, sent in feeds.items():
        back = got[name.replace("_in", "_out")]
        if name == "bytes_in":
            assert [_text(v) for v in back] == list(sent)
        else:
            assert back.dtype == sent.dtype, name
            np.testing.assert_array_equal(back, sent)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_fp16_and_bytes_in_one_request(protocol: str, server: NexonProcess, deployed: dict[str, bytes]) -> None:
    x = np.arange(6, dtype=np.float16).reshape(2, 3) / 4
    s = np.array(["a", "bc", "déf"], dtype=object)
    got = infer(protocol, server, "half", {"x": x, "s": s}, ["y", "t"])
    assert got["y"].dtype == np.float16 and got["y"].tolist() == (x * 2 + 1).tolist()
    assert [_text(v) for v in got["t"]] == ["a", "bc", "déf"]


@pytest.mark.parametrize("protocol", ["rest-binary", "grpc"])
def test_bf16_through_tritonclient(protocol: str, server: NexonProcess, deployed: dict[str, bytes]) -> None:
    values = np.array([1.5, -2.25, 3.0], np.float32)  # exact in bfloat16
    if protocol == "grpc":
        client = grpc_client(server)
        x = tgrpc.InferInput("x", [3], "BF16")
        x.set_data_from_numpy(values)
        result: Any = client.infer("bf16", [x])
    else:
        client = http_client(server)
        x = thttp.InferInput("x", [3], "BF16")
        x.set_data_from_numpy(values, binary_data=True)
        result = client.infer("bf16", [x])
    client.close()
    assert result.as_numpy("z").tolist() == values.tolist()
    assert result.get_output("y") is not None
    y = result.as_numpy("y")
    assert np.asarray(y, dtype=np.float32).tolist() == values.tolist()


def test_bf16_json(raw: httpx.Client) -> None:
    body = {"inputs": [{"name": "x", "datatype": "BF16", "shape": [2], "data": [1.5, "-Infinity"]}]}
    out = {o["name"]: o for o in raw.post("/v2/models/bf16/infer", json=body).json()["outputs"]}
    assert out["y"]["datatype"] == "BF16" and out["y"]["data"] == [1.5, "-Infinity"]
    assert out["z"]["data"] == [1.5, "-Infinity"]


# -- JSON rules and the binary extension, on the wire ----------------------------------------


def test_json_nested_data_nan_and_int64_beyond_2_53(raw: httpx.Client) -> None:
    body = {"id": "j1", "inputs": [{"name": "a", "datatype": "FP32", "shape": [2], "data": [[1.0], ["NaN"]]},
                                   {"name": "b", "datatype": "FP32", "shape": [2], "data": [2, "Infinity"]}]}
    reply = raw.post("/v2/models/two/infer", json=body).json()
    assert reply["id"] == "j1"
    assert {o["name"]: o["data"] for o in reply["outputs"]} == {"sum": [3.0, "NaN"], "prod": [2.0, "NaN"]}
    big = 2**62 + 1  # not representable as a double
    ints = {"inputs": [{"name": "int64_in", "datatype": "INT64", "shape": [1], "data": [big]}],
            "outputs": [{"name": "int64_out"}]}
    response = raw.post("/v2/models/ids/infer", json={**ints, "inputs": ints["inputs"] + _others_json("int64_in")})
    assert response.status_code == 200, response.text
    assert f"[{big}]".encode() in response.content
    assert response.json()["outputs"][0]["data"] == [big]


def _others_json(skip: str) -> list[dict[str, Any]]:
    out = []
    for name, array in _all_types().items():
        if name == skip:
            continue
        datatype = {"b": "BOOL", "O": "BYTES"}.get(array.dtype.kind) or _v2(array)
        data = [str(v) for v in array] if datatype == "BYTES" else [
            v if not isinstance(v, float) or np.isfinite(v) else ("NaN" if np.isnan(v) else
                                                                  ("Infinity" if v > 0 else "-Infinity"))
            for v in array.tolist()]
        out.append({"name": name, "datatype": datatype, "shape": [3], "data": data})
    return out


def _v2(array: np.ndarray) -> str:
    from tritonclient.utils import np_to_triton_dtype

    name: str = np_to_triton_dtype(array.dtype)
    return name


def test_json_type_rules_are_strict(raw: httpx.Client) -> None:
    def error(name: str, datatype: str, data: list[Any]) -> str:
        inputs = [{"name": name, "datatype": datatype, "shape": [3], "data": data}, *_others_json(name)]
        response = raw.post("/v2/models/ids/infer", json={"inputs": inputs})
        assert response.status_code == 400, response.text
        message: str = response.json()["error"]
        return message

    assert "true/false" in error("bool_in", "BOOL", [1, 0, 1])
    assert "integers" in error("int64_in", "INT64", [1.5, 2, 3])
    assert "out of range" in error("uint8_in", "UINT8", [0, 256, 1])
    assert "out of range" in error("int64_in", "INT64", [0, 2**63, 1])
    assert "not a number" in error("fp32_in", "FP32", [1, "one", 2])
    assert "booleans" in error("fp64_in", "FP64", [True, False, True])
    assert "strings" in error("bytes_in", "BYTES", [1, 2, 3])
    assert "needs 3 elements, received 2" in error("int32_in", "INT32", [1, 2])


def test_binary_extension_both_ways_with_length_prefixed_bytes(raw: httpx.Client) -> None:
    x = (np.arange(6, dtype=np.float16) / 2).reshape(2, 3)
    strings = [b"one", b"", b"zwei"]
    packed = b"".join(struct.pack("<I", len(s)) + s for s in strings)
    header = json.dumps({
        "inputs": [{"name": "x", "datatype": "FP16", "shape": [2, 3], "parameters": {"binary_data_size": 12}},
                   {"name": "s", "datatype": "BYTES", "shape": [3], "parameters": {"binary_data_size": len(packed)}}],
        "parameters": {"binary_data_output": True},
    }).encode()
    response = raw.post("/v2/models/half/infer", content=header + x.tobytes() + packed,
                        headers={HEADER: str(len(header)), "Content-Type": "application/octet-stream"})
    assert response.status_code == 200, response.text
    length = int(response.headers[HEADER])
    doc = json.loads(response.content[:length])
    sizes = [o["parameters"]["binary_data_size"] for o in doc["outputs"]]
    blob = response.content[length:]
    assert sizes == [12, len(packed)] and len(blob) == sum(sizes)
    assert np.frombuffer(blob[:12], "<f2").reshape(2, 3).tolist() == (x * 2 + 1).tolist()
    assert blob[12:] == packed
    mixed = json.dumps({"inputs": json.loads(header)["inputs"], "outputs": [
        {"name": "y", "parameters": {"binary_data": False}},
        {"name": "t", "parameters": {"binary_data": True}}]}).encode()
    response = raw.post("/v2/models/half/infer", content=mixed + x.tobytes() + packed,
                        headers={HEADER: str(len(mixed))})
    doc = json.loads(response.content[:int(response.headers[HEADER])])
    assert doc["outputs"][0]["data"] == (x * 2 + 1).reshape(-1).tolist() and "data" not in doc["outputs"][1]


def test_binary_size_mismatches_are_400(raw: httpx.Client) -> None:
    header = json.dumps({"inputs": [
        {"name": "a", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}},
        {"name": "b", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}]}).encode()
    short = raw.post("/v2/models/two/infer", content=header + b"\0" * 12, headers={HEADER: str(len(header))})
    assert short.status_code == 400 and "runs past" in short.json()["error"]
    extra = raw.post("/v2/models/two/infer", content=header + b"\0" * 20, headers={HEADER: str(len(header))})
    assert extra.status_code == 400 and "unclaimed" in extra.json()["error"]
    bad = raw.post("/v2/models/two/infer", content=header, headers={HEADER: "9999"})
    assert bad.status_code == 400 and HEADER in bad.json()["error"]
    garbage = raw.post("/v2/models/two/infer", content=b"{not json")
    assert garbage.status_code == 400 and "not valid JSON" in garbage.json()["error"]


def test_grpc_typed_contents_and_wrong_field(stub: service_pb2_grpc.GRPCInferenceServiceStub) -> None:
    def tensor(name: str, values: list[float]) -> Any:
        t = service_pb2.ModelInferRequest.InferInputTensor(name=name, datatype="FP32", shape=[2])
        t.contents.fp32_contents.extend(values)
        return t

    reply = stub.ModelInfer(service_pb2.ModelInferRequest(model_name="two", id="typed",
                                                          inputs=[tensor("a", [1, 2]), tensor("b", [3, 5])]))
    assert reply.id == "typed" and [o.name for o in reply.outputs] == ["sum", "prod"]
    assert np.frombuffer(reply.raw_output_contents[1], "<f4").tolist() == [3.0, 10.0]
    wrong = service_pb2.ModelInferRequest.InferInputTensor(name="a", datatype="FP32", shape=[2])
    wrong.contents.int64_contents.extend([1, 2])
    with pytest.raises(grpc.RpcError) as info:
        stub.ModelInfer(service_pb2.ModelInferRequest(model_name="two", inputs=[wrong, tensor("b", [3, 5])]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "fp32_contents" in (info.value.details() or "")
    typed_ints = service_pb2.ModelInferRequest.InferInputTensor(name="int64_in", datatype="INT64", shape=[1])
    typed_ints.contents.int64_contents.append(2**63 - 1)
    with pytest.raises(grpc.RpcError) as missing:
        stub.ModelInfer(service_pb2.ModelInferRequest(model_name="ids", inputs=[typed_ints]))
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "missing input" in (missing.value.details() or "")


# -- errors and versions ---------------------------------------------------------------------


def _rest_error(call: Any) -> tuple[str, str]:
    with pytest.raises(InferenceServerException) as info:
        call()
    return str(info.value.status()), info.value.message()


def _two_inputs(module: Any, shape: list[int], datatype: str, binary: bool = True) -> list[Any]:
    inputs = []
    for name in ("a", "b"):
        tensor = module.InferInput(name, shape, datatype)
        array = np.ones(shape, dtype=np.float32 if datatype == "FP32" else np.int32)
        if module is thttp:
            tensor.set_data_from_numpy(array, binary_data=binary)
        else:
            tensor.set_data_from_numpy(array)
        inputs.append(tensor)
    return inputs


@pytest.mark.parametrize("module", [thttp, tgrpc], ids=["rest", "grpc"])
def test_error_paths(module: Any, rest: thttp.InferenceServerClient, rpc: tgrpc.InferenceServerClient) -> None:
    client = rest if module is thttp else rpc
    codes = {"404": "StatusCode.NOT_FOUND", "400": "StatusCode.INVALID_ARGUMENT",
             "400-pre": "StatusCode.FAILED_PRECONDITION"}

    def code(key: str) -> str:
        return key.removesuffix("-pre") if module is thttp else codes[key]

    status, message = _rest_error(lambda: client.infer("nope", _two_inputs(module, [2], "FP32")))
    assert status == code("404") and "nope.onnx" in message
    status, message = _rest_error(lambda: client.infer("two", _two_inputs(module, [3], "FP32")))
    assert status == code("400") and "shape mismatch for input 'a'" in message
    status, message = _rest_error(lambda: client.infer("two", _two_inputs(module, [2], "INT32")))
    assert status == code("400") and "model expects FP32, received INT32" in message
    status, message = _rest_error(lambda: client.get_model_metadata("nope"))
    assert status == code("404")
    status, message = _rest_error(lambda: client.get_model_metadata("ver", model_version="9"))
    assert status == code("404") and "no version 9" in message
    status, message = _rest_error(lambda: client.get_model_metadata("ver", model_version="2"))
    assert status == code("400-pre") and "not deployed" in message
    status, message = _rest_error(lambda: client.infer("two", _two_inputs(module, [2], "FP32"),
                                                       outputs=[module.InferRequestedOutput("nah")]))
    assert status == code("400") and "unknown output 'nah'" in message
    assert not client.is_model_ready("nope") and not client.is_model_ready("ver", "2")


def test_version_rule(rest: thttp.InferenceServerClient, rpc: tgrpc.InferenceServerClient) -> None:
    assert rest.get_model_metadata("ver")["versions"] == ["1"]
    assert rest.is_model_ready("ver", "1") and not rest.is_model_ready("ver", "2")
    x = thttp.InferInput("x", [1, 3], "FP32")
    x.set_data_from_numpy(np.array([[1, 2, 3]], np.float32))
    assert rest.infer("ver", [x], model_version="1").as_numpy("y").tolist() == [[2, 4, 6]]
    gx = tgrpc.InferInput("x", [1, 3], "FP32")
    gx.set_data_from_numpy(np.array([[1, 2, 3]], np.float32))
    assert rpc.infer("ver.onnx", [gx], model_version="1").as_numpy("y").tolist() == [[2, 4, 6]]
    with pytest.raises(InferenceServerException) as info:
        rpc.infer("ver", [gx], model_version="2")
    assert info.value.status() == "StatusCode.FAILED_PRECONDITION"


# -- non-tensor outputs (skl2onnx ZipMap) ----------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_zipmap_classifier_outputs_json_documents(protocol: str, server: NexonProcess,
                                                  deployed: dict[str, bytes]) -> None:
    features = np.array([[0.5, 0.2, 1.5, -1], [-2, -1, 0, 0], [3, 1, 0, 2]], np.float32)
    session = ort.InferenceSession(deployed["clf.onnx"], providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(None, {"X": features})
    got = infer(protocol, server, "clf", {"X": features}, ["output_label", "output_probability"])
    assert got["output_label"].tolist() == labels.tolist()
    documents = decode_documents(got["output_probability"])
    assert len(documents) == 3
    for document, expected in zip(documents, probabilities, strict=True):
        assert set(document) == {str(k) for k in expected}
        for key, value in expected.items():
            assert document[str(key)] == pytest.approx(value, rel=1e-6)


def test_zipmap_metadata_says_bytes(rest: thttp.InferenceServerClient) -> None:
    outputs = {t["name"]: t for t in rest.get_model_metadata("clf")["outputs"]}
    assert outputs["output_probability"] == {"name": "output_probability", "datatype": "BYTES", "shape": [-1]}
    assert outputs["output_label"]["datatype"] == "INT64"
