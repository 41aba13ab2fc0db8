"""kill -9 in the middle of an upload leaves no visible model, and gc collects what it left;
gc running beside a live upload in another process takes nothing from it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

from pymongo import MongoClient

from nexon.executor import BlockingExecutor
from nexon.store.base import ModelStore
from nexon.store.gridfs import GridFSStore
from tests.support.server import ROOT

LEASE_TTL_S = 2.0  # upload_child beats every 0.3 s


def _child(store: ModelStore, uri: str, mib: int, slow: bool) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tests.store.upload_child", uri, str(store.staging_dir), str(mib)]
    if slow:
        cmd.append("--slow")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _partial_upload_exists(store: ModelStore, uri: str) -> bool:
    """Bytes of an upload are on their way: GridFS chunks, or a non-empty staging file."""
    if isinstance(store, GridFSStore):
        with MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
            return client.get_default_database()["fs.chunks"].find_one({}, {"_id": 1}) is not None
    return any(p.stat().st_size > 0 for p in store.staging_dir.glob("upload-*.part"))


def _leftovers(store: ModelStore, uri: str) -> int:
    if isinstance(store, GridFSStore):
        with MongoClient(uri, serverSelectionTimeoutMS=3000) as client:
            db = client.get_default_database()
            return sum(db[c].count_documents({}) for c in ("fs.chunks", "fs.files", "uploads", "blobs"))
    return len(list(store.staging_dir.glob("upload-*"))) + len(list((store.staging_dir.parent / "blobs").iterdir()))


async def _wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_kill_mid_upload_then_gc(store: ModelStore, store_uri: str, executor: BlockingExecutor) -> None:
    if isinstance(store, GridFSStore):
        store.lease_ttl_s = LEASE_TTL_S
    child = _child(store, store_uri, mib=96, slow=not isinstance(store, GridFSStore))
    try:
        await _wait_for(lambda: child.poll() is not None or _partial_upload_exists(store, store_uri))
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert await store.list() == []  # no visible model
    left = _leftovers(store, store_uri)
    assert left > 0  # but orphan bytes
    if isinstance(store, GridFSStore):
        await store.gc()  # takes the dead staging file, but not the chunks: their lease is still fresh
        assert _leftovers(store, store_uri) == left
        await asyncio.sleep(LEASE_TTL_S + 0.2)
    assert await store.gc() >= 1
    assert _leftovers(store, store_uri) == 0
    assert list(store.staging_dir.iterdir()) == []
    assert await store.list() == []


async def test_gc_beside_a_live_upload_takes_nothing(
        store: ModelStore, store_uri: str, executor: BlockingExecutor) -> None:
    if isinstance(store, GridFSStore):
        store.lease_ttl_s = LEASE_TTL_S
    mib = 64
    child = _child(store, store_uri, mib=mib, slow=not isinstance(store, GridFSStore))
    runs = 0
    started = time.monotonic()
    while child.poll() is None:
        assert await store.gc() == 0
        runs += 1
        await asyncio.sleep(0.1)
    out, err = child.communicate()
    assert child.returncode == 0, err.decode()
    if isinstance(store, GridFSStore):
        assert time.monotonic() - started > LEASE_TTL_S  # the upload outlived a lease: heartbeats kept it
    assert runs >= 5
    stored = json.loads(out.decode().splitlines()[-1])
    record = await store.get(stored["id"])
    assert record.sha256 == stored["sha256"] and record.size_bytes == mib * 1024 * 1024
    assert hashlib.sha256(await store.read(record)).hexdigest() == stored["sha256"]
    assert await store.gc() == 0

