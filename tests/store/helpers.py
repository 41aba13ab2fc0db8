"""Staging bytes the way an upload does, for store-level tests."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from nexon.core.signature import Signature, TensorSpec
from nexon.core.staging import StagedFile, stage
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelStore

SIGNATURE = Signature(
    inputs=(TensorSpec("x", "tensor(float)", ("N", 3)),),
    outputs=(TensorSpec("y", "tensor(float)", ("N", 3)),),
)


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def staged(store: ModelStore, executor: BlockingExecutor, data: bytes) -> StagedFile:
    return await stage(_chunks(data), store.staging_dir, 1 << 31, executor)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def put(store: ModelStore, executor: BlockingExecutor, name: str, data: bytes) -> object:
    return await store.put(name, await staged(store, executor, data), SIGNATURE)
