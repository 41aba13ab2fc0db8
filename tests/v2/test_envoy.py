"""The same V2 flows through Envoy (`nexon gateway`): REST and gRPC on Envoy's one port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as tgrpc
from tritonclient.utils import InferenceServerException

from tests.support import models as base_models
from tests.support.backend_cases import load_cases, matches
from tests.support.gateway import GatewayProcess
from tests.support.server import NexonProcess
from tests.v2 import models
from tests.v2.support import PROTOCOLS, deploy, grpc_client, http_client, infer
from tests.v2.test_real_models import MODELS, _feeds


@dataclass(frozen=True)
class ViaEnvoy:
    """Where the tritonclient helpers connect: both protocols on the gateway's port."""

    http_port: int

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@pytest.fixture(scope="module")
def envoy(server: NexonProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViaEnvoy]:
    gateway = GatewayProcess(Path(tmp_path_factory.mktemp("gw")), [server]).start()
    gateway.wait_hosts("nexon_rest", [server.http_port], healthy=True)
    gateway.wait_hosts("nexon_grpc", [server.grpc_port], healthy=True)
    deploy(server, "two.onnx", base_models.two_in_two_out())
    deploy(server, "half.onnx", models.half_affine())
    yield ViaEnvoy(gateway.port)
    gateway.stop()


def test_health_and_metadata_through_envoy(envoy: ViaEnvoy) -> None:
    rest = http_client(envoy)
    rpc = grpc_client(envoy)
    try:
        assert rest.is_server_live() and rest.is_server_ready() and rest.is_model_ready("two")
        assert rpc.is_server_live() and rpc.is_server_ready() and rpc.is_model_ready("two")
        assert rest.get_server_metadata()["name"] == rpc.get_server_metadata().name == "nexon"
        assert rest.get_model_metadata("two")["inputs"][1] == {"name": "b", "datatype": "FP32", "shape": [2]}
        assert [t.name for t in rpc.get_model_metadata("two.onnx").outputs] == ["sum", "prod"]
    finally:
        rest.close()
        rpc.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_multi_io_fp16_and_bytes_through_envoy(protocol: str, envoy: ViaEnvoy) -> None:
    feeds = {"a": np.array([1, 2], np.float32), "b": np.array([3, 4], np.float32)}
    got = infer(protocol, envoy, "two", feeds, ["sum", "prod"])
    assert got["sum"].tolist() == [4, 6] and got["prod"].tolist() == [3, 8]
    x = np.arange(6, dtype=np.float16).reshape(2, 3)
    half = infer(protocol, envoy, "half", {"x": x, "s": np.array(["é", "b"], dtype=object)}, ["y", "t"])
    assert half["y"].dtype == np.float16 and half["y"].tolist() == (x * 2 + 1).tolist()
    assert [v.decode() if isinstance(v, bytes) else v for v in half["t"]] == ["é", "b"]


def test_errors_through_envoy(envoy: ViaEnvoy) -> None:
    r = httpx.post(f"{envoy.http_url}/v2/models/nope/infer", json={"inputs": [
        {"name": "a", "datatype": "FP32", "shape": [1], "data": [1]}]}, timeout=30)
    assert r.status_code == 404 and "nope.onnx" in r.json()["error"]
    r = httpx.post(f"{envoy.http_url}/v2/models/two/infer", json={"inputs": [
        {"name": "a", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]}]}, timeout=30)
    assert r.status_code == 400 and "shape mismatch" in r.json()["error"]
    rpc = grpc_client(envoy)
    a = tgrpc.InferInput("a", [2], "INT32")
    a.set_data_from_numpy(np.array([1, 2], np.int32))
    with pytest.raises(InferenceServerException) as info:
        rpc.infer("two", [a])
    rpc.close()
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT" and "expects FP32" in info.value.message()


@pytest.mark.parametrize("path", MODELS, ids=[m.stem for m in MODELS])
def test_silero_through_envoy(path: Path, server: NexonProcess, envoy: ViaEnvoy) -> None:
    name = "envoy-" + path.name
    deploy(server, name, path.read_bytes())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    feeds = _feeds(session, 3)
    expected = session.run(outputs, feeds)
    for protocol in PROTOCOLS:
        got = infer(protocol, envoy, name, feeds, outputs)
        for out, want in zip(outputs, expected, strict=True):
            np.testing.assert_allclose(got[out], want, rtol=1e-5, atol=1e-6)


def test_conformance_through_envoy(server: NexonProcess, envoy: ViaEnvoy) -> None:
    """Every backend case ORT direct gets right, on every V2 path, through Envoy."""
    counts = dict.fromkeys(PROTOCOLS, 0)
    runnable = 0
    for case in load_cases():
        try:
            session = ort.InferenceSession(case.model, providers=["CPUExecutionProvider"])
            names = [o.name for o in session.get_outputs()]
            direct = session.run(names, case.inputs)
        except Exception:
            continue
        if not all(matches(case.expected[n], v, case.rtol, case.atol) for n, v in zip(names, direct, strict=True)):
            continue
        runnable += 1
        deploy(server, "envoy-" + case.filename, case.model)
        for protocol in PROTOCOLS:
            got = infer(protocol, envoy, "envoy-" + case.filename, case.inputs, names)
            counts[protocol] += all(matches(case.expected[n], got[n], case.rtol, case.atol) for n in names)
    print(f"\nthrough Envoy: {runnable} cases ORT direct matches; " + ", ".join(f"{p} {c}" for p, c in counts.items()))
    assert runnable == 109 and counts == dict.fromkeys(PROTOCOLS, runnable)
