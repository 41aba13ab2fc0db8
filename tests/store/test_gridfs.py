"""What only the GridFS store has: change-stream detection, orphans found by `nexon store gc`."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from bson.objectid import ObjectId
from pymongo import MongoClient

from nexon.store.base import ModelStore
from nexon.store.gridfs import GridFSStore
from tests.store.conftest import Mongo
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
    first = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    # The orphan may go in the start-up sweep that opening the store runs, or in gc proper.
    assert re.match(r"removed [01] orphan\(s\) from ", first.stdout), first.stdout
    assert _orphans(store_uri) == 0
    second = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert second.stdout.startswith("removed 0 orphan(s)")


def test_store_gc_command_without_a_server_says_so(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "nexon", "store", "gc", "--store", "mongodb://u:pw@127.0.0.1:1/x"]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"NEXON_MONGO_TIMEOUT": "0.5", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert "store gc on mongodb://u:***@127.0.0.1:1/x failed: model store unavailable" in done.stderr
