"""Readiness: is the store answering? Polled on an interval, pushed to listeners (gRPC health)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("nexon.readiness")


class Readiness:
    def __init__(self, probe: Callable[[], Awaitable[bool]], interval_s: float, timeout_s: float) -> None:
        self._probe = probe
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._listeners: list[Callable[[bool], None]] = []
        self.ready = False
        self.draining = False

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        self._listeners.append(listener)
        listener(self.ready)

    async def check(self) -> bool:
        """Probe now, publish the result, and return it."""
        try:
            ok = await asyncio.wait_for(self._probe(), self._timeout_s)
        except Exception:  # a timeout included
            ok = False
        self._publish(ok and not self.draining)
        return self.ready

    def drain(self) -> None:
        """Shutting down: report not ready from now on."""
        self.draining = True
        self._publish(False)

    def _publish(self, ready: bool) -> None:
        if ready != self.ready:
            log.info("readiness: %s", "ready" if ready else "NOT ready")
        self.ready = ready
        for listener in self._listeners:
            listener(ready)

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self._interval_s)
