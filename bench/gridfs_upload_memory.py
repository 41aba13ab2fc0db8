"""Peak memory of one large upload into the GridFS store (staging + put), in this process.

    .venv/bin/python -m bench.gridfs_upload_memory [MIB] [--uri mongodb://...]

Without --uri it starts a mongoeco server (tests/support/mongo.py). Prints the process's peak
RSS (VmHWM) before staging, after staging and after `put`, and the throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from nexon.config import Settings
from nexon.core.staging import stage
from nexon.executor import BlockingExecutor
from nexon.store.gridfs import open_gridfs
from tests.store.helpers import SIGNATURE
from tests.support.mongo import MongoecoServer

MIB = 1024 * 1024


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


async def run(mib: int, uri: str) -> None:
    executor = BlockingExecutor(4)
    store = await open_gridfs(Settings(store_uri=uri, mongo_timeout_s=30), executor, collect_at_start=False)
    await store.ping()
    block = os.urandom(MIB)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(mib):
            yield block[:-8] + i.to_bytes(8, "big")

    print(f"peak RSS before staging: {peak_rss_mib():.0f} MiB", flush=True)
    started = time.monotonic()
    staged = await stage(chunks(), store.staging_dir, 1 << 40, executor)
    print(f"peak RSS after staging {mib} MiB: {peak_rss_mib():.0f} MiB ({time.monotonic() - started:.1f} s)",
          flush=True)
    started = time.monotonic()
    record = await store.put("big.onnx", staged, SIGNATURE)
    elapsed = time.monotonic() - started
    print(f"peak RSS after put: {peak_rss_mib():.0f} MiB; put took {elapsed:.1f} s "
          f"({mib / elapsed:.1f} MiB/s); record version {record.version}, {record.size_bytes} bytes", flush=True)
    await store.delete(record.id)
    await store.close()
    executor.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mib", type=int, nargs="?", default=1024)
    parser.add_argument("--uri")
    args = parser.parse_args()
    server = None
    uri = args.uri
    if uri is None:
        server = MongoecoServer(Path(tempfile.mkdtemp(prefix="nexon-bench-"))).start()
        uri = server.uri("bench")
    try:
        asyncio.run(run(args.mib, uri))
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
