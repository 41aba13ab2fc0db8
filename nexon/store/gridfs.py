"""The MongoDB store: records in `models`, bytes in GridFS, through PyMongo's async API.

Collections of the database:
    models      one document per record; unique (name, version); a partial unique index on
                name where status is Deployed, so two replicas deploying at once cannot both win
    blobs       one document per distinct content: {_id: sha256, file_id, refs}; `refs` counts
                the records using it, so a content is stored once and removed with its last record
    uploads     a lease per running upload or delete, its heartbeat refreshed while it runs;
                heartbeats are the server's clock ($currentDate) and gc ages them by it ($$NOW),
                so clock skew between hosts cannot make a live lease look stale
                gc leaves a leased content's blob and chunks alone until the lease goes stale
    versions    {_id: name, last}: the highest version a name has ever been given, advanced
                atomically per upload and never lowered, so a deleted version's number is not reused
    meta        {_id: "generation"}: bumped on every write, the cheap change marker to poll
    fs.files / fs.chunks    GridFS

Every driver call runs inside `guarded`, which turns PyMongo's errors into StoreUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bson.objectid import ObjectId
from gridfs import AsyncGridFSBucket
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from nexon.config import Settings, SettingsError, redact_uri
from nexon.core.signature import Signature
from nexon.core.staging import StagedFile
from nexon.errors import AlreadyDeployed, ModelNotFound, NotDeployed, StoreUnavailable
from nexon.executor import BlockingExecutor
from nexon.store.base import DATE_FORMAT, ModelRecord, ModelStore, Status
from nexon.store.mongo_errors import guarded, object_id
from nexon.store.mongo_files import BLOCK_BYTES, MissingFile, ensure_gridfs_indexes, read_file, write_file
from nexon.store.mongo_gc import collect
from nexon.store.mongo_watch import ChangeWatcher

log = logging.getLogger("nexon.store.gridfs")

Doc = dict[str, Any]

LEASE_TTL_S = 60.0
HEARTBEAT_S = 10.0


def _record(doc: Doc) -> ModelRecord:
    return ModelRecord(
        id=str(doc["_id"]),
        file_id=str(doc["file_id"]),
        name=doc["name"],
        version=int(doc["version"]),
        upload_date=datetime.strptime(doc["upload"], DATE_FORMAT).date(),
        deploy_date=datetime.strptime(doc["deploy"], DATE_FORMAT).date() if doc.get("deploy") else None,
        status=Status(doc["status"]),
        sha256=doc["sha256"],
        size_bytes=int(doc["size_bytes"]),
        signature=Signature.from_json(doc["signature"]),
    )


class GridFSStore(ModelStore):
    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        db: AsyncDatabase[Doc],
        staging_dir: Path,
        executor: BlockingExecutor,
        *,
        lease_ttl_s: float = LEASE_TTL_S,
        heartbeat_s: float = HEARTBEAT_S,
        collect_at_start: bool = True,
    ) -> None:
        self.staging_dir = staging_dir
        self._client = client
        self._db = db
        self._executor = executor
        self._models: AsyncCollection[Doc] = db["models"]
        self._blobs: AsyncCollection[Doc] = db["blobs"]
        self._uploads: AsyncCollection[Doc] = db["uploads"]
        self._meta: AsyncCollection[Doc] = db["meta"]
        self._versions: AsyncCollection[Doc] = db["versions"]
        self._bucket = AsyncGridFSBucket(db)
        self.lease_ttl_s = lease_ttl_s
        self._heartbeat_s = heartbeat_s
        self._collect_at_start = collect_at_start
        self._indexed = False
        self._index_lock = asyncio.Lock()
        self._started: asyncio.Task[None] | None = None
        self.watcher = ChangeWatcher(self._models)

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Never waits for the server: indexes and start-up gc run once it answers."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self._started = asyncio.create_task(self._start(), name="nexon-mongo-start")
        self.watcher.start()

    async def _start(self) -> None:
        warned = False
        while True:
            try:
                await self._ensure_indexes()
                if self._collect_at_start:
                    removed = await self.gc()
                    log.info("start-up gc removed %d orphan(s)", removed)
                return
            except StoreUnavailable as exc:
                (log.debug if warned else log.warning)("%s; retrying every second", exc.message)
                warned = True
                await asyncio.sleep(1.0)

    async def _ensure_indexes(self) -> None:
        if self._indexed:
            return
        async with self._index_lock, guarded("create indexes"):
            if self._indexed:
                return
            await self._models.create_index([("name", ASCENDING), ("version", ASCENDING)],
                                            unique=True, name="name_version")
            await self._models.create_index([("name", ASCENDING)], unique=True, name="one_deployed_per_name",
                                            partialFilterExpression={"status": Status.DEPLOYED.value})
            await self._models.create_index([("status", ASCENDING)], name="status")
            await self._models.create_index([("sha256", ASCENDING)], name="sha256")
            await self._uploads.create_index([("heartbeat", ASCENDING)], name="heartbeat")
            await ensure_gridfs_indexes(self._db)
            self._indexed = True

    async def close(self) -> None:
        await self.watcher.stop()
        if self._started is not None:
            self._started.cancel()
            await asyncio.gather(self._started, return_exceptions=True)
        await self._client.close()

    async def ping(self) -> None:
        async with guarded("reach MongoDB"):
            await self._db.command("ping")
        await self._ensure_indexes()

    # -- writes --------------------------------------------------------------------------

    async def put(self, name: str, staged: StagedFile, signature: Signature) -> ModelRecord:
        try:
            await self._ensure_indexes()
            async with self._lease(staged.sha256) as lease_id:
                file_id = await self._claim_blob(staged, lease_id)
                try:
                    record = await self._insert_record(name, file_id, staged, signature)
                except BaseException:
                    await self._release_blob(staged.sha256)
                    raise
            await self._bump()
            return record
        finally:
            staged.discard()  # the bytes are in GridFS (or the upload failed): the staging copy goes

    @contextlib.asynccontextmanager
    async def _lease(self, sha256: str) -> AsyncIterator[ObjectId]:
        lease_id = ObjectId()
        async with guarded("register an upload"):
            await self._uploads.update_one(
                {"_id": lease_id},
                {"$setOnInsert": {"sha256": sha256, "file_id": None}, "$currentDate": {"heartbeat": True}},
                upsert=True)
        beat = asyncio.create_task(self._heartbeat(lease_id), name="nexon-upload-heartbeat")
        try:
            yield lease_id
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            with contextlib.suppress(StoreUnavailable):
                async with guarded("end an upload"):
                    await self._uploads.delete_one({"_id": lease_id})

    async def _heartbeat(self, lease_id: ObjectId) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            with contextlib.suppress(StoreUnavailable):
                async with guarded("refresh an upload lease"):
                    await self._uploads.update_one({"_id": lease_id}, {"$currentDate": {"heartbeat": True}})

    async def _claim_blob(self, staged: StagedFile, lease_id: ObjectId) -> ObjectId:
        """The GridFS file holding these bytes, its refs counted up; uploaded if not stored yet."""
        sha = staged.sha256
        while True:
            async with guarded("store model bytes"):
                blob = await self._blobs.find_one_and_update({"_id": sha}, {"$inc": {"refs": 1}},
                                                             return_document=ReturnDocument.AFTER)
                if blob is not None:
                    file_id: ObjectId = blob["file_id"]
                    return file_id
                file_id = ObjectId()
                await self._uploads.update_one({"_id": lease_id}, {"$set": {"file_id": file_id}})
            await self._upload_bytes(file_id, staged)
            async with guarded("store model bytes"):
                alive = await self._uploads.update_one({"_id": lease_id}, {"$currentDate": {"heartbeat": True}})
                if alive.matched_count == 0:
                    raise StoreUnavailable("the upload stalled past its lease and was collected; try again")
                try:
                    await self._blobs.insert_one({"_id": sha, "file_id": file_id,
                                                  "size_bytes": staged.size_bytes, "refs": 1})
                    return file_id
                except DuplicateKeyError:
                    await self._bucket.delete(file_id)  # the same bytes landed meanwhile: use those

    async def _upload_bytes(self, file_id: ObjectId, staged: StagedFile) -> None:
        """Stream the staged file into GridFS a block at a time, checking its SHA-256 on the way."""
        digest = hashlib.sha256()
        with staged.path.open("rb") as source:

            async def blocks() -> AsyncIterator[bytes]:
                while block := await self._executor.run(_read_hashed, source, digest):
                    yield block
                if digest.hexdigest() != staged.sha256:
                    raise StoreUnavailable("the staged upload changed while it was stored; try again")

            async with guarded("upload model bytes to GridFS"):
                await write_file(self._db, file_id, staged.path.name, {"sha256": staged.sha256}, blocks())

    async def _insert_record(self, name: str, file_id: ObjectId, staged: StagedFile,
                             signature: Signature) -> ModelRecord:
        """The record under the name's next version, taken from its counter once the bytes are stored.

        A number is never handed out twice, even after deletes. A store write failing after the
        counter moved leaves a gap; undoing the move could hand out a number whose insert did land."""
        doc: Doc = {"file_id": file_id, "name": name, "upload": date.today().strftime(DATE_FORMAT),
                    "deploy": None, "status": Status.UPLOADED.value, "sha256": staged.sha256,
                    "size_bytes": staged.size_bytes, "signature": signature.to_json()}
        async with guarded("store a model record"):
            while True:
                doc["version"] = await self._next_version(name)
                doc["_id"] = ObjectId()
                try:
                    await self._models.insert_one(doc)
                    return _record(doc)
                except DuplicateKeyError:
                    continue  # a record the counter does not know of (written before it existed): skip its number

    async def _next_version(self, name: str) -> int:
        while True:
            counter = await self._versions.find_one_and_update(
                {"_id": name}, {"$inc": {"last": 1}}, return_document=ReturnDocument.AFTER)
            if counter is not None:
                return int(counter["last"])
            # No counter yet (a new name, or a database from before counters): seed it from the
            # highest stored version. Of concurrent seeds the first wins; the others just advance it.
            last = await self._models.find_one({"name": name}, {"version": 1}, sort=[("version", DESCENDING)])
            with contextlib.suppress(DuplicateKeyError):
                await self._versions.insert_one({"_id": name, "last": int(last["version"]) if last else 0})

    async def _release_blob(self, sha256: str) -> None:
        """Count one record less; remove the bytes with the last. A failure here leaves work for gc."""
        try:
            async with guarded("release model bytes"):
                await self._blobs.update_one({"_id": sha256}, {"$inc": {"refs": -1}})
                gone = await self._blobs.find_one_and_delete({"_id": sha256, "refs": {"$lte": 0}})
                if gone is not None:
                    await self._bucket.delete(gone["file_id"])
        except (StoreUnavailable, ModelNotFound) as exc:
            log.warning("bytes of %s left for gc: %s", sha256, exc.message)

    async def _bump(self) -> None:
        # The write itself has landed: failing the call now would invite a retry that writes twice.
        try:
            async with guarded("bump the change marker"):
                await self._meta.update_one({"_id": "generation"}, {"$inc": {"value": 1}}, upsert=True)
        except StoreUnavailable as exc:
            log.warning("change marker not bumped (deployed-set changes still propagate): %s", exc.message)

    async def deploy(self, model_id: str, when: date) -> ModelRecord:
        record = await self.get(model_id)
        async with guarded("deploy a model"):
            try:
                doc = await self._models.find_one_and_update(
                    {"_id": object_id(model_id), "status": Status.UPLOADED.value},
                    {"$set": {"status": Status.DEPLOYED.value, "deploy": when.strftime(DATE_FORMAT)}},
                    return_document=ReturnDocument.AFTER)
            except DuplicateKeyError:
                other = await self._models.find_one({"name": record.name, "status": Status.DEPLOYED.value})
                version = other["version"] if other else "another"
                raise AlreadyDeployed(
                    f"{record.name} version {version} is already deployed; undeploy it first") from None
        if doc is None:
            await self.get(model_id)  # ModelNotFound if deleted meanwhile
            raise AlreadyDeployed(f"{record.name} version {record.version} is already deployed")
        await self._bump()
        return _record(doc)

    async def undeploy(self, model_id: str) -> ModelRecord:
        async with guarded("undeploy a model"):
            doc = await self._models.find_one_and_update(
                {"_id": object_id(model_id), "status": Status.DEPLOYED.value},
                {"$set": {"status": Status.UPLOADED.value, "deploy": None}},
                return_document=ReturnDocument.AFTER)
        if doc is None:
            record = await self.get(model_id)
            raise NotDeployed(f"{record.name} version {record.version} is not deployed")
        await self._bump()
        return _record(doc)

    async def delete(self, model_id: str) -> ModelRecord:
        record = await self.get(model_id)
        # The lease spans removing the record and counting it out: between the two the count is
        # one too high, and gc (which skips leased contents) must not "repair" it then, or the
        # decrement that follows would free bytes another record still uses.
        async with self._lease(record.sha256):
            async with guarded("delete a model"):
                doc = await self._models.find_one_and_delete({"_id": object_id(model_id)})
            if doc is None:
                raise ModelNotFound(f"no model with id {model_id!r}")
            await self._release_blob(doc["sha256"])
        await self._bump()
        return _record(doc)

    # -- reads ---------------------------------------------------------------------------

    async def _one(self, query: Doc, missing: Callable[[], str]) -> ModelRecord:
        async with guarded("read a model record"):
            doc = await self._models.find_one(query)
        if doc is None:
            raise ModelNotFound(missing())
        return _record(doc)

    async def get(self, model_id: str) -> ModelRecord:
        return await self._one({"_id": object_id(model_id)}, lambda: f"no model with id {model_id!r}")

    async def find(self, name: str, version: int) -> ModelRecord:
        return await self._one({"name": name, "version": version}, lambda: f"model {name!r} has no version {version}")

    async def list(self, *, name: str | None = None, status: Status | None = None) -> list[ModelRecord]:
        query: Doc = {}
        if name is not None:
            query["name"] = name
        if status is not None:
            query["status"] = status.value
        async with guarded("list models"):
            docs = await self._models.find(query).sort([("name", ASCENDING), ("version", ASCENDING)]).to_list()
        return [_record(d) for d in docs]

    async def read(self, record: ModelRecord) -> bytes:
        try:
            async with guarded(f"read {record.name} version {record.version}"):
                return await read_file(self._db, object_id(record.file_id))
        except MissingFile:
            raise ModelNotFound(f"bytes of {record.name} version {record.version} are gone") from None

    async def change_marker(self) -> str:
        streamed = self.watcher.marker
        if streamed is not None:
            return streamed
        async with guarded("check for changes"):
            meta = await self._meta.find_one({"_id": "generation"})
            deployed = await self._models.find({"status": Status.DEPLOYED.value}, {"_id": 1}).to_list()
        # The deployed ids too: a write whose bump was lost still changes what replicas serve.
        ids = ",".join(sorted(str(d["_id"]) for d in deployed))
        return f"poll:{meta['value'] if meta else 0}:{hashlib.sha256(ids.encode()).hexdigest()[:16]}"

    async def gc(self) -> int:
        await self._ensure_indexes()
        return await collect(self._db, self._bucket, self.staging_dir, self._executor,
                             lease_ttl_s=self.lease_ttl_s)


def _read_hashed(source: Any, digest: Any) -> bytes:
    block: bytes = source.read(BLOCK_BYTES)
    digest.update(block)
    return block


async def open_gridfs(settings: Settings, executor: BlockingExecutor, **options: Any) -> GridFSStore:
    """The store a mongodb:// URI names: its database, else NEXON_MONGO_DB. No I/O happens here."""
    timeout_ms = max(1, int(settings.mongo_timeout_s * 1000))
    try:
        client: AsyncMongoClient[Doc] = AsyncMongoClient(
            settings.store_uri, appname="nexon", connect=False,
            serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
            socketTimeoutMS=max(4 * timeout_ms, 10_000),
        )
    except PyMongoError as exc:
        raise SettingsError(f"NEXON_STORE: cannot use {redact_uri(settings.store_uri)}: {type(exc).__name__}") from None
    db = client.get_default_database(default=settings.mongo_db)
    staging = Path(tempfile.gettempdir()) / "nexon-staging"
    store = GridFSStore(client, db, staging, executor, **options)
    await store.open()
    return store
