"""The in-process session cache: LRU by count and by bytes, idle TTL, one load per key.

Keys are content hashes (SHA-256), so a redeployed version never serves stale weights.
Eviction only drops the cache's reference: a request already holding a session keeps it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nexon.core.runtime import LoadedModel


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    loads: int = 0
    load_failures: int = 0
    evictions: int = 0


@dataclass
class _Entry:
    model: LoadedModel
    last_used: float


class SessionCache:
    def __init__(
        self,
        max_models: int,
        max_bytes: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_models = max_models
        self._max_bytes = max_bytes
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._loading: dict[str, asyncio.Future[LoadedModel]] = {}
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    @property
    def total_bytes(self) -> int:
        return sum(e.model.size_bytes for e in self._entries.values())

    async def get(self, key: str, load: Callable[[], Awaitable[LoadedModel]]) -> LoadedModel:
        """The session for `key`, loading it with `load()` once however many callers wait."""
        self._expire()
        entry = self._entries.get(key)
        if entry is not None:
            self.stats.hits += 1
            entry.last_used = self._clock()
            self._entries.move_to_end(key)
            return entry.model
        self.stats.misses += 1
        task = self._loading.get(key)
        if task is None:
            # The load is its own task: a cancelled caller does not cancel it for the others.
            task = asyncio.ensure_future(self._load(key, load))
            task.add_done_callback(_consume_exception)
            self._loading[key] = task
        return await asyncio.shield(task)

    async def _load(self, key: str, load: Callable[[], Awaitable[LoadedModel]]) -> LoadedModel:
        try:
            model = await load()
        except Exception:
            self.stats.load_failures += 1
            raise
        finally:
            self._loading.pop(key, None)
        self.stats.loads += 1
        self._entries[key] = _Entry(model, self._clock())
        self._shrink()
        return model

    def evict(self, key: str) -> bool:
        if self._entries.pop(key, None) is None:
            return False
        self.stats.evictions += 1
        return True

    def _expire(self) -> None:
        if self._ttl_s <= 0:
            return
        deadline = self._clock() - self._ttl_s
        for key in [k for k, e in self._entries.items() if e.last_used < deadline]:
            self.evict(key)

    def _shrink(self) -> None:
        # Keep the newest entry even if it alone exceeds the byte budget: it is in use.
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_models or self.total_bytes > self._max_bytes
        ):
            self.evict(next(iter(self._entries)))


def _consume_exception(task: asyncio.Future[LoadedModel]) -> None:
    if not task.cancelled():
        task.exception()
