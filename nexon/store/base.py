"""The model store interface. The API layers see only this; backends live beside it.

A record is written only after its bytes are complete; `(name, version)` is unique and at
most one version of a name is Deployed, both enforced by the backend itself so that several
processes sharing one store cannot break them.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from nexon.core.signature import Signature
from nexon.core.staging import StagedFile


class Status(enum.StrEnum):
    UPLOADED = "Uploaded"
    DEPLOYED = "Deployed"


DATE_FORMAT = "%d/%m/%Y"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}" if unit != "B" else f"{n} B"
        size /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class ModelRecord:
    id: str
    file_id: str
    name: str  # the uploaded file name, with ".onnx"
    version: int
    upload_date: date
    deploy_date: date | None
    status: Status
    sha256: str
    size_bytes: int
    signature: Signature

    def to_json(self) -> dict[str, Any]:
        """The record as the original NEXON API shows it, plus sha256, size_bytes and signature."""
        return {
            "_id": self.id,
            "file_id": self.file_id,
            "name": self.name,
            "upload": self.upload_date.strftime(DATE_FORMAT),
            "deploy": self.deploy_date.strftime(DATE_FORMAT) if self.deploy_date else "",
            "version": self.version,
            "size": human_size(self.size_bytes),
            "status": self.status.value,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            **self.signature.to_json(),
        }


class ModelStore(abc.ABC):
    """Model metadata and bytes. Every method may raise StoreUnavailable."""

    #: where uploads are staged before `put`; on the same filesystem as the store if it has one
    staging_dir: Path

    @abc.abstractmethod
    async def put(self, name: str, staged: StagedFile, signature: Signature) -> ModelRecord:
        """Store the staged bytes (once per content) and a new record with the next version."""

    @abc.abstractmethod
    async def get(self, model_id: str) -> ModelRecord:
        """The record with this id; ModelNotFound if none."""

    @abc.abstractmethod
    async def find(self, name: str, version: int) -> ModelRecord:
        """The record for (name, version); ModelNotFound if none."""

    @abc.abstractmethod
    async def list(self, *, name: str | None = None, status: Status | None = None) -> list[ModelRecord]:
        """Records, ordered by name then version."""

    @abc.abstractmethod
    async def deploy(self, model_id: str, when: date) -> ModelRecord:
        """Mark deployed; AlreadyDeployed if this or another version of the name is deployed."""

    @abc.abstractmethod
    async def undeploy(self, model_id: str) -> ModelRecord:
        """Mark uploaded again; NotDeployed if it is not deployed."""

    @abc.abstractmethod
    async def delete(self, model_id: str) -> ModelRecord:
        """Remove the record, and its bytes once no record uses them."""

    @abc.abstractmethod
    async def read(self, record: ModelRecord) -> bytes:
        """The model bytes of a record."""

    def local_path(self, record: ModelRecord) -> Path | None:
        """A file on this machine holding the record's bytes, if the backend has one (no copy)."""
        return None

    @abc.abstractmethod
    async def change_marker(self) -> str:
        """A value that changes whenever any process changes a record (cheap to poll)."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return if the store answers; raise StoreUnavailable otherwise."""

    @abc.abstractmethod
    async def gc(self) -> int:
        """Remove bytes no record uses, except those of uploads still running; the count removed."""

    @abc.abstractmethod
    async def close(self) -> None: ...
