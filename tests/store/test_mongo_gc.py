"""GridFS gc beside deletes and leases: it never frees bytes a record still uses."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, tzinfo

import pytest

from nexon.executor import BlockingExecutor
from nexon.store import gridfs as gridfs_module
from nexon.store.base import ModelRecord
from nexon.store.gridfs import GridFSStore
from tests.store.helpers import SIGNATURE, sha, staged


async def put(store: GridFSStore, executor: BlockingExecutor, name: str, data: bytes) -> ModelRecord:
    return await store.put(name, await staged(store, executor, data), SIGNATURE)


async def test_gc_between_a_deletes_two_writes_keeps_the_shared_bytes(
        gridfs: GridFSStore, executor: BlockingExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"shared by two records"
    first = await put(gridfs, executor, "a.onnx", data)
    second = await put(gridfs, executor, "b.onnx", data)
    release = gridfs._release_blob
    collected: list[int] = []

    async def gc_then_release(sha256: str) -> None:
        # The record is gone, its count not yet lowered: gc runs in exactly this gap.
        collected.append(await gridfs.gc())
        await release(sha256)

    monkeypatch.setattr(gridfs, "_release_blob", gc_then_release)
    await gridfs.delete(first.id)
    assert collected == [0]
    blob = await gridfs._blobs.find_one({"_id": sha(data)})
    assert blob is not None and blob["refs"] == 1
    assert await gridfs.read(await gridfs.get(second.id)) == data
    monkeypatch.undo()
    await gridfs.delete(second.id)
    assert await gridfs._blobs.find_one({"_id": sha(data)}) is None
    assert await gridfs._db["fs.files"].count_documents({}) == 0


class _TwoHoursAhead(datetime):
    """The clock of a gc host running two hours fast."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _TwoHoursAhead:
        ahead = datetime.now(tz) + timedelta(hours=2)
        return cls.fromtimestamp(ahead.timestamp(), tz)


async def test_a_gc_host_with_a_fast_clock_keeps_a_live_lease(
        gridfs: GridFSStore, monkeypatch: pytest.MonkeyPatch) -> None:
    async with gridfs._lease("0" * 64) as lease_id:  # a live upload's lease, written by another host
        monkeypatch.setattr(gridfs_module, "datetime", _TwoHoursAhead)
        assert await gridfs.gc() == 0
        lease = await gridfs._uploads.find_one({"_id": lease_id})
        assert lease is not None and lease["sha256"] == "0" * 64


async def test_a_lease_stale_by_the_servers_clock_is_collected(gridfs: GridFSStore) -> None:
    gridfs.lease_ttl_s = 0.2
    gridfs._heartbeat_s = 60.0  # the upload stalls: no beat refreshes the lease
    async with gridfs._lease("1" * 64) as lease_id:
        assert await gridfs.gc() == 0
        assert await gridfs._uploads.count_documents({"_id": lease_id}) == 1
        await asyncio.sleep(0.5)
        await gridfs.gc()
        assert await gridfs._uploads.count_documents({"_id": lease_id}) == 0
