"""Opens the model store a URI names: file://PATH (embedded) or mongodb://... (GridFS)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from nexon.config import Settings, SettingsError, redact_uri
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelStore
from nexon.store.local import LocalStore


async def open_store(settings: Settings, executor: BlockingExecutor) -> ModelStore:
    uri = settings.store_uri
    scheme = urlsplit(uri).scheme
    if scheme == "file":
        path = uri[len("file://"):]
        store = LocalStore(Path(path).expanduser().resolve(), executor)  # noqa: ASYNC240 (once, at start-up)
        await store.open()
        return store
    if scheme in ("mongodb", "mongodb+srv"):
        from nexon.store.gridfs import open_gridfs

        return await open_gridfs(settings, executor)
    raise SettingsError(f"NEXON_STORE: unsupported store URI {redact_uri(uri)!r}; use file://PATH or mongodb://")
