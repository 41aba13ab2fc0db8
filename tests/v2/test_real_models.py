"""Real multi-input models: every ONNX file the silero-vad wheel ships, through every V2 path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.support.server import NexonProcess
from tests.v2.support import PROTOCOLS, deploy, http_client, infer


def silero_models() -> list[Path]:
    spec = importlib.util.find_spec("silero_vad")  # the package imports torch; its data does not
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps silero-vad"
    return sorted((Path(next(iter(spec.submodule_search_locations))) / "data").glob("*.onnx"))


_SIZES = {"batch": 1, "sequence": 512, "sequence_length": 3}


def _feeds(session: ort.InferenceSession, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for arg in session.get_inputs():
        if arg.name == "sr":
            feeds[arg.name] = np.array(16000, dtype=np.int64)
            continue
        dims = [d if isinstance(d, int) else _SIZES.get(str(d), 1) for d in arg.shape]
        if arg.name == "input" and all(not isinstance(d, int) for d in arg.shape):
            dims = [1, 512]
        scale = 0.1 if arg.name == "input" else 0.01
        feeds[arg.name] = (rng.standard_normal(dims) * scale).astype(np.float32)
    return feeds


MODELS = silero_models()


def test_the_wheel_ships_six_models_including_half_precision() -> None:
    names = [m.name for m in MODELS]
    assert "silero_vad_half.onnx" in names and len(names) == 6


@pytest.fixture(scope="module")
def deployed(server: NexonProcess) -> dict[str, str]:
    names = {}
    for path in MODELS:
        names[path.name] = "silero-" + path.name
        deploy(server, names[path.name], path.read_bytes())
    return names


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("path", MODELS, ids=[m.stem for m in MODELS])
def test_silero_matches_ort_direct(path: Path, protocol: str, server: NexonProcess,
                                   deployed: dict[str, str]) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]
    for seed in (0, 1):
        feeds = _feeds(session, seed)
        expected = dict(zip(outputs, session.run(outputs, feeds), strict=True))
        got = infer(protocol, server, deployed[path.name], feeds, outputs)
        assert len(feeds) >= 2
        for name in outputs:
            assert got[name].shape == expected[name].shape and got[name].dtype == expected[name].dtype
            np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6)


def test_silero_metadata_lists_every_input(server: NexonProcess, deployed: dict[str, str]) -> None:
    client = http_client(server)
    meta = client.get_model_metadata(deployed["silero_vad.onnx"])
    client.close()
    assert [(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]] == [
        ("input", "FP32", [-1, -1]), ("state", "FP32", [2, -1, 128]), ("sr", "INT64", [])]
