"""Races the database must settle: versions under concurrent uploads, one winner among deploys.

Half the calls go through a second store opened on the same database (or root), the way a
second replica would reach it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from nexon.config import Settings
from nexon.errors import AlreadyDeployed
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelRecord, ModelStore, Status
from nexon.store.factory import open_store
from tests.store.helpers import SIGNATURE, sha, staged


@pytest.fixture
async def twin(store: ModelStore, store_uri: str, executor: BlockingExecutor, tmp_path: Path
               ) -> AsyncIterator[ModelStore]:
    other = await open_store(Settings(store_uri=store_uri, mongo_timeout_s=3), executor)
    other.staging_dir = store.staging_dir
    yield other
    await other.close()


async def test_twenty_concurrent_uploads_get_versions_1_to_20(
        store: ModelStore, twin: ModelStore, executor: BlockingExecutor) -> None:
    payloads = [os.urandom(50_000 + i) for i in range(20)]
    files = [await staged(store, executor, p) for p in payloads]
    records: list[ModelRecord] = await asyncio.gather(*(
        (store if i % 2 else twin).put("m.onnx", f, SIGNATURE) for i, f in enumerate(files)))
    assert sorted(r.version for r in records) == list(range(1, 21))
    assert [r.version for r in await store.list(name="m.onnx")] == list(range(1, 21))
    sent = {sha(p): p for p in payloads}
    assert {r.sha256 for r in records} == set(sent)
    for record in records:  # each version holds the bytes its upload sent
        assert await twin.read(record) == sent[record.sha256]


async def test_concurrent_uploads_of_identical_bytes_share_one_copy(
        store: ModelStore, twin: ModelStore, executor: BlockingExecutor) -> None:
    data = os.urandom(400_000)
    files = [await staged(store, executor, data) for _ in range(6)]
    records = await asyncio.gather(*((store if i % 2 else twin).put("same.onnx", f, SIGNATURE)
                                     for i, f in enumerate(files)))
    assert sorted(r.version for r in records) == [1, 2, 3, 4, 5, 6]
    assert len({r.file_id for r in records}) == 1
    assert await store.gc() == 0  # the copies that lost the race removed themselves
    for record in records[:-1]:
        await store.delete(record.id)
    assert await store.read(records[-1]) == data


async def test_ten_concurrent_deploys_exactly_one_wins(
        store: ModelStore, twin: ModelStore, executor: BlockingExecutor) -> None:
    records = [await store.put("m.onnx", await staged(store, executor, os.urandom(100) + bytes([i])), SIGNATURE)
               for i in range(10)]
    results = await asyncio.gather(*((store if i % 2 else twin).deploy(r.id, date.today())
                                     for i, r in enumerate(records)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, ModelRecord)]
    losers = [r for r in results if isinstance(r, AlreadyDeployed)]
    assert len(winners) == 1 and len(losers) == 9, results
    deployed = await store.list(status=Status.DEPLOYED)
    assert [r.id for r in deployed] == [winners[0].id]
