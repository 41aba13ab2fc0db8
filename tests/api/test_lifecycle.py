"""Process behaviour: graceful shutdown, crashes mid-upload, health under load, limits from settings."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nexon.stubs import nexon_inference_pb2 as pb
from tests.support import models
from tests.support.rest import infer, upload, upload_ok
from tests.support.server import NexonProcess

Start = Callable[..., NexonProcess]


def slow_input() -> list[list[float]]:
    return (np.random.default_rng(1).random((1024, 1024), dtype=np.float32) / 1024).tolist()


def big_model(megabytes: int) -> bytes:
    """x + w with a `megabytes`-sized initializer: slow to upload, check and load."""
    n = megabytes * 1024 * 1024 // 4
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])
    w = numpy_helper.from_array(np.ones(n, dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "big", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def test_sigterm_lets_inflight_rest_and_grpc_finish_then_exits_0(start_server: Start) -> None:
    # A generous grace: the point is that in-flight calls finish, however loaded this machine is.
    server = start_server(env={"ORT_INTRA_OP_THREADS": "1", "NEXON_SHUTDOWN_GRACE": "60"})
    with httpx.Client(base_url=server.http_url, timeout=120) as c:
        upload_ok(c, "slow.onnx", models.slow(40, 1024), deploy=True)
        x = slow_input()
        options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
        with ThreadPoolExecutor(2) as pool, grpc.insecure_channel(server.grpc_target, options) as channel:
            predict = channel.unary_unary(
                "/nexon.grpc.inference.v1.InferenceService/Predict",
                request_serializer=pb.PredictRequest.SerializeToString,
                response_deserializer=pb.PredictReply.FromString,
            )
            arr = np.asarray(x, dtype=np.float32)
            grpc_call: Future[pb.PredictReply] = pool.submit(
                predict, pb.PredictRequest(model_name="slow.onnx", input=pb.RequestTensor(
                    dims=[1024, 1024], tensor_content=arr.tobytes())), timeout=120)
            rest_call = pool.submit(infer, c, "slow.onnx", x)
            time.sleep(0.3)
            server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
            response = rest_call.result()
            reply = grpc_call.result()
    assert response.status_code == 200
    rest_out = np.asarray(response.json()["results"][0], dtype=np.float32)
    grpc_out = np.frombuffer(reply.outputs[0].tensor_content, dtype="<f4").reshape(1024, 1024)
    np.testing.assert_array_equal(rest_out, grpc_out)
    assert server.proc.wait(60) == 0  # type: ignore[union-attr]
    log = server.log()
    assert "shutting down" in log and "stopped" in log and "Traceback" not in log


def test_kill_9_mid_upload_leaves_no_visible_model(start_server: Start) -> None:
    server = start_server()
    boundary = "nexonboundary"
    data = big_model(8)

    def body() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.onnx\"\r\n"
               "Content-Type: application/octet-stream\r\n\r\n").encode()
        staging = server.workdir / "store" / "tmp"
        for i in range(0, len(data), 256 * 1024):
            yield data[i:i + 256 * 1024]
            if i >= 2 * 1024 * 1024:
                deadline = time.monotonic() + 30
                while not list(staging.glob("upload-*.part")) and time.monotonic() < deadline:
                    time.sleep(0.05)  # until the server is writing the upload
                server.proc.kill()  # type: ignore[union-attr]  # SIGKILL, mid-body
                time.sleep(0.2)
        yield f"\r\n--{boundary}--\r\n".encode()

    try:
        httpx.post(f"{server.http_url}/upload/", content=body(), timeout=30,
                   headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    except httpx.TransportError:
        pass
    server.proc.wait(10)  # type: ignore[union-attr]
    server.start()
    with httpx.Client(base_url=server.http_url, timeout=30) as c:
        assert c.get("/allModels").json() == []
        assert c.get("/models/half.onnx").status_code == 404
        blobs = list((server.workdir / "store" / "blobs").iterdir())
        assert blobs == []  # the partial bytes never became a blob
        assert list((server.workdir / "store" / "tmp").iterdir()) == []  # start-up gc took the staging file
        assert "start-up gc removed 1 orphan" in server.log()
        ok = upload_ok(c, "half.onnx", models.scale())  # and the name is still free: version 1
        assert c.get("/models/half.onnx").json()["version"] == 1 and ok["model_id"]


PROBE = """
import sys, time, httpx
url, stop_file = sys.argv[1], sys.argv[2]
import pathlib
stop = pathlib.Path(stop_file)
with httpx.Client(base_url=url, timeout=5) as c:
    c.get("/healthz")
    while not stop.exists():
        t = time.perf_counter()
        assert c.get("/healthz").status_code == 200
        print(time.perf_counter() - t, flush=True)
        time.sleep(0.05)
