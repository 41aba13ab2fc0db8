"""Uploads are streamed to a staging file, hashed and size-checked on the way, off the loop.

The staging file is flock'ed while it exists so that garbage collection (in this process or
another) can tell a running upload from an abandoned one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from nexon.errors import PayloadTooLarge, StoreUnavailable
from nexon.executor import BlockingExecutor

_FLUSH_BYTES = 1024 * 1024
STALE_AFTER_S = 600.0


@dataclass
class StagedFile:
    path: Path
    sha256: str
    size_bytes: int
    _handle: BinaryIO | None = field(default=None, repr=False)

    def discard(self) -> None:
        """Remove the staging file (if it was not moved into a store) and release its lock."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def release(self) -> None:
        """Release the lock once the store owns the bytes."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def is_locked(path: Path) -> bool:
    """True if a live upload holds the lock on `path`."""
    try:
        with open(path, "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except FileNotFoundError:
        return False


def sweep_staging(directory: Path) -> int:
    """Remove what dead processes left in a staging directory; the count removed.

    An unlocked `upload-*.part` is an upload whose process is gone. A `upload-*.new` is renamed
    to .part right after it is locked, and a `load-*.onnx` copy lives for one session build: one
    older than STALE_AFTER_S was left by a kill."""
    removed = 0
    for part in directory.glob("upload-*.part"):
        if not is_locked(part):
            part.unlink(missing_ok=True)
            removed += 1
    stale = time.time() - STALE_AFTER_S
    for leftover in (*directory.glob("upload-*.new"), *directory.glob("load-*.onnx")):
        try:
            if leftover.stat().st_mtime < stale:
                leftover.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # removed meanwhile by its owner or another sweep
    return removed


async def stage(
    chunks: AsyncIterable[bytes], directory: Path, limit: int, executor: BlockingExecutor
) -> StagedFile:
    """Write `chunks` to a new locked file in `directory`; PayloadTooLarge past `limit` bytes."""

    def create() -> StagedFile:
        directory.mkdir(parents=True, exist_ok=True)
        fd, fresh = tempfile.mkstemp(prefix="upload-", suffix=".new", dir=directory)
        handle = os.fdopen(fd, "r+b")
        fcntl.flock(handle, fcntl.LOCK_EX)
        # Only a locked file takes the name gc looks at: a sweep between mkstemp and flock must not see it.
        name = fresh[: -len(".new")] + ".part"
        os.rename(fresh, name)
        return StagedFile(Path(name), "", 0, handle)

    try:
        staged = await executor.run(create)
    except OSError as exc:
        raise StoreUnavailable(f"cannot stage the upload in {directory}: {exc}") from None
    handle = staged._handle
    assert handle is not None
    digest = hashlib.sha256()
    pending: list[bytes] = []
    pending_size = 0

    def flush(parts: list[bytes]) -> None:
        for part in parts:
            digest.update(part)
            handle.write(part)

    try:
        async for chunk in chunks:
            staged.size_bytes += len(chunk)
            if staged.size_bytes > limit:
                raise PayloadTooLarge(f"upload exceeds the limit of {limit} bytes")
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= _FLUSH_BYTES:
                await executor.run(flush, pending)
                pending, pending_size = [], 0

        def finish() -> None:
            flush(pending)
            handle.flush()
            os.fsync(handle.fileno())

        await executor.run(finish)
    except BaseException:
        staged.discard()
        raise
    staged.sha256 = digest.hexdigest()
    return staged
