"""Real Envoy (nexon gateway) in front of real `nexon serve` processes, all on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import GatewayProcess
from tests.support.server import NexonProcess


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Start gateways in front of given servers; all are stopped after the test."""
    started: list[GatewayProcess] = []

    def start(backends: list[NexonProcess], **kwargs: Any) -> GatewayProcess:
        gw = GatewayProcess(tmp_path / f"gw{len(started)}", backends, **kwargs).start()
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()
