"""Three `nexon serve` replicas sharing one store behind one Envoy: spread, failover, return."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest

from nexon.stubs import nexon_inference_pb2 as pb
from tests.support import models
from tests.support.gateway import GatewayProcess
from tests.support.mongo import MongoecoServer, external_uri, with_database
from tests.support.rest import upload_ok
from tests.support.server import NexonProcess

PREDICT = "/nexon.grpc.inference.v1.InferenceService/Predict"
HEALTH_INTERVAL_S = 1.0
UNHEALTHY_THRESHOLD = 2  # the gateway's default
X = [[1.0, 2.0, 3.0]]


@dataclass
class Fleet:
    replicas: list[NexonProcess]
    gateway: GatewayProcess

    def rest_ports(self) -> list[int]:
        return [r.http_port for r in self.replicas]

    def grpc_ports(self) -> list[int]:
        return [r.grpc_port for r in self.replicas]


def _can_infer(server: NexonProcess) -> bool:
    r = httpx.post(f"{server.http_url}/inference/infer/rep.onnx", json={"input": X}, timeout=30)
    return r.status_code == 200


@pytest.fixture(scope="module", params=["local", "gridfs"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Three replicas on one store: one local directory, or one MongoDB (mongoeco, or NEXON_TEST_MONGO_URI)."""
    base = tmp_path_factory.mktemp(f"replicas-{request.param}")
    mongo: MongoecoServer | None = None
    if request.param == "local":
        store = f"file://{base / 'shared-store'}"
    elif external_uri():
        store = with_database(external_uri() or "", f"nexon_replicas_{int(time.time() * 1000)}")
    else:
        mongo = MongoecoServer(base / "mongo").start()
        store = mongo.uri("nexon_replicas")
    replicas = [NexonProcess(base / f"r{i}", store_uri=store).start() for i in range(3)]
    with httpx.Client(base_url=replicas[0].http_url, timeout=60) as c:
        upload_ok(c, "rep.onnx", models.scale(2.0), deploy=True)
    deadline = time.monotonic() + 60  # the others see the deploy by polling the store's change marker
    while not all(_can_infer(r) for r in replicas) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_can_infer(r) for r in replicas)
    gateway = GatewayProcess(base / "gw", replicas, health_interval_s=HEALTH_INTERVAL_S).start()
    fleet = Fleet(replicas, gateway)
    gateway.wait_hosts("nexon_rest", fleet.rest_ports(), healthy=True)
    gateway.wait_hosts("nexon_grpc", fleet.grpc_ports(), healthy=True)
    yield fleet
    gateway.stop()
    for r in replicas:
        r.kill()
    if mongo is not None:
        mongo.stop()


def _predict_request() -> pb.PredictRequest:
    x = np.asarray(X, dtype=np.float32)
    return pb.PredictRequest(model_name="rep.onnx", input=pb.RequestTensor(
        dims=list(x.shape), tensor_content=x.tobytes(), data_type=pb.DT_FLOAT32))


def _rq_totals(gateway: GatewayProcess, cluster: str) -> dict[int, int]:
    return {port: host.get("rq_total", 0) for port, host in gateway.hosts(cluster).items()}


def _served_infers(server: NexonProcess) -> float:
    text = httpx.get(f"{server.http_url}/metrics", timeout=30).text
    pattern = r'^nexon_requests_total\{code="200",method="POST /inference/infer/[^"]*",protocol="rest"\} (\S+)$'
    return sum(float(m) for m in re.findall(pattern, text, re.M))


def test_requests_are_spread_over_every_replica(fleet: Fleet) -> None:
    gw = fleet.gateway
    rest_before, grpc_before = _rq_totals(gw, "nexon_rest"), _rq_totals(gw, "nexon_grpc")
    served_before = [_served_infers(r) for r in fleet.replicas]
    with httpx.Client(base_url=gw.url, timeout=30) as c:
        for _ in range(60):
            assert c.post("/inference/infer/rep.onnx", json={"input": X}).json() == {"results": [[[2.0, 4.0, 6.0]]]}
    with grpc.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
        call = channel.unary_unary(PREDICT, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=pb.PredictReply.FromString)
        for _ in range(30):
            assert len(call(_predict_request(), timeout=30).outputs) == 1
    rest = {p: n - rest_before.get(p, 0) for p, n in _rq_totals(gw, "nexon_rest").items()}
    grpc_rq = {p: n - grpc_before.get(p, 0) for p, n in _rq_totals(gw, "nexon_grpc").items()}
    served = [_served_infers(r) - b for r, b in zip(fleet.replicas, served_before, strict=True)]
    print(f"\nREST requests per replica (Envoy): {rest}; gRPC: {grpc_rq}; served per replica (/metrics): {served}")
    assert sum(rest[p] for p in fleet.rest_ports()) >= 60
    assert all(rest[p] >= 10 for p in fleet.rest_ports()), rest  # round robin: about 20 each
    assert all(grpc_rq[p] >= 5 for p in fleet.grpc_ports()), grpc_rq
    assert all(n >= 10 for n in served), served  # each replica's own counter agrees


