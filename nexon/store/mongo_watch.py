"""Change detection for the GridFS store: a change stream where the server has one, else a poll.

With a change stream open on `models`, the marker is a counter in memory, bumped per event:
other replicas' writes arrive as events and no query runs at all. Standalone servers (and
mongoeco) refuse `$changeStream`; then the store polls two cheap documents instead (the
generation counter and the ids of deployed records), once per orchestrator sync.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure, PyMongoError

log = logging.getLogger("nexon.store.gridfs")

RETRY_S = 1.0
RETRY_MAX_S = 30.0


class ChangeWatcher:
    def __init__(self, models: AsyncCollection[dict[str, Any]]) -> None:
        self._models = models
        self._task: asyncio.Task[None] | None = None
        self.supported: bool | None = None  # None until the server has answered once
        self._live = False
        self._epoch = 0
        self._events = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="nexon-mongo-change-stream")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def marker(self) -> str | None:
        """The in-memory marker while a stream is open; None means: poll the database."""
        return f"stream:{self._epoch}:{self._events}" if self._live else None

    async def _run(self) -> None:
        delay = RETRY_S
        while True:
            try:
                async with await self._models.watch(max_await_time_ms=500) as stream:
                    # A new epoch per open stream: changes missed while it was down force a reload.
                    self._epoch += 1
                    self.supported = self._live = True
                    delay = RETRY_S
                    async for _ in stream:
                        self._events += 1
            except OperationFailure as exc:
                if self.supported is None:
                    self.supported = False
                    log.info("MongoDB offers no change streams (code %s); polling the change marker", exc.code)
                    return
                log.debug("change stream refused (code %s); polling until it reopens", exc.code)
            except PyMongoError as exc:
                log.debug("change stream lost (%s); polling until it reopens", type(exc).__name__)
            except Exception:
                log.exception("change stream failed; polling until it reopens")
            finally:
                # However the stream ends (cancelled too), a marker from it no longer tracks the store.
                self._live = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
