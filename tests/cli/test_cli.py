"""The `nexon` client commands against a real server, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.support import models
from tests.support.server import NexonProcess


def nexon(server: NexonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXON_URL": server.http_url}
    return subprocess.run([sys.executable, "-m", "nexon", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_full_model_lifecycle(server: NexonProcess, tmp_path: Path) -> None:
    path = tmp_path / "triple.onnx"
    path.write_bytes(models.scale(3.0))

    up = nexon(server, "models", "upload", str(path))
    assert up.returncode == 0, up.stderr
    assert "triple.onnx version 1 uploaded" in up.stdout and "100.0%" in up.stderr  # progress bar
    assert nexon(server, "models", "upload", str(path)).returncode == 0  # version 2

    listing = nexon(server, "models", "list", "--json")
    records = json.loads(listing.stdout)
    assert [(r["name"], r["version"], r["status"]) for r in records if r["name"] == "triple.onnx"] == [
        ("triple.onnx", 1, "Uploaded"), ("triple.onnx", 2, "Uploaded")]
    table = nexon(server, "models", "list").stdout
    assert table.splitlines()[0].split()[:3] == ["NAME", "VERSION", "STATUS"] and "triple.onnx" in table

    deployed = nexon(server, "models", "deploy", "triple", "--version", "2")
    assert deployed.returncode == 0 and "version 2 deployed" in deployed.stdout
    assert "Deployed" in nexon(server, "models", "list", "--status", "deployed").stdout

    result = nexon(server, "infer", "triple", "--input", "[[1, 2, 3]]")
    assert result.returncode == 0 and json.loads(result.stdout) == {"results": [[[3.0, 6.0, 9.0]]]}
    npy = tmp_path / "x.npy"
    np.save(npy, np.array([[0.5, 1.0, 1.5]], dtype=np.float32))
    result = nexon(server, "infer", "triple.onnx", "--npy", str(npy))
    assert json.loads(result.stdout) == {"results": [[[1.5, 3.0, 4.5]]]}

    down = nexon(server, "models", "undeploy", "triple", "--version", "2")
    assert down.returncode == 0 and "undeployed" in down.stdout
    assert nexon(server, "models", "delete", "triple", "--version", "1").returncode == 0
    left = json.loads(nexon(server, "models", "list", "--json").stdout)
    assert [(r["name"], r["version"]) for r in left if r["name"] == "triple.onnx"] == [("triple.onnx", 2)]


def test_upload_and_deploy_prints_endpoints(server: NexonProcess, tmp_path: Path) -> None:
    path = tmp_path / "quad.onnx"
    path.write_bytes(models.scale(4.0))
    out = nexon(server, "models", "upload", str(path), "--deploy")
    assert out.returncode == 0, out.stderr
    assert f"rest_direct: {server.http_url}/inference/infer/quad.onnx" in out.stdout
    assert "grpc_service: nexon.grpc.inference.v1.InferenceService/Predict" in out.stdout


def test_server_errors_are_printed_plainly_with_nonzero_exit(server: NexonProcess, tmp_path: Path) -> None:
    cases = [
        (("infer", "nowhere", "--input", "[1]"), "404: no model named 'nowhere.onnx'"),
        (("infer", "nowhere", "--input", "[1"), "--input is not valid JSON"),
        (("models", "deploy", "nowhere", "--version", "1"), "404:"),
        (("models", "delete", "nowhere", "--version", "1"), "404:"),
        (("models", "upload", str(tmp_path / "missing.onnx")), "no such file"),
    ]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"definitely not onnx")
    cases.append((("models", "upload", str(bad)), "400: not an ONNX model"))
    for args, message in cases:
        result = nexon(server, *args)
        assert result.returncode == 1, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_unreachable_server_is_a_plain_error(tmp_path: Path) -> None:
    env = {**os.environ, "NEXON_URL": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, "-m", "nexon", "models", "list"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "cannot reach http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_odd_names_and_pipes(server: NexonProcess, tmp_path: Path) -> None:
    path = tmp_path / "a?b#c.onnx"
    path.write_bytes(models.scale(2.0))
    assert nexon(server, "models", "upload", str(path), "--deploy").returncode == 0
    result = nexon(server, "infer", "a?b#c", "--input", "[[1, 2, 3]]")
    assert result.returncode == 0 and json.loads(result.stdout) == {"results": [[[2.0, 4.0, 6.0]]]}
    assert nexon(server, "models", "undeploy", "a?b#c", "--version", "1").returncode == 0
    env = {**os.environ, "NEXON_URL": server.http_url}
    piped = subprocess.run(f"{sys.executable} -m nexon models list --json | head -c 10", shell=True, env=env,
                           capture_output=True, text=True, timeout=60)
    assert len(piped.stdout) == 10 and "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr


def test_serve_on_a_port_in_use_is_a_plain_error(server: NexonProcess) -> None:
    result = subprocess.run([sys.executable, "-m", "nexon", "serve", "--http", f"127.0.0.1:{server.http_port}",
                             "--grpc", "127.0.0.1:0", "--store", "file:///tmp/nexon-unused"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "cannot serve on REST" in result.stderr and "Traceback" not in result.stderr
