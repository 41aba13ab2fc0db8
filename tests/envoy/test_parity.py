"""Every REST route and the gRPC calls give the same answer through Envoy as directly.

Two servers with their own stores run the same script: one is called directly, the other
only through Envoy. Answers are compared after replacing what differs by nature (random
record ids, each server's own ports).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from grpclib.client import Channel
from grpclib.const import Cardinality
from grpclib.exceptions import GRPCError

from nexon.stubs import nexon_inference_pb2 as pb
from nexon.stubs.nexon_inference_grpc import InferenceServiceStub
from tests.support import models
from tests.support.gateway import GatewayProcess
from tests.support.rest import deploy, upload_ok
from tests.support.server import NexonProcess

SERVICE = "nexon.grpc.inference.v1.InferenceService"
ENV = {"ENABLE_REFLECTION": "1", "NEXON_MAX_UPLOAD_BYTES": str(2 * 1024 * 1024)}


class Pair:
    """The same kind of server twice: `direct` is called as is, `behind` only through `gateway`."""

    def __init__(self, direct: NexonProcess, behind: NexonProcess, gateway: GatewayProcess) -> None:
        self.direct, self.behind, self.gateway = direct, behind, gateway

    def targets(self) -> list[tuple[str, NexonProcess]]:
        return [(self.direct.http_url, self.direct), (self.gateway.url, self.behind)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("parity")
    direct = NexonProcess(base / "direct", env=ENV).start()
    behind = NexonProcess(base / "behind", env=ENV).start()
    gateway = GatewayProcess(base / "gw", [behind]).start()
    yield Pair(direct, behind, gateway)
    gateway.stop()
    behind.stop()
    direct.stop()


def normalize(value: Any, server: NexonProcess, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ("_id", "model_id") and isinstance(item, str):
                item = ids.setdefault(item, f"<id{len(ids)}>")
            out[key] = normalize(item, server, ids)
        return out
    if isinstance(value, list):
        return [normalize(v, server, ids) for v in value]
    if isinstance(value, str):
        value = re.sub(rf":{server.http_port}\b", ":<http>", value)
        return re.sub(rf":{server.grpc_port}\b", ":<grpc>", value)
    return value


Step = Callable[[httpx.Client, dict[str, Any]], httpx.Response]


def _steps(tmp: Path) -> list[tuple[str, Step]]:
    scale, two = models.scale(2.0), models.two_in_two_out()
    big = b"\0" * (3 * 1024 * 1024)

    def up(name: str, data: bytes, path: str = "/upload/") -> Step:
        return lambda c, s: c.post(path, files={"file": (name, data, "application/octet-stream")})

    def remember(key: str, step: Step) -> Step:
        def run(c: httpx.Client, s: dict[str, Any]) -> httpx.Response:
            r = step(c, s)
            s[key] = r.json().get("model_id")
            return r
        return run

    return [
        ("healthz", lambda c, s: c.get("/healthz")),
        ("readyz", lambda c, s: c.get("/readyz")),
        ("openapi", lambda c, s: c.get("/openapi.json")),
        ("docs", lambda c, s: c.get("/docs")),
        ("empty list", lambda c, s: c.get("/allModels")),
        ("upload", remember("scale", up("scale.onnx", scale))),
        ("upload v2", remember("scale2", up("scale.onnx", scale))),
        ("upload wrong suffix", up("scale.txt", scale)),
        ("upload not onnx", up("junk.onnx", b"not a model")),
        ("upload over limit", up("big.onnx", big)),
        ("upload not multipart", lambda c, s: c.post("/upload/", json={"file": "x"})),
        ("deploy-file", up("two.onnx", two, "/deployment/deploy-file/")),
        ("deploy-file again", up("two.onnx", two, "/deployment/deploy-file/")),
        ("deploy-model", lambda c, s: deploy(c, "scale.onnx", s["scale"])),
        ("deploy-model second version", lambda c, s: deploy(c, "scale.onnx", s["scale2"])),
        ("deploy-model unknown id", lambda c, s: deploy(c, "scale.onnx", "f" * 24)),
        ("deploy-model missing field", lambda c, s: c.post("/deployment/deploy-model/", json={"model_name": "x"})),
        ("deploy-model bad json", lambda c, s: c.post("/deployment/deploy-model/", content=b"{nope",
                                                      headers={"content-type": "application/json"})),
        ("all", lambda c, s: c.get("/allModels")),
        ("deployed", lambda c, s: c.get("/deployedModels")),
        ("uploaded", lambda c, s: c.get("/uploadedModels")),
        ("model", lambda c, s: c.get("/models/scale.onnx")),
        ("model version", lambda c, s: c.get("/models/scale.onnx", params={"version": 2})),
        ("model bad version", lambda c, s: c.get("/models/scale.onnx", params={"version": "two"})),
        ("model unknown", lambda c, s: c.get("/models/nope.onnx")),
        ("infer", lambda c, s: c.post("/inference/infer/scale.onnx", json={"input": [[1.0, 2.0, 3.5]]})),
        ("infer dtype", lambda c, s: c.post("/inference/infer/scale.onnx",
                                            json={"input": [[1, 2, 3]], "dtype": "float32"})),
        ("infer bad shape", lambda c, s: c.post("/inference/infer/scale.onnx", json={"input": [1.0, 2.0]})),
        ("infer bad dtype", lambda c, s: c.post("/inference/infer/scale.onnx",
                                                json={"input": [[1, 2, 3]], "dtype": "complex"})),
        ("infer no input", lambda c, s: c.post("/inference/infer/scale.onnx", json={"x": 1})),
        ("infer unknown", lambda c, s: c.post("/inference/infer/nope.onnx", json={"input": [1.0]})),
        ("undeploy mismatch", lambda c, s: c.put("/deployment/undeploy/scale.onnx",
                                                 json={"model_name": "other.onnx", "model_version": 1})),
        ("undeploy", lambda c, s: c.put("/deployment/undeploy/scale.onnx",
                                        json={"model_name": "scale.onnx", "model_version": 1})),
        ("undeploy again", lambda c, s: c.put("/deployment/undeploy/scale.onnx",
                                              json={"model_name": "scale.onnx", "model_version": 1})),
        ("infer not deployed", lambda c, s: c.post("/inference/infer/scale.onnx", json={"input": [[1.0, 2.0, 3.0]]})),
        ("delete", lambda c, s: c.delete("/deleteModel/scale.onnx/1")),
        ("delete again", lambda c, s: c.delete("/deleteModel/scale.onnx/1")),
        ("delete bad version", lambda c, s: c.delete("/deleteModel/scale.onnx/one")),
        ("unknown route", lambda c, s: c.get("/no/such/route")),
        ("wrong method", lambda c, s: c.delete("/allModels")),
        ("final list", lambda c, s: c.get("/allModels")),
    ]


def test_every_rest_route_matches(pair: Pair, tmp_path: Path) -> None:
    results: list[list[tuple[str, int, str, Any]]] = []
    for url, server in pair.targets():
        state: dict[str, Any] = {}
        ids: dict[str, str] = {}
        answers = []
        with httpx.Client(base_url=url, timeout=60) as client:
            for name, step in _steps(tmp_path):
                r = step(client, state)
                ctype = r.headers.get("content-type", "")
                body = normalize(r.json(), server, ids) if "json" in ctype else r.text
                answers.append((name, r.status_code, ctype, body))
        results.append(answers)
    direct, via_envoy = results
    for d, e in zip(direct, via_envoy, strict=True):
        assert d == e, f"step {d[0]!r} differs through Envoy"
    statuses = {name: status for name, status, _, _ in direct}
    # The script covers the whole status vocabulary of the REST API, not only 200s.
    assert statuses["upload over limit"] == 413 and statuses["model unknown"] == 404
    assert statuses["deploy-model bad json"] == 400 and statuses["wrong method"] == 405
    bodies = {name: body for name, _, _, body in direct}
    assert statuses["infer"] == 200 and bodies["infer"] == {"results": [[[2.0, 4.0, 7.0]]]}
    assert all(status < 500 for status in statuses.values())


def test_metrics_pass_through(pair: Pair) -> None:
    r = httpx.get(f"{pair.gateway.url}/metrics", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'nexon_requests_total{code="200",method="GET /allModels",protocol="rest"}' in r.text


def test_access_log_is_json_and_skips_health(pair: Pair) -> None:
    with httpx.Client(base_url=pair.gateway.url, timeout=30) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/allModels", headers={"x-request-id": "parity-log-1"}).status_code == 200
    lines: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30  # Envoy flushes its access log about every second
    while not lines and time.monotonic() < deadline:
        lines = [e for e in pair.gateway.access_log() if e.get("request_id") == "parity-log-1"]
        time.sleep(0.05)
    assert lines, pair.gateway.log()[-2000:]
    entry = lines[0]
    assert entry["path"] == "/allModels" and entry["status"] == 200 and entry["cluster"] == "nexon_rest"
    assert entry["upstream"] == f"127.0.0.1:{pair.behind.http_port}"
    assert not [e for e in pair.gateway.access_log() if e.get("path") in ("/healthz", "/readyz")]


# --- gRPC ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deployed(pair: Pair) -> Pair:
    for server in (pair.direct, pair.behind):
        with httpx.Client(base_url=server.http_url, timeout=60) as c:
            upload_ok(c, "g-scale.onnx", models.scale(3.0), deploy=True)
            upload_ok(c, "g-two.onnx", models.two_in_two_out(), deploy=True)
            upload_ok(c, "g-idle.onnx", models.scale(2.0))
    return pair


def _tensor(array: np.ndarray, dt: int = pb.DT_UNSPECIFIED) -> pb.RequestTensor:
    return pb.RequestTensor(dims=list(array.shape), tensor_content=array.tobytes(), data_type=dt)


X = np.array([[1.0, -2.0, 0.5]], dtype=np.float32)
PREDICTS = {
    "ok": pb.PredictRequest(model_name="g-scale.onnx", input=_tensor(X, pb.DT_FLOAT32)),
    "no suffix": pb.PredictRequest(model_name="g-scale", input=_tensor(X)),
    "empty name": pb.PredictRequest(model_name="", input=_tensor(X)),
    "unknown model": pb.PredictRequest(model_name="nope.onnx", input=_tensor(X)),
    "not deployed": pb.PredictRequest(model_name="g-idle.onnx", input=_tensor(X)),
    "bad dims": pb.PredictRequest(model_name="g-scale.onnx", input=pb.RequestTensor(
        dims=[1, 4], tensor_content=X.tobytes(), data_type=pb.DT_FLOAT32)),
    "string dtype": pb.PredictRequest(model_name="g-scale.onnx", input=pb.RequestTensor(
        dims=[1, 3], tensor_content=X.tobytes(), data_type=pb.DT_STRING)),
    "second input missing": pb.PredictRequest(model_name="g-two.onnx", input=_tensor(np.ones(2, np.float32))),
}


@pytest.fixture
async def channels(deployed: Pair) -> AsyncIterator[list[Channel]]:
    chans = [Channel("127.0.0.1", deployed.direct.grpc_port), Channel("127.0.0.1", deployed.gateway.port)]
    yield chans
    for ch in chans:
        ch.close()


async def _grpclib_predict(channel: Channel, request: pb.PredictRequest) -> tuple[str, str | None, bytes]:
    try:
        reply = await InferenceServiceStub(channel).Predict(request)
    except GRPCError as exc:
        return exc.status.name, exc.message, b""
    return "OK", None, reply.SerializeToString()


async def test_grpclib_predict_matches(channels: list[Channel]) -> None:
    for name, request in PREDICTS.items():
        direct, via_envoy = [await _grpclib_predict(ch, request) for ch in channels]
        assert direct == via_envoy, name
    ok = pb.PredictReply.FromString((await _grpclib_predict(channels[1], PREDICTS["ok"]))[2])
    np.testing.assert_array_equal(np.frombuffer(ok.outputs[0].tensor_content, "<f4"), X.ravel() * 3)
    codes = {name: (await _grpclib_predict(channels[1], r))[0] for name, r in PREDICTS.items()}
    assert codes == {"ok": "OK", "no suffix": "OK", "empty name": "INVALID_ARGUMENT", "unknown model": "NOT_FOUND",
                     "not deployed": "FAILED_PRECONDITION", "bad dims": "INVALID_ARGUMENT",
                     "string dtype": codes["string dtype"], "second input missing": "INVALID_ARGUMENT"}
    assert codes["string dtype"] in ("INVALID_ARGUMENT", "FAILED_PRECONDITION")


async def test_grpclib_health_matches(channels: list[Channel]) -> None:
    answers = []
    for ch in channels:
        per_channel = []
        for service in ("", SERVICE, "no.such.Service"):
            try:
                # grpcio's health messages: grpclib's own would clash in one descriptor pool.
                async with ch.request("/grpc.health.v1.Health/Check", Cardinality.UNARY_UNARY,
                                      health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse) as stream:
                    await stream.send_message(health_pb2.HealthCheckRequest(service=service), end=True)
                    reply = await stream.recv_message()
                    assert reply is not None
                per_channel.append(("OK", reply.status))
            except GRPCError as exc:
                per_channel.append((exc.status.name, exc.message))
        answers.append(per_channel)
    assert answers[0] == answers[1]
    assert answers[1][:2] == [("OK", 1), ("OK", 1)] and answers[1][2][0] == "NOT_FOUND"


async def test_grpclib_reflection_matches(channels: list[Channel]) -> None:
    listed = []
    for ch in channels:
        async with ch.request("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                              Cardinality.STREAM_STREAM, reflection_pb2.ServerReflectionRequest,
                              reflection_pb2.ServerReflectionResponse) as stream:
            await stream.send_message(reflection_pb2.ServerReflectionRequest(list_services=""), end=True)
            reply = await stream.recv_message()
            assert reply is not None
            listed.append(sorted(s.name for s in reply.list_services_response.service))
    assert listed[0] == listed[1] and SERVICE in listed[1] and "grpc.health.v1.Health" in listed[1]


def _grpcio_call(channel: grpc.Channel, method: str, request: Any, reply_type: Any) -> tuple[str, str | None, bytes]:
    call = channel.unary_unary(method, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=reply_type.FromString)
    try:
        reply = call(request, timeout=30)
    except grpc.RpcError as exc:
        return exc.code().name, exc.details(), b""
    return "OK", None, reply.SerializeToString()


def test_grpcio_matches(deployed: Pair) -> None:
    targets = [deployed.direct.grpc_target, f"127.0.0.1:{deployed.gateway.port}"]
    answers = []
    for target in targets:
        with grpc.insecure_channel(target) as channel:
            per = [_grpcio_call(channel, f"/{SERVICE}/Predict", r, pb.PredictReply) for r in PREDICTS.values()]
            per.append(_grpcio_call(channel, f"/{SERVICE}/NoSuchMethod", PREDICTS["ok"], pb.PredictReply))
            health = health_pb2_grpc.HealthStub(channel)
            per.append(("OK", None, health.Check(health_pb2.HealthCheckRequest(service=SERVICE)).SerializeToString()))
            try:
                health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
                per.append(("OK", None, b""))
            except grpc.RpcError as exc:
                per.append((exc.code().name, exc.details(), b""))
            services = sorted(ProtoReflectionDescriptorDatabase(channel).get_services())
            per.append(("OK", ",".join(services), b""))
            answers.append(per)
    assert answers[0] == answers[1]
    assert answers[1][0][0] == "OK" and answers[1][len(PREDICTS)][0] == "UNIMPLEMENTED"
    assert answers[1][-2][0] == "NOT_FOUND" and SERVICE in (answers[1][-1][1] or "")
