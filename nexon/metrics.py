"""Prometheus metrics for one process: cache counters and per-protocol request counts."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from nexon.core.cache import SessionCache

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _CacheCollector(Collector):
    def __init__(self, cache: SessionCache) -> None:
        self._cache = cache

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        stats = self._cache.stats
        for name, value, help_text in (
            ("hits", stats.hits, "Session cache lookups that found a loaded session"),
            ("misses", stats.misses, "Session cache lookups that had to load or wait for a load"),
            ("loads", stats.loads, "Sessions loaded into the cache"),
            ("load_failures", stats.load_failures, "Session loads that failed"),
            ("evictions", stats.evictions, "Sessions dropped from the cache (LRU, bytes, TTL, undeploy)"),
        ):
            yield CounterMetricFamily(f"nexon_cache_{name}", help_text, value=value)
        yield GaugeMetricFamily("nexon_cache_sessions", "Sessions in the cache", value=len(self._cache))
        yield GaugeMetricFamily(
            "nexon_cache_bytes", "Model bytes held by cached sessions", value=self._cache.total_bytes
        )


class Metrics:
    def __init__(self, cache: SessionCache) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_CacheCollector(cache))
        self.requests = Counter(
            "nexon_requests", "Requests handled", ["protocol", "method", "code"], registry=self.registry
        )
        self.latency = Histogram(
            "nexon_request_seconds", "Request latency", ["protocol", "method"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def observe(self, protocol: str, method: str, code: str, seconds: float) -> None:
        self.requests.labels(protocol, method, code).inc()
        self.latency.labels(protocol, method).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
