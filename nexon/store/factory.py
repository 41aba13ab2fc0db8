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
        store = LocalStore(Path(path).expanduser().resolve(), executor)
        await store.open()
        return store
    if scheme in ("mongodb", "mongodb+srv"):
        raise SettingsError(f"the MongoDB GridFS store is not available yet ({redact_uri(uri)})")
    raise SettingsError(f"NEXON_STORE: unsupported store URI {redact_uri(uri)!r}; use file://PATH or mongodb://")
