"""The web UI end to end: Debian's Chromium (playwright-core, web/e2e/run.mjs) against a real
`nexon serve` with 1,000 stored records, directly and through the real Envoy (`nexon gateway`).
The page uploads, deploys, runs, undeploys and deletes a real model; here the numbers it showed
are checked against NumPy and the snippets it offered are run as shown, both via Envoy and
direct. Screenshots go to artifacts/ui/<label>/.
"""

from __future__ import annotations

import ast
import asyncio
import json
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnx
import pytest
from google.protobuf import json_format
from grpclib.client import Channel
from onnx import TensorProto, helper

from nexon.core.signature import Signature, TensorSpec
from nexon.core.staging import stage
from nexon.executor import BlockingExecutor
from nexon.store.local import LocalStore
from nexon.stubs import nexon_inference_pb2 as pb
from nexon.stubs.nexon_inference_grpc import InferenceServiceStub
from tests.support import models
from tests.support.gateway import GatewayProcess
from tests.support.server import NexonProcess
from tests.web.build import ROOT, WEB, chromium, ensure_built

ARTIFACTS = ROOT / "artifacts" / "ui"
# Each run uploads its own names: the server never reuses a deleted version's number.


def model_name(label: str) -> str:
    return f"e2e-scale-{label}.onnx"


def large_name(label: str) -> str:
    return f"e2e-large-{label}.onnx"


FACTOR = 1.5
SEED_NAMES = 20
SEEDED = 1000
LARGE_ROWS = 3000
CUSTOM_INPUT = [[0.5, -2.0, 10.0], [4.0, 5.0, 6.25]]
BAD_INPUT = [[1.0, 2.0]]


