"""`npm run dev`: the Vite dev server serves the UI and forwards the API routes to NEXON_URL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.support import models
from tests.support.server import NexonProcess
from tests.web.build import WEB, ensure_built


def test_dev_server_proxies_the_api_to_the_backend(tmp_path: Path) -> None:
    ensure_built()  # installs node_modules when missing
    node = shutil.which("node")
    assert node, "Node.js is needed"
    backend = NexonProcess(tmp_path / "srv").start()
    log = (tmp_path / "vite.log").open("wb")
    cmd = [node, "node_modules/vite/bin/vite.js", "--port", "0", "--strictPort", "false", "--host", "127.0.0.1"]
    env = {**os.environ, "NEXON_URL": backend.http_url, "NO_COLOR": "1"}
    vite = subprocess.Popen(cmd, cwd=WEB, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            assert vite.poll() is None, (tmp_path / "vite.log").read_text()
            plain = re.sub(r"\x1b\[[0-9;]*m", "", (tmp_path / "vite.log").read_text())  # CI=true colours it
            for word in plain.split():
                if word.startswith("http://127.0.0.1:"):
                    url = word.rstrip("/")
            time.sleep(0.1)
        assert url, (tmp_path / "vite.log").read_text()
        with httpx.Client(base_url=url, timeout=30) as dev:
            page = dev.get("/")
            assert page.status_code == 200 and '<script type="module" src="/src/main.tsx">' in page.text
            up = dev.post("/upload/", files={"file": ("dev.onnx", models.scale(2.0))})
            assert up.status_code == 200 and up.json()["message"] == "dev.onnx version 1 uploaded"
            assert [r["name"] for r in dev.get("/allModels").json()] == ["dev.onnx"]
            signature = dev.get("/models/dev.onnx").json()["inputs"]
            assert signature == [{"name": "x", "dtype": "float32", "shape": ["N", 3]}]
            assert dev.get("/models/nope.onnx").json() == httpx.get(f"{backend.http_url}/models/nope.onnx").json()
    finally:
        vite.terminate()
        vite.wait(10)
        log.close()
        backend.stop()
