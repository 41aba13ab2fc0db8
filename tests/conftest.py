"""Shared fixtures: a real `nexon serve` per test module, and a factory for more."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import NexonProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NexonProcess]:
    """One server on the embedded store, shared by the tests of a module."""
    proc = NexonProcess(tmp_path_factory.mktemp("nexon"), env={"ENABLE_REFLECTION": "1"}).start()
    yield proc
    proc.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., NexonProcess]]:
    """Start extra servers (custom env or store); all are stopped after the test."""
    started: list[NexonProcess] = []

    def start(name: str = "s", **kwargs: Any) -> NexonProcess:
        proc = NexonProcess(tmp_path / f"{name}{len(started)}", **kwargs).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
