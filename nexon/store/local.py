"""The embedded store: SQLite metadata beside content-addressed model files.

Layout under the root: `nexon.db`, `blobs/<sha256>`, `tmp/` (staging). Every write runs in a
`BEGIN IMMEDIATE` transaction, which SQLite serializes across processes, so several
`nexon serve` processes may share one root. A blob is moved into place inside the same
transaction that inserts its record; a crash in between leaves only an orphan blob, which
`gc` removes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from nexon.core.signature import Signature
from nexon.core.staging import StagedFile, sweep_staging
from nexon.errors import AlreadyDeployed, ModelNotFound, NotDeployed, StoreUnavailable
from nexon.executor import BlockingExecutor
from nexon.store.base import DATE_FORMAT, ModelRecord, ModelStore, Status

T = TypeVar("T")
log = logging.getLogger("nexon.store.local")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    upload_date TEXT NOT NULL,
    deploy_date TEXT,
    status TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    signature TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_deployed_per_name ON models(name) WHERE status = 'Deployed';
CREATE INDEX IF NOT EXISTS models_by_sha ON models(sha256);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
-- The last version given out per name: never decreases, so a deleted version is never reused.
CREATE TABLE IF NOT EXISTS name_versions (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
INSERT OR IGNORE INTO name_versions SELECT name, MAX(version) FROM models GROUP BY name;
"""

_COLUMNS = "id, file_id, name, version, upload_date, deploy_date, status, sha256, size_bytes, signature"


def _record(row: tuple[Any, ...]) -> ModelRecord:
    return ModelRecord(
        id=row[0],
        file_id=row[1],
        name=row[2],
        version=row[3],
        upload_date=datetime.strptime(row[4], DATE_FORMAT).date(),
        deploy_date=datetime.strptime(row[5], DATE_FORMAT).date() if row[5] else None,
        status=Status(row[6]),
        sha256=row[7],
        size_bytes=row[8],
        signature=Signature.from_json(json.loads(row[9])),
    )