"""


def test_healthz_stays_fast_during_long_inference_and_big_load(start_server: Start, tmp_path: Path) -> None:
    server = start_server(env={"ORT_INTRA_OP_THREADS": "1"})
    with httpx.Client(base_url=server.http_url, timeout=120) as c:
        upload_ok(c, "slow.onnx", models.slow(150, 1024), deploy=True)
        big = big_model(150)
        x = slow_input()
        stop = tmp_path / "stop"
        # The prober is its own process: this one's GIL is busy encoding the big requests.
        prober = subprocess.Popen([sys.executable, "-c", PROBE, server.http_url, str(stop)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)
            assert infer(c, "slow.onnx", x).status_code == 200
            assert upload(c, "big.onnx", big, deploy=True).status_code == 200
        finally:
            stop.touch()
            out, _ = prober.communicate(timeout=30)
    assert prober.returncode == 0
    latencies = sorted(float(line) for line in out.split())
    print(f"/healthz during load: n={len(latencies)} median={latencies[len(latencies) // 2] * 1000:.1f}ms "
          f"p95={latencies[int(len(latencies) * 0.95)] * 1000:.1f}ms max={latencies[-1] * 1000:.1f}ms")
    assert len(latencies) >= 10
    assert latencies[int(len(latencies) * 0.95)] < 0.050


def test_upload_over_the_limit_is_413_and_stores_nothing(start_server: Start) -> None:
    server = start_server(env={"NEXON_MAX_UPLOAD_BYTES": "100000"})
    with httpx.Client(base_url=server.http_url, timeout=30) as c:
        too_big = big_model(1)
        response = upload(c, "huge.onnx", too_big)
        assert response.status_code == 413 and "limit of 100000 bytes" in response.json()["detail"]
        assert c.get("/allModels").json() == []
        assert list((server.workdir / "store" / "tmp").iterdir()) == []
        assert upload(c, "small.onnx", models.scale()).status_code == 200
        assert c.get("/healthz").status_code == 200


def test_cache_limit_from_env_evicts(start_server: Start) -> None:
    server = start_server(env={"MODEL_CACHE_MAX": "1"})
    with httpx.Client(base_url=server.http_url, timeout=30) as c:
        upload_ok(c, "a.onnx", models.scale(2.0), deploy=True)
        upload_ok(c, "b.onnx", models.scale(3.0), deploy=True)
        for _ in range(2):
            assert infer(c, "a.onnx", [[1, 1, 1]]).json() == {"results": [[[2.0, 2.0, 2.0]]]}
            assert infer(c, "b.onnx", [[1, 1, 1]]).json() == {"results": [[[3.0, 3.0, 3.0]]]}
        metrics = c.get("/metrics").text
    evictions = next(float(line.split()[1]) for line in metrics.splitlines()
                     if line.startswith("nexon_cache_evictions_total"))
    sessions = next(float(line.split()[1]) for line in metrics.splitlines()
                    if line.startswith("nexon_cache_sessions "))
    assert evictions >= 4 and sessions == 1


def test_log_health_controls_probe_access_logs(start_server: Start) -> None:
    quiet = start_server(env={"LOG_HEALTH": "0"})
    loud = start_server(env={"LOG_HEALTH": "1"})
    for server in (quiet, loud):
        for path in ("/healthz", "/readyz", "/allModels"):
            assert httpx.get(f"{server.http_url}{path}").status_code == 200
    time.sleep(0.2)
    assert "GET /healthz" not in quiet.log() and "GET /allModels" in quiet.log()
    assert "GET /healthz" in loud.log() and "GET /readyz" in loud.log()


def test_bad_settings_fail_fast_with_the_setting_named(start_server: Start) -> None:
    try:
        start_server(env={"MODEL_CACHE_MAX": "zero"})
    except RuntimeError as exc:
        assert "MODEL_CACHE_MAX" in str(exc) and "Traceback" not in str(exc)
    else:
        raise AssertionError("server started with MODEL_CACHE_MAX=zero")


def test_model_built_here_is_valid_onnx() -> None:
    onnx.checker.check_model(onnx.load_model_from_string(big_model(1)))


def test_grpc_message_limits_from_env(start_server: Start) -> None:
    server = start_server(env={"GRPC_MAX_RECV_BYTES": "4096", "GRPC_MAX_SEND_BYTES": "4096"})
    with httpx.Client(base_url=server.http_url, timeout=30) as c:
        upload_ok(c, "fork.onnx", models.one_in_two_out(), deploy=True)  # the reply is twice the request
    with grpc.insecure_channel(server.grpc_target) as channel:
        predict = channel.unary_unary("/nexon.grpc.inference.v1.InferenceService/Predict",
                                      request_serializer=pb.PredictRequest.SerializeToString,
                                      response_deserializer=pb.PredictReply.FromString)

        def call(n: int) -> pb.PredictReply:
            x = np.ones(n, dtype=np.float32)
            return predict(pb.PredictRequest(model_name="fork.onnx", input=pb.RequestTensor(
                dims=[n], tensor_content=x.tobytes())), timeout=30)

        assert [len(o.tensor_content) for o in call(100).outputs] == [400, 400]
        for n, limit in ((700, "GRPC_MAX_SEND_BYTES=4096"), (2000, "GRPC_MAX_RECV_BYTES=4096")):
            with pytest.raises(grpc.RpcError) as err:
                call(n)
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and limit in err.value.details()
    assert httpx.get(f"{server.http_url}/healthz").status_code == 200


def test_healthz_stays_fast_while_a_big_output_is_encoded(start_server: Start, tmp_path: Path) -> None:
    server = start_server()
    with httpx.Client(base_url=server.http_url, timeout=120) as c:
        upload_ok(c, "zeros.onnx", models.zeros(), deploy=True)
        stop = tmp_path / "stop"
        prober = subprocess.Popen([sys.executable, "-c", PROBE, server.http_url, str(stop)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.5)
            for _ in range(3):
                with c.stream("POST", "/inference/infer/zeros.onnx", json={"input": [3000, 3000]}) as response:
                    assert response.status_code == 200
                    size = sum(len(chunk) for chunk in response.iter_bytes())
                assert size > 9_000_000 * 4  # 9 M zeros as JSON
        finally:
            stop.touch()
            out, _ = prober.communicate(timeout=30)
    latencies = sorted(float(line) for line in out.split())
    print(f"/healthz while encoding 36 MB outputs: n={len(latencies)} "
          f"p95={latencies[int(len(latencies) * 0.95)] * 1000:.1f}ms max={latencies[-1] * 1000:.1f}ms")
    assert len(latencies) >= 5 and latencies[int(len(latencies) * 0.95)] < 0.050


def test_a_deploy_on_one_replica_is_served_at_once_by_another(start_server: Start, tmp_path: Path) -> None:
    store = f"file://{tmp_path / 'shared'}"
    a, b = start_server("a", store_uri=store), start_server("b", store_uri=store)
    with httpx.Client(base_url=a.http_url, timeout=30) as ca, httpx.Client(base_url=b.http_url, timeout=30) as cb:
        assert infer(cb, "fresh.onnx", [[1, 1, 1]]).status_code == 404
        upload_ok(ca, "fresh.onnx", models.scale(5.0), deploy=True)
        # No waiting for B's poll: a miss asks the store, which already says Deployed.
        assert infer(cb, "fresh.onnx", [[1, 1, 1]]).json() == {"results": [[[5.0, 5.0, 5.0]]]}


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_kill_9_leaves_no_child_process(start_server: Start) -> None:
    server = start_server()
    with httpx.Client(base_url=server.http_url, timeout=60) as c:
        upload_ok(c, "child.onnx", models.scale())  # starts the model-check child
    assert server.proc is not None
    children = _children(server.proc.pid)
    assert children, "the model checker runs in a child process"
    server.kill()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []


def test_shutdown_delay_reports_not_ready_while_still_serving(start_server: Start) -> None:
    server = start_server(env={"NEXON_SHUTDOWN_DELAY": "3"})
    with httpx.Client(base_url=server.http_url, timeout=30) as c:
        upload_ok(c, "d.onnx", models.scale(2.0), deploy=True)
        assert c.get("/readyz").status_code == 200
        server.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.monotonic() + 2
        while c.get("/readyz").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.get("/readyz").status_code == 503  # load balancers take it out...
        assert c.get("/healthz").status_code == 200  # ...while it still answers
        assert infer(c, "d.onnx", [[1, 1, 1]]).json() == {"results": [[[2.0, 2.0, 2.0]]]}
    with grpc.insecure_channel(server.grpc_target) as channel:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert server.proc.wait(30) == 0  # type: ignore[union-attr]
