"""Garbage collection for the GridFS store: what killed uploads and lost updates leave behind.

Runs at start-up and from `nexon store gc`. It never touches a running upload: an upload
holds a lease whose heartbeat it refreshes, and only stale leases are collected. Reads run
in an order that keeps this true without a lock: stored file ids first, then the ids claimed
by leases, then those claimed by blobs (an upload inserts its blob before dropping its lease).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from nexon.core.staging import sweep_staging
from nexon.executor import BlockingExecutor
from nexon.store.mongo_errors import guarded

Doc = dict[str, Any]


async def collect(db: AsyncDatabase[Doc], bucket: AsyncGridFSBucket, staging_dir: Path,
                  executor: BlockingExecutor, *, lease_ttl_s: float) -> int:
    """Remove orphans; the count of staging files, GridFS files and blobs removed.

    A lease is stale when its heartbeat is `lease_ttl_s` behind the server's clock: heartbeats
    are written with the server's clock too, so no host's clock is compared with another's."""
    stale: Doc = {"$expr": {"$lt": ["$heartbeat", {"$subtract": ["$$NOW", max(1, int(lease_ttl_s * 1000))]}]}}
    removed = await executor.run(sweep_staging, staging_dir)
    uploads, blobs, models = db["uploads"], db["blobs"], db["models"]
    async with guarded("collect garbage"):
        for lease in await uploads.find(stale).to_list():
            # Conditional on the heartbeat read: an upload that just beat keeps its lease.
            await uploads.delete_one({"_id": lease["_id"], "heartbeat": lease["heartbeat"]})

        stored = set(await db["fs.chunks"].distinct("files_id")) | set(await db["fs.files"].distinct("_id"))
        claimed = {d["file_id"] for d in await uploads.find({}, {"file_id": 1}).to_list()}
        claimed |= {d["file_id"] for d in await blobs.find({}, {"file_id": 1}).to_list()}
        for file_id in stored - claimed:
            await db["fs.chunks"].delete_many({"files_id": file_id})
            await db["fs.files"].delete_one({"_id": file_id})
            removed += 1

        # Repair reference counts that a crash between two writes left wrong. A leased content is
        # skipped: an upload or a delete is between its two writes, its count off by one on purpose.
        for blob in await blobs.find({}).to_list():
            sha, refs = blob["_id"], blob["refs"]
            used = await models.count_documents({"sha256": sha})
            if used == refs or await uploads.find_one({"sha256": sha}) is not None:
                continue
            if used == 0:
                if await blobs.find_one_and_delete({"_id": sha, "refs": refs}) is not None:
                    with contextlib.suppress(NoFile):
                        await bucket.delete(blob["file_id"])
                    removed += 1
            else:
                await blobs.update_one({"_id": sha, "refs": refs}, {"$set": {"refs": used}})
    return removed

