"""The original NEXON REST API against a real server: every route and status code."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import pytest
from onnx import TensorProto

from tests.support import models
from tests.support.rest import deploy, infer, record, upload, upload_ok
from tests.support.server import NexonProcess


@pytest.fixture(scope="module")
def client(server: NexonProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http_url, timeout=60) as c:
        yield c


def names(client: httpx.Client, path: str = "/allModels") -> list[tuple[str, int]]:
    return [(r["name"], r["version"]) for r in client.get(path).json()]


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_upload_creates_version_1_with_full_record(client: httpx.Client) -> None:
    data = models.scale(2.0)
    body = upload_ok(client, "rec.onnx", data)
    assert set(body) >= {"message", "model_id", "file_id"}
    rec = record(client, "rec.onnx", 1)
    assert rec["_id"] == body["model_id"] and rec["file_id"] == body["file_id"]
    assert rec["name"] == "rec.onnx" and rec["version"] == 1 and rec["status"] == "Uploaded"
    assert rec["upload"] == date.today().strftime("%d/%m/%Y") and rec["deploy"] == ""
    assert rec["sha256"] == hashlib.sha256(data).hexdigest() and rec["size_bytes"] == len(data)
    assert rec["size"] == f"{len(data)} B"
    assert rec["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["N", 3]}]
    assert rec["outputs"] == [{"name": "y", "dtype": "float32", "shape": ["N", 3]}]


def test_second_upload_of_a_name_is_version_2_sharing_bytes(client: httpx.Client) -> None:
    data = models.scale(3.0)
    first = upload_ok(client, "twice.onnx", data)
    second = upload_ok(client, "twice.onnx", data)
    assert record(client, "twice.onnx", 2)["_id"] == second["model_id"] != first["model_id"]
    assert second["file_id"] == first["file_id"]  # content-addressed: stored once


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("model.txt", models.scale(), "only .onnx files"),
        ("garbage.onnx", b"\x08\x07this is not protobuf" * 10, "not an ONNX model"),
        ("empty.onnx", b"", "empty"),
        (".onnx", models.scale(), "only .onnx files"),
    ],
)
def test_bad_uploads_are_400_and_store_nothing(client: httpx.Client, filename: str, data: bytes, reason: str) -> None:
    before = names(client)
    response = upload(client, filename, data)
    assert response.status_code == 400, response.text
    assert reason in response.json()["detail"]
    assert names(client) == before


def test_external_data_model_is_refused(client: httpx.Client, tmp_path: Path) -> None:
    before = names(client)
    response = upload(client, "ext.onnx", models.external_data(tmp_path))
    assert response.status_code == 400
    assert "external data" in response.json()["detail"]
    assert names(client) == before


def test_upload_needs_multipart_file_field(client: httpx.Client) -> None:
    assert client.post("/upload/", json={"file": "x"}).status_code == 400
    response = client.post("/upload/", files={"other": ("a.onnx", b"123")})
    assert response.status_code == 400 and "'file'" in response.json()["detail"]
    response = client.post("/upload/", data={"file": "not a file"}, files={"x": ("b", b"")})
    assert response.status_code == 400


def test_deploy_model_lifecycle_and_errors(client: httpx.Client, server: NexonProcess) -> None:
    v1 = upload_ok(client, "life.onnx", models.scale(2.0))["model_id"]
    v2 = upload_ok(client, "life.onnx", models.scale(5.0))["model_id"]

    ok = deploy(client, "life.onnx", v1)
    assert ok.status_code == 200, ok.text
    endpoints = ok.json()["endpoints"]
    assert endpoints == {
        "rest_envoy": "http://localhost:8080/inference/infer/life.onnx",
        "rest_direct": f"http://127.0.0.1:{server.http_port}/inference/infer/life.onnx",
        "grpc_envoy": "localhost:8080",
        "grpc_direct": f"127.0.0.1:{server.grpc_port}",
        "grpc_service": "nexon.grpc.inference.v1.InferenceService/Predict",
    }
    rec = record(client, "life.onnx", 1)
    assert rec["status"] == "Deployed" and rec["deploy"] == date.today().strftime("%d/%m/%Y")

    again = deploy(client, "life.onnx", v1)
    assert again.status_code == 400 and "already deployed" in again.json()["detail"]
    other = deploy(client, "life.onnx", v2)
    assert other.status_code == 400 and "version 1 is already deployed" in other.json()["detail"]
    assert deploy(client, "life.onnx", "0" * 24).status_code == 404
    assert deploy(client, "someone-else.onnx", v2).status_code == 404
    bad = client.post("/deployment/deploy-model/", json={"model_name": "life.onnx"})
    assert bad.status_code == 400 and "model_id" in bad.json()["detail"]
    assert client.post("/deployment/deploy-model/", content=b"{not json").status_code == 400

    assert infer(client, "life.onnx", [[1, 2, 3]]).json() == {"results": [[[2.0, 4.0, 6.0]]]}

    down = client.put("/deployment/undeploy/life.onnx", json={"model_name": "life.onnx", "model_version": 1})
    assert down.status_code == 200, down.text
    assert record(client, "life.onnx", 1)["status"] == "Uploaded" and record(client, "life.onnx", 1)["deploy"] == ""
    again_down = client.put("/deployment/undeploy/life.onnx", json={"model_name": "life.onnx", "model_version": 1})
    assert again_down.status_code == 400 and "not deployed" in again_down.json()["detail"]
    assert client.put("/deployment/undeploy/life.onnx", json={"model_version": 9}).status_code == 404
    assert client.put("/deployment/undeploy/nope.onnx", json={"model_version": 1}).status_code == 404
    assert client.put("/deployment/undeploy/life.onnx", json={"model_version": "one"}).status_code == 400

    assert infer(client, "life.onnx", [[1, 2, 3]]).status_code == 400
    assert deploy(client, "life", v2).status_code == 200  # the suffix may be left out
    assert infer(client, "life", [[1, 2, 3]]).json() == {"results": [[[5.0, 10.0, 15.0]]]}


def test_deploy_file_uploads_and_deploys_and_refuses_a_second(client: httpx.Client) -> None:
    body = upload_ok(client, "direct.onnx", models.scale(4.0), deploy=True)
    assert body["endpoints"]["grpc_service"] == "nexon.grpc.inference.v1.InferenceService/Predict"
    assert infer(client, "direct.onnx", [[1, 1, 1]]).json() == {"results": [[[4.0, 4.0, 4.0]]]}
    before = names(client)
    refused = upload(client, "direct.onnx", models.scale(9.0), deploy=True)
    assert refused.status_code == 400 and "already deployed" in refused.json()["detail"]
    assert names(client) == before  # nothing half-done left behind


def test_listings_by_status(client: httpx.Client) -> None:
    upload_ok(client, "listed-up.onnx", models.scale(1.5))
    upload_ok(client, "listed-dep.onnx", models.scale(1.5), deploy=True)
    everything = names(client)
    deployed = names(client, "/deployedModels")
    uploaded = names(client, "/uploadedModels")
    assert ("listed-up.onnx", 1) in uploaded and ("listed-up.onnx", 1) not in deployed
    assert ("listed-dep.onnx", 1) in deployed and ("listed-dep.onnx", 1) not in uploaded
    assert sorted(deployed + uploaded) == sorted(everything)
    assert all(r["status"] == "Deployed" for r in client.get("/deployedModels").json())


def test_delete(client: httpx.Client) -> None:
    upload_ok(client, "gone.onnx", models.scale(7.0), deploy=True)
    response = client.delete("/deleteModel/gone.onnx/1")
    assert response.status_code == 200 and "deleted" in response.json()["message"]
    assert ("gone.onnx", 1) not in names(client)
    assert infer(client, "gone.onnx", [[1, 2, 3]]).status_code == 404
    assert client.delete("/deleteModel/gone.onnx/1").status_code == 404
    assert client.delete("/deleteModel/gone.onnx/first").status_code == 400


def test_infer_errors_name_the_problem(client: httpx.Client) -> None:
    upload_ok(client, "strict.onnx", models.scale(2.0), deploy=True)
    upload_ok(client, "idle.onnx", models.scale(2.0))
    cases = [
        (infer(client, "missing.onnx", [[1, 2, 3]]), 404, "no model named"),
        (infer(client, "idle.onnx", [[1, 2, 3]]), 400, "no deployed version"),
        (infer(client, "strict.onnx", [[1, 2, 3]], "int64"), 400, "model expects float32, received int64"),
        (infer(client, "strict.onnx", [[1, 2]]), 400, "model expects [N, 3], received [1, 2]"),
        (infer(client, "strict.onnx", [1, 2, 3]), 400, "model expects [N, 3], received [3]"),
        (infer(client, "strict.onnx", [[1, 2, 3], [4, 5]]), 400, "not a rectangular array"),
        (infer(client, "strict.onnx", [["a", "b", "c"]]), 400, "received the string 'a'"),
        (infer(client, "strict.onnx", [[True, False, True]]), 400, "received booleans"),
        (infer(client, "strict.onnx", [[1, 2, 3]], "float128"), 400, "unknown dtype"),
        (client.post("/inference/infer/strict.onnx", json={"inputs": [1]}), 400, "'input' is required"),
        (client.post("/inference/infer/strict.onnx", content=b"[1,"), 400, "not valid JSON"),
        (client.post("/inference/infer/strict.onnx", json={"input": None}), 400, "no data"),
    ]
    for response, status, text in cases:
        assert response.status_code == status, response.text
        assert text in response.json()["detail"], response.text


@pytest.mark.parametrize(
    ("dtype", "value", "expected"),
    [
        (TensorProto.FLOAT, [[0.5, -1.25]], [[0.5, -1.25]]),
        (TensorProto.DOUBLE, [[1e-300, 2.5]], [[1e-300, 2.5]]),
        (TensorProto.INT32, [[-7, 2147483647]], [[-7, 2147483647]]),
        (TensorProto.INT64, [[9007199254740993, -1]], [[9007199254740993, -1]]),
        (TensorProto.BOOL, [[True, False]], [[True, False]]),
    ],
)
def test_every_nexon_dtype_round_trips(client: httpx.Client, dtype: int, value: list[list[object]],
                                       expected: list[list[object]]) -> None:
    name = f"ident-{dtype}.onnx"
    upload_ok(client, name, models.identity(dtype, [1, 2]), deploy=True)
    from onnx import helper

    dtype_name = str(helper.tensor_dtype_to_np_dtype(dtype))
    assert infer(client, name, value).json() == {"results": [expected]}
    assert infer(client, name, value, dtype_name).json() == {"results": [expected]}


def test_int_input_rules(client: httpx.Client) -> None:
    upload_ok(client, "ints.onnx", models.identity(TensorProto.INT32, [2]), deploy=True)
    assert infer(client, "ints.onnx", [1.0, 2.0]).json() == {"results": [[1, 2]]}  # integral floats are fine
    lossy = infer(client, "ints.onnx", [1.5, 2.0])
    assert lossy.status_code == 400 and "non-integer" in lossy.json()["detail"]
    overflow = infer(client, "ints.onnx", [2**31, 0])
    assert overflow.status_code == 400 and "out of range for int32" in overflow.json()["detail"]


def test_first_output_only_and_optional_initializer_inputs(client: httpx.Client) -> None:
    upload_ok(client, "bias.onnx", models.with_optional_input(), deploy=True)
    rec = record(client, "bias.onnx", 1)
    assert [i["name"] for i in rec["inputs"]] == ["x"]  # initializer-backed input is optional
    assert infer(client, "bias.onnx", [1, 2, 3]).json() == {"results": [[11.0, 22.0, 33.0]]}


def test_large_input_round_trips_exactly(client: httpx.Client) -> None:
    upload_ok(client, "wide.onnx", models.scale(1.0, width=150_000), deploy=True)
    x = np.random.default_rng(0).standard_normal((1, 150_000)).astype(np.float32)
    response = infer(client, "wide.onnx", x.tolist())
    assert response.status_code == 200
    out = np.asarray(response.json()["results"][0], dtype=np.float32)
    np.testing.assert_array_equal(out, x)


def test_concurrent_uploads_get_distinct_consecutive_versions(client: httpx.Client, server: NexonProcess) -> None:
    data = models.scale(1.25)
    with httpx.Client(base_url=server.http_url, timeout=120) as c, ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: upload(c, "crowd.onnx", data), range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    versions = sorted(v for n, v in names(client) if n == "crowd.onnx")
    assert versions == list(range(1, 21))


def test_concurrent_deploys_exactly_one_wins(client: httpx.Client, server: NexonProcess) -> None:
    ids = [upload_ok(client, "race.onnx", models.scale(float(i)))["model_id"] for i in range(1, 11)]
    with httpx.Client(base_url=server.http_url, timeout=120) as c, ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda i: deploy(c, "race.onnx", i), ids))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [400] * 9, [r.text for r in responses]
    assert [n for n, _ in names(client, "/deployedModels")].count("race.onnx") == 1


def test_openapi_describes_every_route_and_docs_render(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in ["/upload/", "/deployment/deploy-file/", "/deployment/deploy-model/",
                 "/deployment/undeploy/{model_name}", "/allModels", "/deployedModels", "/uploadedModels",
                 "/deleteModel/{model_name}/{model_version}", "/inference/infer/{model_name}",
                 "/healthz", "/readyz", "/metrics", "/models/{model_name}", "/v2", "/v2/health/live",
                 "/v2/health/ready", "/v2/models/{model_name}",
                 "/v2/models/{model_name}/versions/{model_version}/infer"]:
        assert path in spec["paths"], path
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def test_json_number_rules(client: httpx.Client) -> None:
    upload_ok(client, "i64.onnx", models.identity(TensorProto.INT64, [None]), deploy=True)
    upload_ok(client, "f32.onnx", models.identity(TensorProto.FLOAT, [None]), deploy=True)
    upload_ok(client, "str.onnx", models.identity(TensorProto.STRING, [None]), deploy=True)
    for value in ([9223372036854775808.0], [9007199254740993, 1.0], [-9223372036854775809.0]):
        refused = infer(client, "i64.onnx", value)
        assert refused.status_code == 400 and "2^53" in refused.json()["detail"], value
    assert infer(client, "i64.onnx", [2**70]).status_code == 400
    assert infer(client, "i64.onnx", [2**63 - 1, -(2**63)]).json() == {"results": [[2**63 - 1, -(2**63)]]}
    # Non-finite floats: the strings (or Python's bare tokens) in, the strings out, as on V2.
    out = infer(client, "f32.onnx", ["NaN", "Infinity", "-Infinity", 1.5]).json()
    assert out == {"results": [["NaN", "Infinity", "-Infinity", 1.5]]}
    bare = client.post("/inference/infer/f32.onnx", content=b'{"input": [NaN, -Infinity, 2]}',
                       headers={"content-type": "application/json"})
    assert bare.json() == {"results": [["NaN", "-Infinity", 2.0]]}
    assert infer(client, "str.onnx", ["a", "b"]).json() == {"results": [["a", "b"]]}
    mixed = infer(client, "str.onnx", ["a", 1])
    assert mixed.status_code == 400 and "model expects strings, received int" in mixed.json()["detail"]


def test_unknown_rank_inputs_accept_any_shape(client: httpx.Client) -> None:
    upload_ok(client, "anyrank.onnx", models.identity(TensorProto.FLOAT, None), deploy=True)
    assert infer(client, "anyrank.onnx", [[1, 2, 3], [4, 5, 6]]).json() == {"results": [[[1.0, 2.0, 3.0],
                                                                                          [4.0, 5.0, 6.0]]]}
    assert infer(client, "anyrank.onnx", 7).json() == {"results": [7.0]}


def test_huge_or_odd_versions_are_4xx(client: httpx.Client) -> None:
    upload_ok(client, "ver.onnx", models.scale(2.0))
    huge = "99999999999999999999999"
    assert client.get("/models/ver.onnx", params={"version": huge}).status_code == 404
    assert client.delete(f"/deleteModel/ver.onnx/{huge}").status_code == 404
    assert client.put("/deployment/undeploy/ver.onnx", json={"model_version": huge}).status_code == 404
    assert client.put("/deployment/undeploy/ver.onnx", json={"model_version": 2**63}).status_code == 404
    for odd in ("%201", "1_0", "%D9%A1", "0x1", "1.0"):
        response = client.delete(f"/deleteModel/ver.onnx/{odd}")
        assert response.status_code == 400 and "must be an integer" in response.json()["detail"], odd
    assert record(client, "ver.onnx", 1)["status"] == "Uploaded"  # nothing was deleted
    bad = client.put("/deployment/undeploy/ver.onnx", json={"model_version": "one"})
    assert bad.json()["detail"] == "field 'model_version' must be an integer"


def test_versions_are_never_reused_after_a_delete(client: httpx.Client) -> None:
    for factor in (1.0, 2.0, 3.0):
        upload_ok(client, "reuse.onnx", models.scale(factor))
    assert client.delete("/deleteModel/reuse.onnx/3").status_code == 200
    upload_ok(client, "reuse.onnx", models.scale(9.0))
    assert sorted(v for n, v in names(client) if n == "reuse.onnx") == [1, 2, 4]


def test_odd_names_work_when_encoded(client: httpx.Client) -> None:
    body = upload_ok(client, "my model?#%.onnx", models.scale(2.0), deploy=True)
    assert body["endpoints"]["rest_envoy"] == "http://localhost:8080/inference/infer/my%20model%3F%23%25.onnx"
    assert infer(client, "my%20model%3F%23%25.onnx", [[1, 1, 1]]).json() == {"results": [[[2.0, 2.0, 2.0]]]}
    for bad in ("..onnx", "x" * 300 + ".onnx"):
        assert upload(client, bad, models.scale()).status_code == 400, bad


def test_inference_body_limit(start_server: Callable[..., NexonProcess]) -> None:
    server = start_server(env={"NEXON_MAX_REQUEST_BYTES": "100000"})
    with httpx.Client(base_url=server.http_url, timeout=30) as c:
        upload_ok(c, "lim.onnx", models.scale(1.0, width="W"), deploy=True)
        ok = infer(c, "lim.onnx", [[0.5] * 1000])
        assert ok.status_code == 200
        big = infer(c, "lim.onnx", [[0.5] * 30000])
        assert big.status_code == 413 and "limit of 100000 bytes" in big.json()["detail"]

        def chunks() -> Iterator[bytes]:
            yield b'{"input": [['
            for _ in range(40000):  # 160 KB, with no content-length
                yield b"0.5,"
            yield b"0.5]]}"

        chunked = c.post("/inference/infer/lim.onnx", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        v2 = c.post("/v2/models/lim/infer", json={"inputs": [{"name": "x", "shape": [1, 30000], "datatype": "FP32",
                                                              "data": [0.5] * 30000}]})
        assert v2.status_code == 413 and "limit of 100000 bytes" in v2.json()["error"]
        assert c.get("/healthz").status_code == 200


def test_docs_page_needs_no_network(client: httpx.Client) -> None:
    page = client.get("/docs").text
    assert "<script" not in page and "/inference/infer/{model_name}" in page and "/v2/health/ready" in page


def test_unknown_route_and_method_are_json_4xx(client: httpx.Client) -> None:
    missing = client.get("/no/such/route")
    assert missing.status_code == 404 and "detail" in missing.json()
    wrong = client.get("/upload/")
    assert wrong.status_code == 405
    post_unknown = client.post("/no/such/route", json={})
    assert post_unknown.status_code == 404 and post_unknown.json() == {"detail": "Not Found"}


def test_rest_speaks_h2c_with_prior_knowledge(server: NexonProcess) -> None:
    with httpx.Client(base_url=server.http_url, http1=False, http2=True, timeout=30) as h2:
        response = h2.get("/healthz")
        assert response.http_version == "HTTP/2" and response.json() == {"status": "ok"}
        upload_ok(h2, "h2.onnx", models.scale(2.0), deploy=True)
        assert infer(h2, "h2.onnx", [[1, 2, 3]]).json() == {"results": [[[2.0, 4.0, 6.0]]]}


def test_deeply_nested_json_is_a_400(client: httpx.Client) -> None:
    body = b'{"input": ' + b"[" * 1100 + b"1" + b"]" * 1100 + b"}"
    response = client.post("/inference/infer/strict.onnx", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]


def test_a_plain_upload_does_not_fill_the_session_cache(client: httpx.Client) -> None:
    def sessions() -> float:
        return next(float(line.split()[1]) for line in client.get("/metrics").text.splitlines()
                    if line.startswith("nexon_cache_sessions "))

    before = sessions()
    for i in range(3):
        upload_ok(client, f"cold-{i}.onnx", models.scale(100.0 + i))
    assert sessions() == before


def test_oversized_multipart_headers_are_a_400(client: httpx.Client) -> None:
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.onnx\"\r\n"
            f"X-Padding: {'p' * 20000}\r\n\r\n").encode() + models.scale() + f"\r\n--{boundary}--\r\n".encode()
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/upload/", content=body, headers=headers)
    assert response.status_code == 400 and "header" in response.json()["detail"].lower()


def test_server_stayed_healthy_and_logged_no_traceback(client: httpx.Client, server: NexonProcess) -> None:
    assert client.get("/healthz").status_code == 200
    assert "Traceback" not in server.log()
    assert 'code="500"' not in client.get("/metrics").text
