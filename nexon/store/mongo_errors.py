"""PyMongo's exceptions, translated at the store boundary so none leaks upward.

    pymongo.errors.PyMongoError (any: no server, timeout, network, auth, server error)
                                      -> StoreUnavailable (503 / UNAVAILABLE)
    bson.errors.InvalidId             -> ModelNotFound   (an id that cannot be an ObjectId)
    gridfs.errors.NoFile              -> ModelNotFound   (bytes gone)

DuplicateKeyError is the one PyMongo error the store expects; it catches it itself, inside
the guarded block, before this mapping sees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bson.errors import InvalidId
from bson.objectid import ObjectId
from gridfs.errors import NoFile
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from nexon.errors import ModelNotFound, StoreUnavailable

log = logging.getLogger("nexon.store.gridfs")


def describe(exc: PyMongoError) -> str:
    """A short reason that names no host credentials (PyMongo messages hold host:port only)."""
    if isinstance(exc, ServerSelectionTimeoutError):
        return "no MongoDB server answered in time"
    if isinstance(exc, ExecutionTimeout | WTimeoutError):
        return "MongoDB timed out"
    if isinstance(exc, ConnectionFailure):
        return "the connection to MongoDB failed"
    if isinstance(exc, OperationFailure):
        return f"MongoDB refused the operation (code {exc.code})"
    return f"MongoDB error ({type(exc).__name__})"


@asynccontextmanager
async def guarded(what: str) -> AsyncIterator[None]:
    """Run a block of driver calls; any driver error becomes StoreUnavailable naming `what`."""
    try:
        yield
    except NoFile:
        raise ModelNotFound(f"the bytes of {what} are gone from GridFS") from None
    except PyMongoError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # PyMongo may turn a cancellation into an error (_OperationCancelled): keep it a cancellation.
            raise asyncio.CancelledError from None
        log.debug("MongoDB error while trying to %s: %r", what, exc)
        raise StoreUnavailable(f"model store unavailable while trying to {what}: {describe(exc)}") from None


def object_id(value: str) -> ObjectId:
    """The ObjectId a record id names; ModelNotFound if it cannot name one."""
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise ModelNotFound(f"no model with id {value!r}") from None
