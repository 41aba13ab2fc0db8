"""MongoDB away and back, under load: no 500s, readiness flips both ways, nothing is lost.

A mongoeco server of its own, on the SQLite engine so its data survives the stop; with
NEXON_TEST_MONGO_URI set these tests still use mongoeco, since they must stop the server.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support import models
from tests.support.mongo import MongoecoServer
from tests.support.rest import infer, upload, upload_ok
from tests.support.server import NexonProcess

X = [[1.0, 2.0, 3.0]]
ENV = {"NEXON_MONGO_TIMEOUT": "1"}


@pytest.fixture
def mongo_sqlite(tmp_path: Path) -> Iterator[MongoecoServer]:
    server = MongoecoServer(tmp_path / "mongo", sqlite=tmp_path / "mongo" / "data.db").start()
    yield server
    server.kill()


def _until(check: Callable[[], bool], timeout: float = 20.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "condition not reached"
        time.sleep(0.05)
    return time.monotonic() - started


def _grpc_health(proc: NexonProcess) -> int:
    with grpc.insecure_channel(proc.grpc_target) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        return int(reply.status)


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_starts_without_mongodb_and_recovers_when_it_comes(mongo_sqlite: MongoecoServer, tmp_path: Path) -> None:
    mongo_sqlite.stop()  # the port is known; nothing listens on it now
    proc = NexonProcess(tmp_path / "n", store_uri=mongo_sqlite.uri("late"), env=ENV).start()
    try:
        with httpx.Client(base_url=proc.http_url, timeout=30) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503
            assert _grpc_health(proc) == NOT_SERVING
            listing = client.get("/allModels")
            assert listing.status_code == 503
            assert "model store unavailable" in listing.json()["detail"]
            assert upload(client, "m.onnx", models.scale()).status_code == 503

            mongo_sqlite.start()
            _until(lambda: client.get("/readyz").status_code == 200)
            assert _grpc_health(proc) == SERVING
            assert upload_ok(client, "m.onnx", models.scale(), deploy=True)["version"] == 1
            assert infer(client, "m.onnx", X).json()["results"] == [[[2.0, 4.0, 6.0]]]
    finally:
        proc.kill()


def test_mongodb_stops_under_load_and_comes_back(mongo_sqlite: MongoecoServer, tmp_path: Path) -> None:
    proc = NexonProcess(tmp_path / "n", store_uri=mongo_sqlite.uri("fault"), env=ENV).start()
    counts: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    uploaded: dict[str, str] = {}  # model_id -> sha256 of every upload that answered 200
    stop = threading.Event()

    def load(kind: str) -> None:
        with httpx.Client(base_url=proc.http_url, timeout=30) as client:
            n = 0
            while not stop.is_set():
                n += 1
                if kind == "infer":
                    r = infer(client, "live.onnx", X)
                    if r.status_code == 200:
                        assert r.json()["results"] == [[[2.0, 4.0, 6.0]]]
                elif kind == "list":
                    r = client.get("/allModels")
                else:
                    data = models.scale(float(n) + 0.5)
                    r = upload(client, f"up-{threading.get_ident()}.onnx", data)
                    if r.status_code == 200:
                        uploaded[r.json()["model_id"]] = hashlib.sha256(data).hexdigest()
                    time.sleep(0.05)
                counts[kind][r.status_code] += 1

    try:
        with httpx.Client(base_url=proc.http_url, timeout=30) as client:
            _until(lambda: client.get("/readyz").status_code == 200)
            live = upload_ok(client, "live.onnx", models.scale(2.0), deploy=True)
            threads = [threading.Thread(target=load, args=(k,)) for k in ("infer", "infer", "list", "upload")]
            for t in threads:
                t.start()
            time.sleep(1.5)
            mongo_sqlite.kill()  # kill -9: no goodbye to the clients
            down = _until(lambda: client.get("/readyz").status_code == 503)
            assert _grpc_health(proc) == NOT_SERVING
            time.sleep(3)
            mongo_sqlite.start()
            up = _until(lambda: client.get("/readyz").status_code == 200)
            assert _grpc_health(proc) == SERVING
            time.sleep(1.5)
            stop.set()
            for t in threads:
                t.join()

            print(f"fault test: not ready {down:.2f}s after the kill, ready {up:.2f}s after the restart; "
                  f"statuses {dict((k, dict(v)) for k, v in counts.items())}")
            everything = [s for c in counts.values() for s in c]
            assert 500 not in everything and set(everything) <= {200, 503}
            assert set(counts["infer"]) == {200}  # the loaded model served throughout
            assert counts["list"][503] > 0 and counts["list"][200] > 0
            assert counts["upload"][200] > 0

            # Nothing lost: the deployed model and every acknowledged upload are there, bytes intact.
            listing = {r["_id"]: r for r in client.get("/allModels").json()}
            assert listing[live["model_id"]]["status"] == "Deployed"
            for model_id, digest in uploaded.items():
                assert listing[model_id]["sha256"] == digest
            # Distinct versions; an upload the outage failed after its number was taken leaves a gap,
            # so the highest version is bounded by the attempts, not the successes.
            versions = sorted(r["version"] for r in listing.values() if r["name"].startswith("up-"))
            assert len(versions) == len(set(versions)) >= counts["upload"][200]
            assert 1 <= versions[0] and versions[-1] <= sum(counts["upload"].values())
    finally:
        stop.set()
        proc.kill()


def test_credentials_never_reach_the_log(mongo_sqlite: MongoecoServer, tmp_path: Path) -> None:
    mongo_sqlite.stop()
    uri = f"mongodb://nexon:s3cret-pw@127.0.0.1:{mongo_sqlite.port}/creds?authSource=admin"
    proc = NexonProcess(tmp_path / "n", store_uri=uri, env=ENV).start()
    try:
        with httpx.Client(base_url=proc.http_url, timeout=30) as client:
            body = client.get("/allModels").json()
            assert client.get("/readyz").status_code == 503
            assert "s3cret" not in body["detail"]
    finally:
        proc.stop()
    assert "nexon:***@127.0.0.1" in proc.log()
    assert "s3cret" not in proc.log()
