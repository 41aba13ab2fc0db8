"""What only the GridFS store has: change-stream detection, orphans found by `nexon store gc`,
version counters seeded for databases from before them."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bson.objectid import ObjectId
from pymongo import MongoClient

from nexon.config import Settings
from nexon.errors import StoreUnavailable
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelStore
from nexon.store.factory import open_store
from nexon.store.gridfs import GridFSStore
from tests.store.conftest import Mongo
from tests.store.helpers import SIGNATURE, staged
from tests.support.server import ROOT


async def test_change_detection_mode_matches_the_server(store: ModelStore, mongo: Mongo) -> None:
    if not isinstance(store, GridFSStore):
        assert (await store.change_marker()).isdigit()  # the local store's generation counter
        return
    for _ in range(100):
        if store.watcher.supported is not None:
            break
        await asyncio.sleep(0.05)
    if mongo.server is not None:  # mongoeco refuses $changeStream: the store polls
        assert store.watcher.supported is False
        assert (await store.change_marker()).startswith("poll:")
    else:
        assert store.watcher.supported in (True, False)


def _orphans(store_uri: str) -> int:
    if store_uri.startswith("mongodb"):
        with MongoClient(store_uri, serverSelectionTimeoutMS=5000) as client:
            return int(client.get_default_database()["fs.chunks"].count_documents({}))
    return len(list((Path(store_uri.removeprefix("file://")) / "blobs").iterdir()))


def test_store_gc_command_removes_orphans(store_uri: str, tmp_path: Path) -> None:
    if store_uri.startswith("mongodb"):
        with MongoClient(store_uri, serverSelectionTimeoutMS=5000) as client:
            db = client.get_default_database()
            db["fs.chunks"].insert_one({"files_id": ObjectId(), "n": 0, "data": b"orphan"})
    else:
        blobs = Path(store_uri.removeprefix("file://")) / "blobs"
        blobs.mkdir(parents=True)
        (blobs / ("0" * 64)).write_bytes(b"orphan")
    assert _orphans(store_uri) == 1
    run = [sys.executable, "-m", "nexon", "store", "gc", "--store", store_uri]
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its own staging dir: only this test's orphans count
    first = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    # The orphan may go in the start-up sweep that opening the store runs, or in gc proper.
    assert re.match(r"removed [01] orphan\(s\) from ", first.stdout), first.stdout
    assert _orphans(store_uri) == 0
    second = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert second.stdout.startswith("removed 0 orphan(s)")


def test_store_gc_command_without_a_server_says_so(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "nexon", "store", "gc", "--store", "mongodb://u:pw@127.0.0.1:1/x"]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"NEXON_MONGO_TIMEOUT": "0.5", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert "store gc on mongodb://u:***@127.0.0.1:1/x failed: model store unavailable" in done.stderr


@pytest.fixture
async def replicas(mongo: Mongo, executor: BlockingExecutor, tmp_path: Path
                   ) -> AsyncIterator[tuple[str, GridFSStore, GridFSStore]]:
    """Two GridFS stores on one fresh database, the way two replicas reach it."""
    uri = mongo.fresh_uri("v")
    opened: list[GridFSStore] = []
    for _ in range(2):
        store = await open_store(Settings(store_uri=uri, mongo_timeout_s=3), executor)
        assert isinstance(store, GridFSStore)
        store.staging_dir = tmp_path / "staging"
        store.staging_dir.mkdir(exist_ok=True)
        await store.ping()
        opened.append(store)
    yield uri, opened[0], opened[1]
    for store in opened:
        await store.close()


def _counters(uri: str) -> dict[str, int]:
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        return {d["_id"]: d["last"] for d in client.get_default_database()["versions"].find({})}


def _set_counters(uri: str, **last: int | None) -> None:
    with MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        versions = client.get_default_database()["versions"]
        for name, value in last.items():
            if value is None:
                versions.delete_one({"_id": name})
            else:
                versions.update_one({"_id": name}, {"$set": {"last": value}})


async def _put(store: GridFSStore, executor: BlockingExecutor, data: bytes) -> int:
    return (await store.put("x.onnx", await staged(store, executor, data), SIGNATURE)).version


async def test_a_database_without_counters_seeds_them_from_the_highest_version(
        replicas: tuple[str, GridFSStore, GridFSStore], executor: BlockingExecutor) -> None:
    uri, store, _ = replicas
    assert [await _put(store, executor, bytes([i])) for i in range(3)] == [1, 2, 3]
    assert _counters(uri) == {"x.onnx": 3}
    _set_counters(uri, **{"x.onnx": None})  # as a database written before counters looks
    assert await _put(store, executor, b"four") == 4
    assert _counters(uri) == {"x.onnx": 4}
    await store.delete((await store.find("x.onnx", 4)).id)
    assert await _put(store, executor, b"five") == 5  # the seeded counter holds from now on


async def test_concurrent_uploads_seeding_one_counter_take_consecutive_versions(
        replicas: tuple[str, GridFSStore, GridFSStore], executor: BlockingExecutor) -> None:
    uri, store, twin = replicas
    assert [await _put(store, executor, bytes([i])) for i in range(2)] == [1, 2]
    _set_counters(uri, **{"x.onnx": None})
    files = [await staged(store, executor, b"seed %d" % i) for i in range(12)]
    records = await asyncio.gather(*((store if i % 2 else twin).put("x.onnx", f, SIGNATURE)
                                     for i, f in enumerate(files)))
    assert sorted(r.version for r in records) == list(range(3, 15))
    assert _counters(uri) == {"x.onnx": 14}


async def test_a_counter_behind_the_records_skips_the_numbers_they_hold(
        replicas: tuple[str, GridFSStore, GridFSStore], executor: BlockingExecutor) -> None:
    uri, store, _ = replicas
    assert [await _put(store, executor, bytes([i])) for i in range(3)] == [1, 2, 3]
    _set_counters(uri, **{"x.onnx": 1})  # versions 2 and 3 written without the counter knowing
    assert await _put(store, executor, b"four") == 4
    assert [r.version for r in await store.list(name="x.onnx")] == [1, 2, 3, 4]


async def test_an_upload_failing_before_its_record_takes_no_number(
        replicas: tuple[str, GridFSStore, GridFSStore], executor: BlockingExecutor) -> None:
    uri, store, _ = replicas
    assert await _put(store, executor, b"one") == 1
    broken = await staged(store, executor, b"two")
    broken.path.write_bytes(b"owt")  # the bytes no longer match their hash: storing them fails
    with pytest.raises(StoreUnavailable, match="changed while it was stored"):
        await store.put("x.onnx", broken, SIGNATURE)
    assert _counters(uri) == {"x.onnx": 1}
    assert await _put(store, executor, b"two") == 2
