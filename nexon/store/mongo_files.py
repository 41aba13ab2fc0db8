"""Writing and reading one GridFS file, a few chunks per round trip, in GridFS's own format.

PyMongo's GridIn buffers up to 32 MiB of chunks before it sends them; written here, an
upload holds one block (CHUNKS_PER_WRITE chunks, 1 MiB) in memory at a time, whatever its
size, and no single write keeps the server busy for long (an upload's lease heartbeat and
the other replicas' requests go on in between). The files document is inserted last, so a
file is visible to GridFS only once all its chunks are stored. Reads fetch chunks in small
batches too (some servers, mongoeco among them, overrun the wire message limit otherwise).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from bson.binary import Binary
from bson.objectid import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

CHUNK_BYTES = 256 * 1024
CHUNKS_PER_WRITE = 4
BLOCK_BYTES = CHUNK_BYTES * CHUNKS_PER_WRITE

Doc = dict[str, Any]


async def ensure_gridfs_indexes(db: AsyncDatabase[Doc], bucket: str = "fs") -> None:
    """The indexes GridFS drivers create on first write (we do not write through a driver's GridIn)."""
    await db[f"{bucket}.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)
    await db[f"{bucket}.files"].create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])


async def write_file(db: AsyncDatabase[Doc], file_id: ObjectId, filename: str, metadata: Doc,
                     blocks: AsyncIterator[bytes], bucket: str = "fs") -> int:
    """Store `blocks` (each a multiple of CHUNK_BYTES but the last) as GridFS file `file_id`; its length."""
    chunks, files = db[f"{bucket}.chunks"], db[f"{bucket}.files"]
    n = length = 0
    try:
        async for block in blocks:
            docs = [{"files_id": file_id, "n": n + i, "data": Binary(block[o:o + CHUNK_BYTES])}
                    for i, o in enumerate(range(0, len(block), CHUNK_BYTES))]
            if docs:
                await chunks.insert_many(docs, ordered=True)
            n += len(docs)
            length += len(block)
        await files.insert_one({"_id": file_id, "length": length, "chunkSize": CHUNK_BYTES,
                                "uploadDate": datetime.now(UTC), "filename": filename, "metadata": metadata})
    except BaseException:
        with contextlib.suppress(PyMongoError):  # what is left, gc collects
            await chunks.delete_many({"files_id": file_id})
        raise
    return length


class MissingFile(Exception):
    """The file, or one of its chunks, is not in GridFS."""


async def read_file(db: AsyncDatabase[Doc], file_id: ObjectId, bucket: str = "fs") -> bytes:
    """The bytes of GridFS file `file_id`; MissingFile if it or any chunk is gone."""
    info = await db[f"{bucket}.files"].find_one({"_id": file_id})
    if info is None:
        raise MissingFile(str(file_id))
    parts: list[bytes] = []
    cursor = db[f"{bucket}.chunks"].find({"files_id": file_id}, {"n": 1, "data": 1}).sort("n", ASCENDING)
    async for chunk in cursor.batch_size(CHUNKS_PER_WRITE):
        if chunk["n"] != len(parts):
            raise MissingFile(f"{file_id} chunk {len(parts)}")
        parts.append(bytes(chunk["data"]))
    data = b"".join(parts)
    if len(data) != info["length"]:
        raise MissingFile(f"{file_id}: {len(data)} of {info['length']} bytes")
    return data