def large_model(megabytes: int = 12) -> bytes:
    """y = x * 2 on float32 [N, 3], carrying an unused initializer so the file is big."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    k = helper.make_tensor("k", TensorProto.FLOAT, [1], [2.0])
    count = megabytes * 1024 * 1024 // 4
    ballast = helper.make_tensor("ballast", TensorProto.FLOAT, [count],
                                 np.linspace(0, 1, count, dtype=np.float32).tobytes(), raw=True)
    graph = helper.make_graph([helper.make_node("Mul", ["x", "k"], ["y"])], "large", [x], [y], [k, ballast])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", models.OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


async def _seed(root: Path, data: bytes) -> None:
    """1,000 real records (20 names x 50 versions of one real model) written through the store."""
    executor = BlockingExecutor(2)
    store = LocalStore(root, executor)
    await store.open()
    signature = Signature((TensorSpec("x", "tensor(float)", ("N", 3)),), (TensorSpec("y", "tensor(float)", ("N", 3)),))

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    try:
        for i in range(SEEDED):
            staged = await stage(chunks(), store.staging_dir, len(data), executor)
            await store.put(f"seed-{i % SEED_NAMES:02d}.onnx", staged, signature)
    finally:
        await store.close()
        executor.shutdown()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def envoy_port() -> int:
    """Envoy's port, chosen before the server starts so the server can name it in its endpoints."""
    return _free_port()


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, envoy_port: int) -> Iterator[NexonProcess]:
    ensure_built()
    work = tmp_path_factory.mktemp("ui")
    asyncio.run(_seed(work / "store", models.scale(3.0)))
    env = {"NEXON_ENVOY_URL": f"http://127.0.0.1:{envoy_port}", "NEXON_ENVOY_GRPC": f"127.0.0.1:{envoy_port}"}
    proc = NexonProcess(work, env=env).start()  # the UI is found in web/dist by default
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gateway(ui_server: NexonProcess, envoy_port: int, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(tmp_path_factory.mktemp("gw"), [ui_server],
                        args=("--listen", f"127.0.0.1:{envoy_port}")).start()
    yield gw
    gw.stop()


def run_e2e(base_url: str, label: str, work: Path) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser tests"
    model, large = model_name(label), large_name(label)
    (work / model).write_bytes(models.scale(FACTOR))
    (work / large).write_bytes(large_model())
    (work / "broken.onnx").write_bytes(b"this is not an ONNX model")
    (work / "notes.txt").write_text("not a model")
    config = {
        "baseUrl": base_url,
        "label": label,
        "artifacts": str(ARTIFACTS),
        "result": str(work / "result.json"),
        "chromium": str(chromium()),
        "seeded": SEEDED // SEED_NAMES,
        "seedName": "seed-07",
        "textFile": str(work / "notes.txt"),
        "badModel": str(work / "broken.onnx"),
        "model": {
            "path": str(work / model),
            "name": model,
            "expected": (np.array([[1, 2, 3]], np.float32) * FACTOR).tolist(),
            "customInput": CUSTOM_INPUT,
            "customShape": list(np.shape(CUSTOM_INPUT)),
            "customExpected": (np.array(CUSTOM_INPUT, np.float32) * np.float32(FACTOR)).tolist(),
            "badInput": BAD_INPUT,
            "largeRows": LARGE_ROWS,
        },
        "large": {"path": str(work / large), "throttleBytesPerSecond": 8 * 1024 * 1024},
    }
    (work / "config.json").write_text(json.dumps(config))
    done = subprocess.run([node, "e2e/run.mjs", str(work / "config.json")], cwd=WEB, capture_output=True,
                          text=True, timeout=240)
    result: dict[str, Any] = json.loads((work / "result.json").read_text())
    assert done.returncode == 0 and result["ok"], f"{result.get('error')}\n{done.stderr[-4000:]}"
    return result


def _results_of(stdout: str) -> Any:
    return json.loads(stdout)["results"][0]


def check_snippets(snippets: dict[str, str], expected: Any, grpc_target: str) -> None:
    """Run the curl and Python snippets as shown; send grpcurl's -d body to the target it names."""
    curl = subprocess.run(["bash", "-c", snippets["curl"]], capture_output=True, text=True, timeout=30)
    assert curl.returncode == 0, curl.stderr
    assert _results_of(curl.stdout) == expected

    python = subprocess.run([sys.executable, "-c", snippets["python"]], capture_output=True, text=True, timeout=30)
    assert python.returncode == 0, python.stderr
    assert ast.literal_eval(python.stdout.strip()) == expected

    words = shlex.split(snippets["grpcurl"].replace("\\\n", " "))  # the shell joins continued lines
    assert words[:4] == ["grpcurl", "-plaintext", "-proto", "protos/nexon_inference.proto"]
    assert (ROOT / words[3]).is_file()
    assert words[4] == "-d" and words[6:] == [grpc_target, "nexon.grpc.inference.v1.InferenceService/Predict"]
    # grpcurl reads -d with the protobuf JSON mapping; json_format is the same mapping.
    request = json_format.Parse(words[5], pb.PredictRequest())
    host, port = grpc_target.rsplit(":", 1)

    async def predict() -> pb.PredictReply:
        channel = Channel(host, int(port))
        try:
            reply: pb.PredictReply = await InferenceServiceStub(channel).Predict(request)
            return reply
        finally:
            channel.close()

    reply = asyncio.run(predict())
    out = reply.outputs[0]
    assert np.frombuffer(out.tensor_content, np.float32).reshape(list(out.dims)).tolist() == expected


def check_result(result: dict[str, Any], server: NexonProcess, envoy_url: str) -> None:
    http = httpx.Client(base_url=server.http_url, timeout=30)
    expected = (np.array([[1, 2, 3]], np.float32) * FACTOR).tolist()
    model, large = model_name(result["label"]), large_name(result["label"])

    assert result["seededTotal"] == SEEDED
    assert result["tableMs"] < 5000, f"models table took {result['tableMs']} ms with {SEEDED} records"
    assert result["filterMs"] < 2000, f"search took {result['filterMs']} ms over {SEEDED} records"

    refused = http.post("/upload/", files={"file": ("broken.onnx", b"this is not an ONNX model")})
    assert 400 <= refused.status_code < 500
    assert result["rejection"] == refused.json()["detail"]
    assert result["uploaded"].startswith(f"{model} version 1 uploaded")
    assert result["uploadedAgain"].startswith(f"{model} version 2 uploaded")

    progress = result["progressSeen"]
    assert any(0 < v < 100 for v in progress) and progress[-1] == 100, progress
    assert result["largeDone"].startswith(f"{large} version 1 deployed")

    assert result["deployed"] == f"{model} version 1 deployed"
    assert result["actionErrorRole"] == "alert"
    assert [r.split() for r in result["inputRows"]] == [["x", "float32", "[N,", "3]", "dynamic"]]
    assert [r.split() for r in result["outputRows"]] == [["y", "float32", "[N,", "3]", "dynamic"]]
    assert result["dynamicMarked"] == ["N"]
    assert f"POST {server.http_url}/inference/infer/{model}" in result["endpoints"]
    assert server.grpc_target in result["endpoints"]
    assert "nexon.grpc.inference.v1.InferenceService/Predict" in result["endpoints"]
    assert f"{server.http_url}/inference/infer/{model}" in result["snippets"]["direct"]["curl"]
    assert f"POST {envoy_url}/inference/infer/{model}" in result["endpoints"]
    assert f"{envoy_url}/inference/infer/{model}" in result["snippets"]["envoy"]["curl"]

    assert result["prefilled"] == [[1, 2, 3]]
    assert result["prefilledOutput"] == expected
    assert result["prefilledShape"] == "[1, 3]"
    assert result["roundTrip"].endswith(" ms") and float(result["roundTrip"].split()[0]) > 0
    assert result["customOutput"] == (np.array(CUSTOM_INPUT, np.float32) * np.float32(FACTOR)).tolist()
    assert result["largeShape"] == f"[{LARGE_ROWS}, 3]"
    assert "Showing the first 20,000 of" in result["truncatedNote"]
    last = LARGE_ROWS - 1
    assert result["downloadedRows"] == LARGE_ROWS
    assert result["downloadedLast"] == (np.array([last, last + 0.5, -last], np.float32) * np.float32(FACTOR)).tolist()

    assert result["undeployed"] == f"{model} version 1 undeployed"
    assert result["deleted"] == f"{model} version 1 deleted"
    remaining = http.get("/allModels").json()
    assert len(remaining) == SEEDED
    assert {r["name"] for r in remaining} == {f"seed-{i:02d}.onnx" for i in range(SEED_NAMES)}
    assert not [e for e in result["consoleErrors"] if "Failed to load resource" not in e]
    shots = {Path(p).stem: Path(p).stat().st_size for p in result["screenshots"]}
    assert len(shots) == 15 and all(size > 10_000 for size in shots.values()), shots
    http.close()


def redeploy_and_run_snippets(result: dict[str, Any], server: NexonProcess, envoy_url: str) -> None:
    """The page deleted its model at the end: deploy it again and run the snippets it showed."""
    http = httpx.Client(base_url=server.http_url, timeout=30)
    model = model_name(result["label"])
    deployed = http.post("/deployment/deploy-file/", files={"file": (model, models.scale(FACTOR))})
    assert deployed.status_code == 200, deployed.text
    try:
        bad = http.post(f"/inference/infer/{model}", json={"input": BAD_INPUT})
        assert bad.status_code == 400
        assert result["inferError"] == bad.json()["detail"]
        second = http.post("/upload/", files={"file": (model, models.scale(FACTOR))}).json()["model"]
        refused = http.post("/deployment/deploy-model/", json={"model_name": model, "model_id": second["_id"]})
        assert 400 <= refused.status_code < 500
        # the same refusal the page showed, now naming the redeployed (never reused) version
        now = f"version {deployed.json()['version']} "
        assert refused.json()["detail"] == result["actionError"].replace("version 1 ", now)
        assert result["actionError"].startswith(f"{model} version 1 is already deployed")
        assert http.delete(f"/deleteModel/{model}/{second['version']}").status_code == 200
        expected = (np.array([[1, 2, 3]], np.float32) * FACTOR).tolist()
        check_snippets(result["snippets"]["direct"], expected, server.grpc_target)
        check_snippets(result["snippets"]["envoy"], expected, envoy_url.removeprefix("http://"))
    finally:
        assert http.delete(f"/deleteModel/{model}/{deployed.json()['version']}").status_code == 200
        http.close()


def test_ui_against_nexon_serve(ui_server: NexonProcess, envoy_port: int, tmp_path: Path) -> None:
    result = run_e2e(ui_server.http_url, "direct", tmp_path)
    check_result(result, ui_server, f"http://127.0.0.1:{envoy_port}")
    http = httpx.Client(base_url=ui_server.http_url, timeout=30)
    model = model_name("direct")
    deployed = http.post("/deployment/deploy-file/", files={"file": (model, models.scale(FACTOR))})
    assert deployed.status_code == 200, deployed.text
    try:
        check_snippets(result["snippets"]["direct"], (np.array([[1, 2, 3]], np.float32) * FACTOR).tolist(),
                       ui_server.grpc_target)
    finally:
        assert http.delete(f"/deleteModel/{model}/{deployed.json()['version']}").status_code == 200
        http.close()


def test_ui_through_envoy(ui_server: NexonProcess, gateway: GatewayProcess, tmp_path: Path) -> None:
    result = run_e2e(gateway.url, "envoy", tmp_path)
    check_result(result, ui_server, gateway.url)
    redeploy_and_run_snippets(result, ui_server, gateway.url)
    model = model_name("envoy")
    # The page, its assets and its API calls all went through Envoy to the REST cluster.
    wanted = {("GET", "/"), ("GET", "/allModels"), ("POST", "/upload/"), ("POST", "/deployment/deploy-model/"),
              ("POST", f"/inference/infer/{model}"), ("PUT", f"/deployment/undeploy/{model}"),
              ("DELETE", f"/deleteModel/{model}/1")}
    deadline = time.monotonic() + 30  # Envoy flushes its access log every few seconds
    while True:
        seen = {(e["method"], e["path"].split("?")[0]) for e in gateway.access_log()}
        if wanted <= seen or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert wanted <= seen, sorted(wanted - seen)
    assert any(method == "GET" and path.startswith("/assets/") for method, path in seen)
