"""The store contract runs against both backends: `store` is parametrized local / gridfs.

The GridFS store talks over the wire to NEXON_TEST_MONGO_URI when set, else to a mongoeco
server this fixture starts (building .venv-mongoeco if needed). No MongoDB: the tests fail
with a message that says what is missing; they never skip.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from nexon.config import Settings
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelStore
from nexon.store.factory import open_store
from nexon.store.gridfs import GridFSStore
from tests.support.mongo import MongoecoServer, external_uri, with_database

_db_numbers = itertools.count()


class Mongo:
    """Where the tests' MongoDB is; `uri(db)` names a database on it."""

    def __init__(self, base: str, server: MongoecoServer | None) -> None:
        self.base = base
        self.server = server

    def uri(self, db: str) -> str:
        return with_database(self.base, db)

    def fresh_uri(self, prefix: str = "t") -> str:
        return self.uri(f"{prefix}{next(_db_numbers)}_{id(self) % 10_000}")


@pytest.fixture(scope="session")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mongo]:
    uri = external_uri()
    if uri is not None:
        yield Mongo(uri, None)
        return
    server = MongoecoServer(tmp_path_factory.mktemp("mongoeco")).start()
    try:
        yield Mongo(server.uri("nexon"), server)
    finally:
        server.stop()


@pytest.fixture
def executor() -> Iterator[BlockingExecutor]:
    pool = BlockingExecutor(8)
    yield pool
    pool.shutdown()


@pytest.fixture(params=["local", "gridfs"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return f"file://{tmp_path / 'store'}"
    mongo: Mongo = request.getfixturevalue("mongo")
    return mongo.fresh_uri()


@pytest.fixture
async def store(store_uri: str, executor: BlockingExecutor, tmp_path: Path) -> AsyncIterator[ModelStore]:
    opened = await open_store(Settings(store_uri=store_uri, mongo_timeout_s=3), executor)
    if isinstance(opened, GridFSStore):
        opened.staging_dir = tmp_path / "staging"  # one test's staging files, apart from any other's
        opened.staging_dir.mkdir()
        await opened.ping()
    yield opened
    await opened.close()


@pytest.fixture
async def gridfs(mongo: Mongo, executor: BlockingExecutor, tmp_path: Path) -> AsyncIterator[GridFSStore]:
    """A GridFS store alone (for tests of its internals), on a fresh database."""
    store = await open_store(Settings(store_uri=mongo.fresh_uri("g"), mongo_timeout_s=3), executor)
    assert isinstance(store, GridFSStore)
    store.staging_dir = tmp_path / "staging"
    store.staging_dir.mkdir()
    await store.ping()
    yield store
    await store.close()
