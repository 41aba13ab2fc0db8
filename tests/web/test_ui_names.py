"""Model names that need escaping in URLs, through the real UI (web/e2e/names.mjs in Debian's
Chromium) against a real `nexon serve`: each is uploaded, deployed, found, viewed and run from
the page, shown verbatim, and the curl / Python / grpcurl snippets the page offers work as shown.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np

from tests.support import models
from tests.support.server import NexonProcess
from tests.web.build import WEB, chromium, ensure_built
from tests.web.test_ui_e2e import check_snippets

NAMES = ["my model?#.onnx", "a%2Fb.onnx"]
FACTOR = 2.5
INPUT = [[1.0, -2.0, 4.0]]


def test_names_needing_escapes_work_from_the_page(tmp_path: Path) -> None:
    ensure_built()
    server = NexonProcess(tmp_path / "nexon").start()
    try:
        result = _run(server, tmp_path)
        expected = (np.array(INPUT, np.float32) * np.float32(FACTOR)).tolist()
        for name in NAMES:
            seen = result["names"][name]
            encoded = quote(name, safe="")
            assert seen["uploaded"].startswith(f"{name} version 1 deployed"), seen["uploaded"]
            assert seen["rowName"] == name and seen["linkText"] == name
            assert seen["hash"] == f"#/models/{encoded}/1"
            assert seen["title"] == f"{name} v1"
            assert seen["output"] == expected and seen["selected"] == f"{name} (v1)"
            url = f"{server.http_url}/inference/infer/{encoded}"
            assert f"POST {url}" in seen["endpoints"]
            assert f"curl -sS -X POST '{url}'" in seen["snippets"]["curl"]
            assert f'"{url}"' in seen["snippets"]["python"]
            snippet_input = json.loads(seen["snippets"]["curl"].split("-d ", 1)[1].strip("'"))["input"]
            snippet_expected = (np.array(snippet_input, np.float32) * np.float32(FACTOR)).tolist()
            check_snippets(seen["snippets"], snippet_expected, server.grpc_target)
            assert ("POST", f"/inference/infer/{encoded}") in {tuple(r.split(" ", 1)) for r in result["requests"]}
            assert f"GET /models/{encoded}" in result["requests"]
        assert result["consoleErrors"] == []
        listed = {r["name"] for r in httpx.get(f"{server.http_url}/deployedModels", timeout=30).json()}
        assert listed == set(NAMES)
    finally:
        server.stop()


def _run(server: NexonProcess, work: Path) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser tests"
    model = work / "scale.onnx"
    model.write_bytes(models.scale(FACTOR))
    config = {"baseUrl": server.http_url, "chromium": str(chromium()), "result": str(work / "result.json"),
              "model": str(model), "names": NAMES, "input": INPUT}
    (work / "config.json").write_text(json.dumps(config))
    done = subprocess.run([node, "e2e/names.mjs", str(work / "config.json")], cwd=WEB, capture_output=True,
                          text=True, timeout=240)
    result: dict[str, Any] = json.loads((work / "result.json").read_text())
    assert done.returncode == 0 and result["ok"], f"{result.get('error')}\n{done.stderr[-4000:]}"
    return result
