"""The known Envoy traps, each shown to bite without the setting and not to bite with it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import onnx
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from onnx import TensorProto, helper

from nexon.stubs import nexon_inference_pb2 as pb
from nexon.stubs.nexon_inference_grpc import InferenceServiceStub
from tests.support import models
from tests.support.gateway import GatewayProcess
from tests.support.rest import upload_ok
from tests.support.server import NexonProcess

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
SERVING = b"\x00\x00\x00\x00\x02\x08\x01"  # one uncompressed message: HealthCheckResponse(status=SERVING)
MB = 1024 * 1024


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NexonProcess]:
    server = NexonProcess(tmp_path_factory.mktemp("traps"), env={"NEXON_MAX_UPLOAD_BYTES": str(512 * MB)}).start()
    with httpx.Client(base_url=server.http_url, timeout=120) as c:
        upload_ok(c, "slow.onnx", models.slow(iterations=20, size=1024), deploy=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(backend: NexonProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(tmp_path_factory.mktemp("traps-gw"), [backend]).start()
    yield gw
    gw.stop()


def test_grpclib_needs_te_trailers_and_the_route_adds_it(backend: NexonProcess, gateway: GatewayProcess) -> None:
    headers = {"content-type": "application/grpc"}  # no `te: trailers`, as some proxies and clients send
    with httpx.Client(http1=False, http2=True, timeout=30) as h2:
        direct = h2.post(f"http://127.0.0.1:{backend.grpc_port}{HEALTH_CHECK}", content=b"\0" * 5, headers=headers)
        via_envoy = h2.post(f"{gateway.url}{HEALTH_CHECK}", content=b"\0" * 5, headers=headers)
    assert direct.headers.get("grpc-status") == "2"
    assert 'Required "te: trailers" header is missing' in direct.headers.get("grpc-message", "")
    assert via_envoy.status_code == 200 and via_envoy.content == SERVING
    assert via_envoy.extensions["http_version"] == b"HTTP/2"


def test_idle_upstream_connection_is_closed_by_envoy_first(gateway: GatewayProcess) -> None:
    before = gateway.stat("cluster.nexon_rest.upstream_cx_idle_timeout")
    with httpx.Client(base_url=gateway.url, timeout=30) as c:
        assert c.get("/allModels").status_code == 200
        time.sleep(6.0)  # longer than Hypercorn's 5 s keep-alive: the trap's precondition, not an assertion
        after_idle = c.get("/allModels")
    assert after_idle.status_code == 200
    # Envoy (4 s) dropped the pooled connection before Hypercorn (5 s) could close it under a request.
    assert gateway.stat("cluster.nexon_rest.upstream_cx_idle_timeout") > before
    assert gateway.stat("cluster.nexon_rest.upstream_rq_503") == 0


def test_route_timeout_bounds_a_slow_model_and_grpc_timeout_can_extend_it(
    backend: NexonProcess, start_gateway: Callable[..., GatewayProcess]
) -> None:
    x = np.ones((1024, 1024), dtype=np.float32)
    strict = start_gateway([backend], args=("--route-timeout", "0.1"))
    with httpx.Client(timeout=120) as c:
        assert c.post(f"{backend.http_url}/inference/infer/slow.onnx", json={"input": x.tolist()}).status_code == 200
        timed_out = c.post(f"{strict.url}/inference/infer/slow.onnx", json={"input": x.tolist()})
    assert timed_out.status_code == 504 and timed_out.text == "upstream request timeout"

    async def predict(timeout: float | None) -> Status:
        channel = Channel("127.0.0.1", strict.port)
        try:
            request = pb.PredictRequest(model_name="slow.onnx", input=pb.RequestTensor(
                dims=[1024, 1024], tensor_content=x.tobytes(), data_type=pb.DT_FLOAT32))
            await InferenceServiceStub(channel).Predict(request, timeout=timeout)
            return Status.OK
        except GRPCError as exc:
            return exc.status
        finally:
            channel.close()

    import asyncio

    assert asyncio.run(predict(None)) == Status.DEADLINE_EXCEEDED
    assert asyncio.run(predict(120.0)) == Status.OK  # the client's grpc-timeout replaces the route timeout


@pytest.mark.parametrize("upload_mb", [3, 24])
def test_an_early_413_reaches_the_client_and_spoils_no_connection(
    upload_mb: int, start_server: Callable[..., NexonProcess], start_gateway: Callable[..., GatewayProcess]
) -> None:
    # Refused after 2 MiB, the rest of the body unread: without draining it, Hypercorn's close
    # resets the connection under Envoy (a 503 or a truncated 413), or Envoy reuses it (a 503).
    server = start_server("limit", env={"NEXON_MAX_UPLOAD_BYTES": str(2 * MB)})
    gw = start_gateway([server])
    too_big = b"\0" * (upload_mb * MB)
    with httpx.Client(base_url=gw.url, timeout=60) as c:
        answers = []
        for _ in range(10):
            r = c.post("/upload/", files={"file": ("big.onnx", too_big, "application/octet-stream")})
            answers.append((r.status_code, r.json(), c.get("/allModels").status_code))
    assert answers == [(413, {"detail": f"upload exceeds the limit of {2 * MB} bytes"}, 200)] * 10
    assert gw.stat("cluster.nexon_rest.upstream_rq_503") == 0


def _big_model(path: Path, floats: int) -> None:
    """y = x + w[0:3], where w holds `floats` float32 values (about 4 bytes each in the file)."""
    w = np.arange(floats, dtype=np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    weights = helper.make_tensor("w", TensorProto.FLOAT, [floats], w.tobytes(), raw=True)
    idx = helper.make_tensor("idx", TensorProto.INT64, [3], [0, 1, 2])
    nodes = [helper.make_node("Gather", ["w", "idx"], ["g"]), helper.make_node("Add", ["x", "g"], ["y"])]
    model = helper.make_model(helper.make_graph(nodes, "big", [x], [y], [weights, idx]),
                              opset_imports=[helper.make_opsetid("", models.OPSET)])
    model.ir_version = 8
    onnx.save(model, path)


def test_200_mb_upload_streams_through(gateway: GatewayProcess, tmp_path: Path) -> None:
    path = tmp_path / "big.onnx"
    _big_model(path, 52_500_000)
    size = path.stat().st_size
    assert size > 200 * MB
    started = time.monotonic()
    with httpx.Client(base_url=gateway.url, timeout=httpx.Timeout(60, read=600)) as c, path.open("rb") as f:
        r = c.post("/deployment/deploy-file/", files={"file": ("big.onnx", f, "application/octet-stream")})
        elapsed = time.monotonic() - started
        assert r.status_code == 200, r.text
        record = c.get("/models/big.onnx").json()
        assert record["size_bytes"] == size and record["status"] == "Deployed"
        result = c.post("/inference/infer/big.onnx", json={"input": [10.0, 20.0, 30.0]})
    assert result.json() == {"results": [[10.0, 21.0, 32.0]]}
    print(f"\n200 MB upload through Envoy: {size} bytes uploaded and deployed in {elapsed:.1f}s")
