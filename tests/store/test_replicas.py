"""Real `nexon serve` processes on one store: changes reach the other replica within the bound,
and a model deleted mid-traffic never turns into a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from grpclib.client import Channel
from grpclib.const import Status as GrpcStatus
from grpclib.exceptions import GRPCError

from nexon.stubs import nexon_inference_pb2 as pb
from nexon.stubs.nexon_inference_grpc import InferenceServiceStub
from tests.support import models
from tests.support.rest import infer, upload_ok
from tests.support.server import NexonProcess

BOUND_S = 2.0
X = [[1.0, 2.0, 3.0]]


@pytest.fixture
def shared_uri(store_uri: str, tmp_path: Path) -> str:
    return store_uri  # local: one root for both processes; gridfs: one database


@pytest.fixture
def replicas(shared_uri: str, tmp_path: Path) -> Iterator[Callable[[str], NexonProcess]]:
    started: list[NexonProcess] = []

    def start(name: str) -> NexonProcess:
        proc = NexonProcess(tmp_path / name, store_uri=shared_uri, env={"NEXON_MONGO_TIMEOUT": "3"}).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


def _until(check: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "condition not reached"
        time.sleep(0.02)
    return time.monotonic() - started


async def test_deploy_and_undeploy_reach_the_other_replica(replicas: Callable[[str], NexonProcess]) -> None:
    a, b = replicas("a"), replicas("b")
    with httpx.Client(base_url=a.http_url, timeout=30) as ca, httpx.Client(base_url=b.http_url, timeout=30) as cb:
        assert infer(cb, "rep.onnx", X).status_code == 404
        upload_ok(ca, "rep.onnx", models.scale(3.0), deploy=True)
        seen = _until(lambda: infer(cb, "rep.onnx", X).status_code == 200)
        assert seen <= BOUND_S, f"deploy took {seen:.2f}s to reach replica b"
        assert infer(cb, "rep.onnx", X).json()["results"] == [[[3.0, 6.0, 9.0]]]

        assert ca.put("/deployment/undeploy/rep.onnx", json={"model_version": 1}).status_code == 200
        gone = _until(lambda: infer(cb, "rep.onnx", X).status_code == 400)
        assert gone <= BOUND_S, f"undeploy took {gone:.2f}s to reach replica b"
        assert "no deployed version" in infer(cb, "rep.onnx", X).json()["detail"]
        channel = Channel("127.0.0.1", b.grpc_port)
        try:
            request = pb.PredictRequest(model_name="rep.onnx", input=pb.RequestTensor(
                dims=[1, 3], data_type=pb.DT_FLOAT32, tensor_content=np.ones((1, 3), "<f4").tobytes()))
            with pytest.raises(GRPCError) as raised:
                await InferenceServiceStub(channel).Predict(request)
            assert raised.value.status is GrpcStatus.FAILED_PRECONDITION
        finally:
            channel.close()

        # Redeploying other weights under the same name serves the new weights, not cached ones.
        upload_ok(ca, "rep.onnx", models.scale(5.0))
        v2 = ca.get("/models/rep.onnx", params={"version": 2}).json()["_id"]
        assert ca.post("/deployment/deploy-model/", json={"model_name": "rep.onnx", "model_id": v2}).status_code == 200
        _until(lambda: infer(cb, "rep.onnx", X).status_code == 200, BOUND_S + 1)
        assert infer(cb, "rep.onnx", X).json()["results"] == [[[5.0, 10.0, 15.0]]]
        print(f"propagation to replica b: deploy {seen:.2f}s, undeploy {gone:.2f}s")


def test_delete_while_inferring(replicas: Callable[[str], NexonProcess]) -> None:
    a = replicas("a")
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=a.http_url, timeout=30) as client:
            while not stop.is_set():
                statuses.append(infer(client, "busy.onnx", X).status_code)

    with httpx.Client(base_url=a.http_url, timeout=30) as client:
        upload_ok(client, "busy.onnx", models.scale(2.0), deploy=True)
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        _until(lambda: statuses.count(200) >= 20)
        assert client.delete("/deleteModel/busy.onnx/1").status_code == 200
        _until(lambda: statuses[-4:].count(404) == 4)
        stop.set()
        for t in threads:
            t.join()
        assert set(statuses) <= {200, 404}, sorted(set(statuses))
        assert client.get("/allModels").json() == []
