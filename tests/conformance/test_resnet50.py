"""The main job on real input: light_resnet50.onnx from the onnx wheel, served and run as the README shows."""

from __future__ import annotations

import os
import subprocess
import sys

import grpc
import httpx
import numpy as np
import onnxruntime as ort

from nexon.stubs import nexon_inference_pb2 as pb
from tests.support.models import light_model
from tests.support.server import NexonProcess


def test_resnet50_via_cli_then_rest_and_grpc_equal_ort(server: NexonProcess) -> None:
    path = light_model("resnet50")
    env = {**os.environ, "NEXON_URL": server.http_url}
    up = subprocess.run([sys.executable, "-m", "nexon", "models", "upload", str(path), "--deploy"],
                        env=env, capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    assert "light_resnet50.onnx version 1 deployed" in up.stdout

    x = np.random.default_rng(42).random((1, 3, 224, 224), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {session.get_inputs()[0].name: x})
    assert expected.shape == (1, 1000)

    response = httpx.post(f"{server.http_url}/inference/infer/light_resnet50", json={"input": x.tolist()},
                          timeout=300)
    assert response.status_code == 200, response.text
    rest = np.asarray(response.json()["results"][0], dtype=np.float32)

    with grpc.insecure_channel(server.grpc_target) as channel:
        predict = channel.unary_unary("/nexon.grpc.inference.v1.InferenceService/Predict",
                                      request_serializer=pb.PredictRequest.SerializeToString,
                                      response_deserializer=pb.PredictReply.FromString)
        reply = predict(pb.PredictRequest(model_name="light_resnet50.onnx", input=pb.RequestTensor(
            dims=[1, 3, 224, 224], tensor_content=x.tobytes(), data_type=pb.DT_FLOAT32)), timeout=300)
    out = reply.outputs[0]
    grpc_out = np.frombuffer(out.tensor_content, dtype="<f4").reshape(tuple(out.dims))

    np.testing.assert_allclose(rest, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(grpc_out, expected)  # raw float32 bytes: bit for bit
    np.testing.assert_array_equal(rest, grpc_out)  # JSON float32 round trip is exact too
    assert int(rest.argmax()) == int(expected.argmax())