class LocalStore(ModelStore):
    def __init__(self, root: Path, executor: BlockingExecutor) -> None:
        self.root = root
        self.staging_dir = root / "tmp"
        self._blobs = root / "blobs"
        self._db_path = root / "nexon.db"
        self._executor = executor
        self._ready = False

    async def open(self) -> None:
        await self._executor.run(self._open_sync)
        removed = await self.gc()  # what a killed upload or delete left behind
        if removed:
            log.info("start-up gc removed %d orphan file(s) from %s", removed, self.root)

    def _open_sync(self) -> None:
        try:
            self._blobs.mkdir(parents=True, exist_ok=True)
            self.staging_dir.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"local store at {self.root} cannot be opened: {exc}") from None
        self._ready = True

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._db_path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            db.execute("COMMIT")
        finally:
            db.close()

    async def _run(self, fn: Callable[[], T]) -> T:
        def guarded() -> T:
            try:
                return fn()
            except (sqlite3.Error, OSError) as exc:
                raise StoreUnavailable(f"local store at {self.root} failed: {exc}") from None

        return await self._executor.run(guarded)

    def _blob_path(self, sha256: str) -> Path:
        return self._blobs / sha256

    async def put(self, name: str, staged: StagedFile, signature: Signature) -> ModelRecord:
        def put_sync() -> ModelRecord:
            today = date.today().strftime(DATE_FORMAT)
            with self._write() as db:
                blob = self._blob_path(staged.sha256)
                if blob.exists():
                    staged.path.unlink(missing_ok=True)
                else:
                    os.replace(staged.path, blob)
                    _fsync_dir(self._blobs)
                (version,) = db.execute(
                    "INSERT INTO name_versions VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET last = last + 1 "
                    "RETURNING last", (name,)
                ).fetchone()
                model_id = secrets.token_hex(12)
                db.execute(
                    f"INSERT INTO models ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (model_id, staged.sha256, name, version, today, None, Status.UPLOADED.value,
                     staged.sha256, staged.size_bytes, json.dumps(signature.to_json())),
                )
                row = db.execute(f"SELECT {_COLUMNS} FROM models WHERE id = ?", (model_id,)).fetchone()
            return _record(row)

        try:
            return await self._run(put_sync)
        finally:
            staged.release()

    def _select(self, where: str, args: tuple[Any, ...]) -> list[ModelRecord]:
        db = self._connect()
        try:
            rows = db.execute(f"SELECT {_COLUMNS} FROM models {where}", args).fetchall()
        finally:
            db.close()
        return [_record(r) for r in rows]

    async def get(self, model_id: str) -> ModelRecord:
        found = await self._run(lambda: self._select("WHERE id = ?", (model_id,)))
        if not found:
            raise ModelNotFound(f"no model with id {model_id!r}")
        return found[0]

    async def find(self, name: str, version: int) -> ModelRecord:
        found = await self._run(lambda: self._select("WHERE name = ? AND version = ?", (name, version)))
        if not found:
            raise ModelNotFound(f"model {name!r} has no version {version}")
        return found[0]

    async def list(self, *, name: str | None = None, status: Status | None = None) -> list[ModelRecord]:
        clauses, args = [], []
        if name is not None:
            clauses.append("name = ?")
            args.append(name)
        if status is not None:
            clauses.append("status = ?")
            args.append(status.value)
        where = ("WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY name, version"
        return await self._run(lambda: self._select(where, tuple(args)))

    def _get_in(self, db: sqlite3.Connection, model_id: str) -> ModelRecord:
        row = db.execute(f"SELECT {_COLUMNS} FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is None:
            raise ModelNotFound(f"no model with id {model_id!r}")
        return _record(row)

    async def deploy(self, model_id: str, when: date) -> ModelRecord:
        def deploy_sync() -> ModelRecord:
            with self._write() as db:
                record = self._get_in(db, model_id)
                if record.status is Status.DEPLOYED:
                    raise AlreadyDeployed(f"{record.name} version {record.version} is already deployed")
                other = db.execute(
                    "SELECT version FROM models WHERE name = ? AND status = 'Deployed'", (record.name,)
                ).fetchone()
                if other is not None:
                    raise AlreadyDeployed(
                        f"{record.name} version {other[0]} is already deployed; undeploy it first"
                    )
                db.execute(
                    "UPDATE models SET status = 'Deployed', deploy_date = ? WHERE id = ?",
                    (when.strftime(DATE_FORMAT), model_id),
                )
                return self._get_in(db, model_id)

        return await self._run(deploy_sync)

    async def undeploy(self, model_id: str) -> ModelRecord:
        def undeploy_sync() -> ModelRecord:
            with self._write() as db:
                record = self._get_in(db, model_id)
                if record.status is not Status.DEPLOYED:
                    raise NotDeployed(f"{record.name} version {record.version} is not deployed")
                db.execute(
                    "UPDATE models SET status = 'Uploaded', deploy_date = NULL WHERE id = ?", (model_id,)
                )
                return self._get_in(db, model_id)

        return await self._run(undeploy_sync)

    async def delete(self, model_id: str) -> ModelRecord:
        def delete_sync() -> ModelRecord:
            with self._write() as db:
                record = self._get_in(db, model_id)
                db.execute("DELETE FROM models WHERE id = ?", (model_id,))
            # Second transaction: the record is gone for good before its bytes may go.
            with self._write() as db:
                if db.execute("SELECT 1 FROM models WHERE sha256 = ?", (record.sha256,)).fetchone() is None:
                    self._blob_path(record.sha256).unlink(missing_ok=True)
            return record

        return await self._run(delete_sync)

    def local_path(self, record: ModelRecord) -> Path | None:
        return self._blob_path(record.sha256)

    async def read(self, record: ModelRecord) -> bytes:
        def read_sync() -> bytes:
            try:
                return self._blob_path(record.sha256).read_bytes()
            except FileNotFoundError:
                raise ModelNotFound(f"bytes of {record.name} version {record.version} are gone") from None

        return await self._run(read_sync)

    async def change_marker(self) -> str:
        def marker() -> str:
            db = self._connect()
            try:
                return str(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
            finally:
                db.close()

        return await self._run(marker)

    async def ping(self) -> None:
        if not self._ready:
            await self.open()
        await self.change_marker()

    async def gc(self) -> int:
        def gc_sync() -> int:
            removed = sweep_staging(self.staging_dir)
            with self._write() as db:
                used = {r[0] for r in db.execute("SELECT DISTINCT sha256 FROM models")}
                for blob in self._blobs.iterdir():
                    if blob.name not in used:
                        blob.unlink(missing_ok=True)
                        removed += 1
            return removed

        return await self._run(gc_sync)

    async def close(self) -> None:
        return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
