"""SessionCache: LRU by count and bytes, idle TTL, one load per key, safe eviction."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import numpy as np
import pytest

from nexon.core.cache import SessionCache
from nexon.core.runtime import LoadedModel, OrtRuntime, RuntimeOptions
from tests.support import models

RUNTIME = OrtRuntime(RuntimeOptions())


def loaded(factor: float = 2.0) -> LoadedModel:
    with tempfile.NamedTemporaryFile(suffix=".onnx") as f:
        f.write(models.scale(factor))
        f.flush()
        return RUNTIME.load(Path(f.name))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def loader(model: LoadedModel, calls: list[str], key: str, delay: float = 0.0):  # type: ignore[no-untyped-def]
    async def load() -> LoadedModel:
        calls.append(key)
        await asyncio.sleep(delay)
        return model

    return load


async def test_hit_after_miss_and_counters() -> None:
    cache = SessionCache(4, 10**9, 0)
    calls: list[str] = []
    model = loaded()
    assert await cache.get("a", loader(model, calls, "a")) is model
    assert await cache.get("a", loader(model, calls, "a")) is model
    assert calls == ["a"]
    assert (cache.stats.hits, cache.stats.misses, cache.stats.loads) == (1, 1, 1)


async def test_lru_by_count_evicts_least_recently_used() -> None:
    cache = SessionCache(2, 10**9, 0)
    calls: list[str] = []
    m = loaded()
    await cache.get("a", loader(m, calls, "a"))
    await cache.get("b", loader(m, calls, "b"))
    await cache.get("a", loader(m, calls, "a"))  # a is now newest
    await cache.get("c", loader(m, calls, "c"))
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.stats.evictions == 1


async def test_lru_by_bytes() -> None:
    m = loaded()
    cache = SessionCache(100, m.size_bytes * 2, 0)
    calls: list[str] = []
    for key in ("a", "b", "c"):
        await cache.get(key, loader(m, calls, key))
    assert len(cache) == 2 and "a" not in cache
    assert cache.total_bytes == 2 * m.size_bytes


async def test_idle_ttl_expires_entries() -> None:
    clock = Clock()
    cache = SessionCache(10, 10**9, ttl_s=60, clock=clock)
    calls: list[str] = []
    m = loaded()
    await cache.get("a", loader(m, calls, "a"))
    clock.now = 59
    await cache.get("a", loader(m, calls, "a"))  # used: idle time restarts
    clock.now = 118
    await cache.get("a", loader(m, calls, "a"))
    assert calls == ["a"]
    clock.now = 179
    await cache.get("a", loader(m, calls, "a"))
    assert calls == ["a", "a"] and cache.stats.evictions == 1


async def test_one_load_under_concurrency() -> None:
    cache = SessionCache(4, 10**9, 0)
    calls: list[str] = []
    m = loaded()
    results = await asyncio.gather(*(cache.get("k", loader(m, calls, "k", delay=0.05)) for _ in range(20)))
    assert calls == ["k"] and all(r is m for r in results)
    assert cache.stats.loads == 1


async def test_a_failed_load_is_reported_to_every_waiter_and_retried_later() -> None:
    cache = SessionCache(4, 10**9, 0)
    attempts = 0

    async def failing() -> LoadedModel:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("disk on fire")

    outcomes = await asyncio.gather(*(cache.get("k", failing) for _ in range(5)), return_exceptions=True)
    assert attempts == 1 and all(isinstance(o, RuntimeError) for o in outcomes)
    assert cache.stats.load_failures == 1
    m = loaded()
    assert await cache.get("k", loader(m, [], "k")) is m


async def test_cancelled_caller_does_not_cancel_the_shared_load() -> None:
    cache = SessionCache(4, 10**9, 0)
    calls: list[str] = []
    m = loaded()
    first = asyncio.create_task(cache.get("k", loader(m, calls, "k", delay=0.1)))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(cache.get("k", loader(m, calls, "k")))
    first.cancel()
    assert await second is m and calls == ["k"]


async def test_evicting_a_session_in_use_does_not_break_its_request() -> None:
    cache = SessionCache(1, 10**9, 0)
    m = loaded(3.0)
    held = await cache.get("a", loader(m, [], "a"))
    await cache.get("b", loader(loaded(), [], "b"))  # evicts a
    assert "a" not in cache
    out = held.run({"x": np.ones((1, 3), dtype=np.float32)})
    np.testing.assert_array_equal(out[0], np.full((1, 3), 3.0, dtype=np.float32))


@pytest.mark.parametrize("max_models", [1, 3])
async def test_never_holds_more_than_max_models(max_models: int) -> None:
    cache = SessionCache(max_models, 10**9, 0)
    m = loaded()
    for i in range(6):
        await cache.get(str(i), loader(m, [], str(i)))
        assert len(cache) <= max_models
