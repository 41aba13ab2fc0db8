"""gc on either store sweeps its staging directory of what killed uploads and cold loads left."""

from __future__ import annotations

import os
import time

from nexon.executor import BlockingExecutor
from nexon.store.base import ModelStore
from tests.store.helpers import staged


async def test_gc_removes_stale_new_and_load_copies_and_keeps_fresh_ones(
        store: ModelStore, executor: BlockingExecutor) -> None:
    await store.ping()
    directory = store.staging_dir
    old = time.time() - 11 * 60
    stale = [directory / "upload-killed.new", directory / "load-killed.onnx"]
    fresh = [directory / "upload-starting.new", directory / "load-building.onnx"]
    for path in (*stale, *fresh):
        path.write_bytes(b"left behind")
    for path in stale:
        os.utime(path, (old, old))
    running = await staged(store, executor, b"still uploading")
    os.utime(running.path, (old, old))  # locked: however old, a live upload's file stays
    assert await store.gc() == 2
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in fresh] == [True, True]
    assert running.path.exists()
    running.discard()
