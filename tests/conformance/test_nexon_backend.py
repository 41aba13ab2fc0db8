"""Models nobody here wrote: the onnx wheel's backend cases through the NEXON endpoints.

Every case with one required input is uploaded, deployed and run through REST
(/inference/infer, first output) and gRPC (Predict, all outputs). Wherever ONNX Runtime run
directly matches the expected outputs, both protocols must match them too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import httpx
import numpy as np
import onnxruntime as ort
import pytest

from nexon.stubs import nexon_inference_pb2 as pb
from tests.support.backend_cases import SUITES, Case, load_cases, matches
from tests.support.server import NexonProcess

GRPC_TYPES = {np.dtype(np.float32): pb.DT_FLOAT32, np.dtype(np.float64): pb.DT_FLOAT64,
              np.dtype(np.int32): pb.DT_INT32, np.dtype(np.int64): pb.DT_INT64, np.dtype(np.bool_): pb.DT_BOOL}
FROM_GRPC = {v: k for k, v in GRPC_TYPES.items()}


@dataclass
class Outcome:
    case: Case
    ort_ok: bool = False
    rest: str = "-"
    grpc: str = "-"
    notes: list[str] = field(default_factory=list)


def one_input_cases() -> list[Case]:
    return [c for c in load_cases() if len(c.inputs) == 1 and c.tensor_inputs]


def ort_direct(case: Case) -> bool:
    try:
        session = ort.InferenceSession(case.model, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, case.inputs)
    except Exception:
        return False
    return all(matches(case.expected[n], v, case.rtol, case.atol) for n, v in zip(names, values, strict=True))


def via_rest(client: httpx.Client, case: Case) -> str:
    (array,) = case.inputs.values()
    body: dict[str, object] = {"input": array.tolist()}
    if array.dtype != object:
        body["dtype"] = str(array.dtype)
    response = client.post(f"/inference/infer/{case.filename}", json=body)
    if response.status_code != 200:
        return str(response.status_code)
    first = next(iter(case.expected))
    expected = np.asarray(case.expected[first])
    got = np.asarray(response.json()["results"][0], dtype=expected.dtype).reshape(expected.shape) \
        if np.asarray(response.json()["results"][0]).size == expected.size else response.json()["results"][0]
    return "ok" if matches(expected, got, case.rtol, case.atol) else "mismatch"


def via_grpc(channel: grpc.Channel, case: Case) -> str:
    (array,) = case.inputs.values()
    if array.dtype not in GRPC_TYPES or any(np.asarray(v).dtype not in GRPC_TYPES for v in case.expected.values()):
        return "n/a"  # Predict's DataType carries five dtypes; V2 ModelInfer covers the rest
    predict = channel.unary_unary("/nexon.grpc.inference.v1.InferenceService/Predict",
                                  request_serializer=pb.PredictRequest.SerializeToString,
                                  response_deserializer=pb.PredictReply.FromString)
    tensor = pb.RequestTensor(dims=list(array.shape), tensor_content=array.astype(array.dtype.newbyteorder("<"))
                              .tobytes(), data_type=GRPC_TYPES[array.dtype])
    if not array.shape:
        return "n/a"  # Predict requires non-empty dims; scalars go through REST or V2
    try:
        reply = predict(pb.PredictRequest(model_name=case.filename, input=tensor), timeout=120)
    except grpc.RpcError as err:
        return err.code().name
    got = {o.name: np.frombuffer(o.tensor_content, dtype=FROM_GRPC[o.data_type].newbyteorder("<"))
           .reshape(tuple(o.dims)) for o in reply.outputs}
    ok = all(matches(case.expected[n], got[n], case.rtol, case.atol) for n in case.expected)
    return "ok" if ok and list(got) == list(case.expected) else "mismatch"


@pytest.fixture(scope="module")
def outcomes(server: NexonProcess) -> Iterator[list[Outcome]]:
    results = []
    options = [("grpc.max_receive_message_length", 256 << 20), ("grpc.max_send_message_length", 256 << 20)]
    with httpx.Client(base_url=server.http_url, timeout=120) as client, \
            grpc.insecure_channel(server.grpc_target, options) as channel:
        for case in one_input_cases():
            outcome = Outcome(case, ort_direct(case))
            deployed = client.post("/deployment/deploy-file/", files={"file": (case.filename, case.model)})
            assert deployed.status_code < 500, deployed.text
            if deployed.status_code == 200:
                outcome.rest = via_rest(client, case)
                outcome.grpc = via_grpc(channel, case)
            else:
                outcome.rest = outcome.grpc = f"deploy {deployed.status_code}"
                outcome.notes.append(deployed.json()["detail"])
            results.append(outcome)
    yield results


def test_print_conformance_table(outcomes: list[Outcome]) -> None:
    print("\nNEXON endpoints on onnx backend cases with one required input")
    print(f"{'suite':<20}{'cases':>6}{'ORT ok':>8}{'REST ok':>9}{'gRPC ok':>9}{'gRPC n/a':>10}")
    for suite in SUITES:
        rows = [o for o in outcomes if o.case.suite == suite]
        print(f"{suite:<20}{len(rows):>6}{sum(o.ort_ok for o in rows):>8}"
              f"{sum(o.rest == 'ok' for o in rows):>9}{sum(o.grpc == 'ok' for o in rows):>9}"
              f"{sum(o.grpc == 'n/a' for o in rows):>10}")
    print("non-ok outcomes:", dict(Counter((o.rest, o.grpc) for o in outcomes if o.rest != "ok")))
    assert len(outcomes) > 100  # 125 in onnx 1.23: guards against silently losing cases


def test_rest_matches_wherever_ort_does(outcomes: list[Outcome]) -> None:
    failed = [(o.case.filename, o.rest) for o in outcomes if o.ort_ok and o.rest != "ok"]
    assert failed == []


def test_grpc_matches_wherever_ort_does(outcomes: list[Outcome]) -> None:
    failed = [(o.case.filename, o.grpc) for o in outcomes if o.ort_ok and o.grpc not in ("ok", "n/a")]
    assert failed == []
    assert sum(o.grpc == "ok" for o in outcomes) > 80


def test_no_case_is_a_server_error(outcomes: list[Outcome]) -> None:
    assert [o.case.filename for o in outcomes if "500" in (o.rest, o.grpc) or "INTERNAL" in (o.rest, o.grpc)] == []