@dataclass
class Load:
    """REST and gRPC requests through Envoy in two threads until stopped; failures counted."""

    url: str
    grpc_target: str
    stop: threading.Event = field(default_factory=threading.Event)
    ok: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _count(self, failure: str | None) -> None:
        with self.lock:
            if failure is None:
                self.ok += 1
            else:
                self.failures.append(failure)

    def rest(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            for _ in range(20_000):
                if self.stop.is_set():
                    return
                try:
                    r = c.post("/inference/infer/rep.onnx", json={"input": X})
                    self._count(None if r.status_code == 200 else f"REST {r.status_code} {r.text[:100]}")
                except httpx.HTTPError as exc:
                    self._count(f"REST {exc!r}")

    def grpc(self) -> None:
        with grpc.insecure_channel(self.grpc_target) as channel:
            call = channel.unary_unary(PREDICT, request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=pb.PredictReply.FromString)
            for _ in range(20_000):
                if self.stop.is_set():
                    return
                try:
                    call(_predict_request(), timeout=30)
                    self._count(None)
                except grpc.RpcError as exc:
                    self._count(f"gRPC {exc.code().name} {exc.details()}")

    def total(self) -> int:
        with self.lock:
            return self.ok + len(self.failures)

    def wait_for(self, more: int, timeout: float = 120.0) -> None:
        target = self.total() + more
        deadline = time.monotonic() + timeout
        while self.total() < target and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.total() >= target, f"load stalled at {self.total()} requests"


def test_killed_replica_is_ejected_and_comes_back(fleet: Fleet, tmp_path: Path) -> None:
    gw = fleet.gateway
    victim = fleet.replicas[1]
    http_port, grpc_port = victim.http_port, victim.grpc_port
    load = Load(gw.url, f"127.0.0.1:{gw.port}")
    threads = [threading.Thread(target=load.rest, daemon=True), threading.Thread(target=load.grpc, daemon=True)]
    for t in threads:
        t.start()
    try:
        load.wait_for(100)
        victim.kill()  # SIGKILL: no draining, connections reset
        killed_at = time.monotonic()
        rest_out = gw.wait_hosts("nexon_rest", [http_port], healthy=False, timeout=30)
        grpc_out = gw.wait_hosts("nexon_grpc", [grpc_port], healthy=False, timeout=30)
        ejected_after = time.monotonic() - killed_at
        sent_to_victim = _rq_totals(gw, "nexon_rest")[http_port]
        load.wait_for(200)
        assert _rq_totals(gw, "nexon_rest")[http_port] == sent_to_victim  # nothing more reaches it

        victim.args = ("--http", f"127.0.0.1:{http_port}", "--grpc", f"127.0.0.1:{grpc_port}")
        victim.start()
        restarted_at = time.monotonic()
        gw.wait_hosts("nexon_rest", [http_port], healthy=True, timeout=60)
        gw.wait_hosts("nexon_grpc", [grpc_port], healthy=True, timeout=60)
        back_after = time.monotonic() - restarted_at
        before = _rq_totals(gw, "nexon_rest")[http_port]
        # Healthy again; outlier ejection (its time grows with each ejection during the outage)
        # may hold it out a few seconds more before it takes traffic again.
        deadline = time.monotonic() + 30
        while _rq_totals(gw, "nexon_rest")[http_port] <= before and time.monotonic() < deadline:
            load.wait_for(20)
        assert _rq_totals(gw, "nexon_rest")[http_port] > before  # it takes traffic again
        traffic_after = time.monotonic() - restarted_at
    finally:
        load.stop.set()
        for t in threads:
            t.join(60)
    print(f"\nkill -9 of one of 3 replicas under load: {len(load.failures)} failed of {load.total()} requests "
          f"{load.failures}; marked unhealthy after REST {rest_out:.2f}s / gRPC {rest_out + grpc_out:.2f}s "
          f"(both {ejected_after:.2f}s; health interval {HEALTH_INTERVAL_S}s); healthy {back_after:.2f}s and "
          f"taking traffic {traffic_after:.2f}s after restart")
    assert len(load.failures) <= 5, load.failures
    # Failed active checks (a refused connection fails at once) or passive ejection: within the thresholds.
    assert ejected_after <= UNHEALTHY_THRESHOLD * HEALTH_INTERVAL_S + 2.0
