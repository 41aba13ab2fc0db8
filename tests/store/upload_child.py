"""A separate process that stages and stores one upload, to be killed (or not) by a test.

    python -m tests.store.upload_child STORE_URI STAGING_DIR MIB [--slow] [--heartbeat S]

Prints {"id", "sha256"} as JSON when the record is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

from nexon.config import Settings
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelStore
from nexon.store.factory import open_store
from nexon.store.gridfs import GridFSStore, open_gridfs
from tests.store.helpers import SIGNATURE

MIB = 1024 * 1024


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("uri")
    parser.add_argument("staging", type=Path)
    parser.add_argument("mib", type=int)
    parser.add_argument("--slow", action="store_true", help="stage at about 20 MiB/s")
    parser.add_argument("--heartbeat", type=float, default=0.3)
    args = parser.parse_args()
    executor = BlockingExecutor(4)
    settings = Settings(store_uri=args.uri, mongo_timeout_s=3)
    store: ModelStore
    if args.uri.startswith("mongodb"):
        store = await open_gridfs(settings, executor, heartbeat_s=args.heartbeat, collect_at_start=False)
        assert isinstance(store, GridFSStore)
        store.staging_dir = args.staging
    else:
        store = await open_store(settings, executor)
    rng = random.Random(7)
    digest = hashlib.sha256()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(args.mib):
            block = rng.randbytes(MIB)
            digest.update(block)
            yield block
            if args.slow:
                await asyncio.sleep(0.05)

    from nexon.core.staging import stage

    staged = await stage(chunks(), store.staging_dir, 1 << 40, executor)
    print("staged", flush=True)
    record = await store.put("big.onnx", staged, SIGNATURE)
    assert record.sha256 == digest.hexdigest()
    print(json.dumps({"id": record.id, "sha256": record.sha256}), flush=True)
    await store.close()
    executor.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
