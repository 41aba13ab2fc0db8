"""Every onnx backend case (simple, pytorch-converted, pytorch-operator, light) through each V2 path.

ORT run directly is the reference: wherever it matches a case's expected outputs, REST JSON,
REST binary and gRPC must match them too; where it does not, the servers must still answer
with a clear 4xx / gRPC status, never an internal error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from tritonclient.utils import InferenceServerException

from tests.support.backend_cases import SUITES, Case, load_cases, matches
from tests.support.server import NexonProcess
from tests.v2.support import PROTOCOLS, infer

SERVER_ERRORS = ("500", "StatusCode.INTERNAL", "StatusCode.UNKNOWN")


@dataclass
class Outcome:
    case: Case
    ort_ok: bool = False
    ort_error: str = ""
    deployed: bool = False
    results: dict[str, str] = field(default_factory=dict)  # protocol -> "ok" | "mismatch" | error status


def _ort_direct(case: Case) -> tuple[bool, str]:
    try:
        session = ort.InferenceSession(case.model, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        values = session.run(names, case.inputs)
    except Exception as exc:
        return False, type(exc).__name__
    return all(matches(case.expected[n], v, case.rtol, case.atol) for n, v in zip(names, values, strict=True)), ""


def _through(protocol: str, server: NexonProcess, case: Case) -> str:
    outputs = list(case.expected)
    try:
        got = infer(protocol, server, case.filename, case.inputs, outputs)
    except InferenceServerException as exc:
        return str(exc.status())
    return "ok" if all(matches(case.expected[n], got[n], case.rtol, case.atol) for n in outputs) else "mismatch"


@pytest.fixture(scope="module")
def outcomes(server: NexonProcess) -> Iterator[list[Outcome]]:
    results: list[Outcome] = []
    for case in load_cases():
        outcome = Outcome(case)
        outcome.ort_ok, outcome.ort_error = _ort_direct(case)
        response = httpx.post(f"{server.http_url}/deployment/deploy-file/",
                              files={"file": (case.filename, case.model)}, timeout=120)
        assert response.status_code < 500, response.text
        outcome.deployed = response.status_code == 200
        if outcome.deployed:
            for protocol in PROTOCOLS:
                outcome.results[protocol] = _through(protocol, server, case)
        results.append(outcome)
    yield results


def _table(outcomes: list[Outcome]) -> str:
    head = f"{'suite':<20}{'cases':>7}{'ORT direct':>12}" + "".join(f"{p:>13}" for p in PROTOCOLS)
    lines = [head, "-" * len(head)]
    for suite in (*SUITES, "total"):
        rows = [o for o in outcomes if suite in ("total", o.case.suite)]
        cells = [sum(o.results.get(p) == "ok" for o in rows) for p in PROTOCOLS]
        lines.append(f"{suite:<20}{len(rows):>7}{sum(o.ort_ok for o in rows):>12}" + "".join(f"{c:>13}" for c in cells))
    misses = [f"  {o.case.suite}/{o.case.name}: ORT {'ok' if o.ort_ok else o.ort_error or 'mismatch'}, "
              + ", ".join(f"{p} {o.results.get(p, 'not deployed')}" for p in PROTOCOLS)
              for o in outcomes if not o.ort_ok or any(o.results.get(p) != "ok" for p in PROTOCOLS)]
    return "\n".join([*lines, *(["not matching everywhere:", *misses] if misses else [])])


def test_conformance_table(outcomes: list[Outcome]) -> None:
    print("\nV2 conformance against the onnx backend test data\n" + _table(outcomes))
    assert len(outcomes) == 149  # every case of the four suites in the installed onnx wheel
    assert sum(o.ort_ok for o in outcomes) > 100


def test_every_case_ort_matches_matches_on_every_v2_path(outcomes: list[Outcome]) -> None:
    failures = [(o.case.filename, p, o.results.get(p)) for o in outcomes if o.ort_ok
                for p in PROTOCOLS if o.results.get(p) != "ok"]
    assert failures == []


def test_no_case_causes_a_server_error(outcomes: list[Outcome]) -> None:
    errors = [(o.case.filename, p, r) for o in outcomes for p, r in o.results.items() if r in SERVER_ERRORS]
    assert errors == []


def test_protocols_agree_bit_for_bit_on_a_float_model(server: NexonProcess, outcomes: list[Outcome]) -> None:
    case = next(o.case for o in outcomes if o.case.name == "test_single_relu_model")
    got = {p: infer(p, server, case.filename, case.inputs, list(case.expected)) for p in PROTOCOLS}
    reference = got["grpc"][next(iter(case.expected))]
    assert reference.dtype == np.float32
    for values in got.values():
        assert np.array_equal(next(iter(values.values())), reference)
