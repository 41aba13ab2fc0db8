"""Latency and throughput of NEXON's REST and gRPC inference against the raw ONNX Runtime floor.

    .venv/bin/python bench/inference.py [--requests 2000] [--concurrency 8]

Starts a real `nexon serve` on loopback, deploys two models (a tiny Mul and the onnx wheel's
light_resnet50), and for each prints p50/p99 latency and sequential / concurrent throughput
for: ORT `session.run` in this process (the floor), REST /inference/infer (JSON), and gRPC
Predict (raw bytes), with every figure as a ratio to the floor measured in the same run.
All traffic is loopback and bounded by --requests.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
from grpclib.client import Channel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nexon.stubs import nexon_inference_pb2 as pb
from nexon.stubs.nexon_inference_grpc import InferenceServiceStub
from tests.support import models
from tests.support.server import NexonProcess


def summary(latencies: list[float], wall: float) -> tuple[float, float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1], len(ordered) / wall


async def measure(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - started)

    for _ in range(min(20, n)):
        await call()  # warm-up
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(latencies, time.perf_counter() - started)


def measure_ort(session: ort.InferenceSession, feeds: dict[str, np.ndarray], n: int) -> tuple[float, float, float]:
    for _ in range(min(20, n)):
        session.run(None, feeds)
    latencies = []
    started = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        session.run(None, feeds)
        latencies.append(time.perf_counter() - t)
    return summary(latencies, time.perf_counter() - started)


async def bench_model(server: NexonProcess, name: str, path: Path, x: np.ndarray, n: int, concurrency: int) -> None:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    floor = measure_ort(session, {session.get_inputs()[0].name: x}, n)
    body = {"input": x.tolist()}
    request = pb.PredictRequest(model_name=name, input=pb.RequestTensor(
        dims=list(x.shape), tensor_content=x.tobytes(), data_type=pb.DT_FLOAT32))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.http_url, timeout=120, limits=limits) as client:
        channel = Channel("127.0.0.1", server.grpc_port)
        stub = InferenceServiceStub(channel)

        async def rest() -> object:
            response = await client.post(f"/inference/infer/{name}", json=body)
            assert response.status_code == 200, response.text
            return response.json()

        async def grpc() -> object:
            return await stub.Predict(request)

        rows = [("ORT direct (floor)", floor)]
        for label, call in (("REST JSON", rest), ("gRPC Predict", grpc)):
            rows.append((f"{label} x1", await measure(call, n, 1)))
            rows.append((f"{label} x{concurrency}", await measure(call, n, concurrency)))
        channel.close()
    print(f"\n{name}: input {list(x.shape)} float32, {n} requests per row")
    print(f"{'path':<24}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'p50/floor':>11}{'req/s / floor':>15}")
    for label, (p50, p99, rps) in rows:
        print(f"{label:<24}{p50 * 1e3:>9.3f}{p99 * 1e3:>9.3f}{rps:>9.0f}{p50 / floor[0]:>11.1f}{rps / floor[2]:>15.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--heavy-requests", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nexon-bench-"))
    tiny = work / "tiny.onnx"
    tiny.write_bytes(models.scale(2.0))
    resnet = models.light_model("resnet50")
    server = NexonProcess(work / "server").start()
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=120) as client:
            for path in (tiny, resnet):
                response = await client.post("/deployment/deploy-file/", files={"file": (path.name, path.read_bytes())})
                assert response.status_code == 200, response.text
        rng = np.random.default_rng(0)
        await bench_model(server, "tiny.onnx", tiny, rng.random((1, 3), dtype=np.float32),
                          args.requests, args.concurrency)
        await bench_model(server, "light_resnet50.onnx", resnet, rng.random((1, 3, 224, 224), dtype=np.float32),
                          args.heavy_requests, min(args.concurrency, 4))
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
