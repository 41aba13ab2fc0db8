"""A change watcher that fails falls back to polling, and keeps trying to reopen its stream."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from nexon.executor import BlockingExecutor
from nexon.store import mongo_watch
from nexon.store.gridfs import GridFSStore
from nexon.store.mongo_watch import ChangeWatcher
from tests.store.helpers import SIGNATURE, staged


class _BrokenStream:
    """A change stream that opens, then fails with an error that is not PyMongo's."""

    async def __aenter__(self) -> _BrokenStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> _BrokenStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        raise ValueError("a bug below the driver")


class _Models:
    def __init__(self) -> None:
        self.opened = 0

    async def watch(self, **options: Any) -> _BrokenStream:
        self.opened += 1
        return _BrokenStream()


async def test_a_watcher_that_dies_falls_back_to_polling(
        gridfs: GridFSStore, executor: BlockingExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mongo_watch, "RETRY_S", 0.01)
    await gridfs.watcher.stop()
    models = _Models()
    gridfs.watcher = ChangeWatcher(cast(Any, models))
    gridfs.watcher.start()
    for _ in range(200):
        if models.opened >= 3:
            break
        await asyncio.sleep(0.02)
    assert models.opened >= 3  # it retries after each failure
    assert gridfs.watcher.supported is True and gridfs.watcher.marker is None
    before = await gridfs.change_marker()
    assert before.startswith("poll:")
    await gridfs.put("m.onnx", await staged(gridfs, executor, b"a write"), SIGNATURE)
    after = await gridfs.change_marker()
    assert after.startswith("poll:") and after != before
