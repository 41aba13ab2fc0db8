"""The inference orchestrator: the one core that REST and gRPC both call.

It owns the model lifecycle (upload, deploy, undeploy, delete), resolves a model name to its
deployed version from memory (no store query per inference), gets sessions from the cache and
runs them on the blocking executor. Changes made by other processes sharing the store are
picked up by polling the store's change marker.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from nexon.core.cache import SessionCache
from nexon.core.model_check import ModelChecker
from nexon.core.runtime import LoadedModel, OrtRuntime
from nexon.core.signature import Signature, TensorSpec
from nexon.core.staging import StagedFile, stage
from nexon.core.tensors import check_shape, element_of
from nexon.errors import (
    AlreadyDeployed,
    InvalidInput,
    InvalidModel,
    ModelNotFound,
    NexonError,
    NotDeployed,
    StoreUnavailable,
)
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelRecord, ModelStore, Status

log = logging.getLogger("nexon.orchestrator")

MODEL_SUFFIX = ".onnx"
MAX_VERSION = 2**63 - 1


def canonical_name(name: str) -> str:
    """Stored names are file names; a lookup may leave out the `.onnx` suffix."""
    name = name.strip()
    if not name:
        raise InvalidInput("model name must not be empty")
    return name if name.endswith(MODEL_SUFFIX) else name + MODEL_SUFFIX


@dataclass(frozen=True)
class Output:
    name: str
    value: Any  # ndarray for tensors; list/dict for sequences and maps


@dataclass(frozen=True)
class Prediction:
    record: ModelRecord
    outputs: tuple[Output, ...]


class Orchestrator:
    def __init__(
        self,
        store: ModelStore,
        cache: SessionCache,
        runtime: OrtRuntime,
        executor: BlockingExecutor,
        *,
        max_upload_bytes: int,
        sync_interval_s: float = 1.0,
    ) -> None:
        self.store = store
        self.cache = cache
        self._runtime = runtime
        self._executor = executor
        self._checker = ModelChecker()
        self.max_upload_bytes = max_upload_bytes
        self._sync_interval_s = sync_interval_s
        self._deployed: dict[str, ModelRecord] = {}
        self._marker: str | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._sync_lock = asyncio.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.sync()
        except StoreUnavailable as exc:
            log.warning("store not reachable at start-up, will keep trying: %s", exc.message)
        self._sync_task = asyncio.create_task(self._sync_forever(), name="nexon-store-sync")

    async def stop(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            await asyncio.gather(self._sync_task, return_exceptions=True)
        await self._executor.run(self._checker.shutdown)

    async def sync(self) -> None:
        """Reload the deployed map if any process changed the store since the last look."""
        async with self._sync_lock:
            marker = await self.store.change_marker()
            if marker == self._marker:
                return
            deployed = await self.store.list(status=Status.DEPLOYED)
            self._deployed = {r.name: r for r in deployed}
            self._marker = marker

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sync_interval_s)
            try:
                await self.sync()
            except StoreUnavailable:
                pass  # readiness reports it; inference on loaded models goes on
            except Exception:
                log.exception("store sync failed")

    async def ready(self) -> bool:
        try:
            await self.store.ping()
        except StoreUnavailable:
            return False
        return True

    # -- management ----------------------------------------------------------------------

    async def stage_upload(self, filename: str, chunks: AsyncIterable[bytes]) -> StagedFile:
        """Stream an upload to a staging file; a name that is not *.onnx is refused before reading."""
        _check_filename(filename)
        return await stage(chunks, self.store.staging_dir, self.max_upload_bytes, self._executor)

    async def upload(self, filename: str, staged: StagedFile) -> ModelRecord:
        """Validate staged bytes as a loadable ONNX model and store them as the next version."""
        record, _ = await self._upload(filename, staged)
        return record

    async def _upload(self, filename: str, staged: StagedFile) -> tuple[ModelRecord, LoadedModel]:
        try:
            name = _check_filename(filename)
            await self._checker.check(staged.path)  # in the checker's process; no worker thread waits
            model = await self._executor.run(self._runtime.load, staged.path)
            record = await self.store.put(name, staged, model.signature)
        except BaseException:
            staged.discard()
            raise
        return record, model

    async def upload_and_deploy(self, filename: str, staged: StagedFile) -> ModelRecord:
        try:
            name = _check_filename(filename)
            await self._refuse_if_deployed(name)
        except BaseException:
            staged.discard()
            raise
        record, model = await self._upload(filename, staged)
        # The validation session is already built: it serves the first inference.
        await self.cache.get(record.sha256, _ready(model))
        try:
            return await self._deploy_record(record)
        except (AlreadyDeployed, InvalidModel):
            # Lost a race (or cannot load): leave nothing half-done behind. Not on StoreUnavailable,
            # where the deploy may have landed.
            try:
                await self.store.delete(record.id)
            except NexonError as exc:
                log.warning("could not remove %s version %s after a failed deploy: %s",
                            record.name, record.version, exc.message)
            raise

    async def deploy(self, model_name: str, model_id: str) -> ModelRecord:
        record = await self.store.get(model_id)
        if record.name != canonical_name(model_name):
            raise ModelNotFound(f"no model {model_name!r} with id {model_id!r}")
        return await self._deploy_record(record)

    async def _deploy_record(self, record: ModelRecord) -> ModelRecord:
        if record.status is Status.DEPLOYED:
            raise AlreadyDeployed(f"{record.name} version {record.version} is already deployed")
        await self._refuse_if_deployed(record.name)
        await self.session(record)  # warm-up: a model that cannot load is not deployed
        deployed = await self.store.deploy(record.id, date.today())
        self._deployed[deployed.name] = deployed
        return deployed

    async def _refuse_if_deployed(self, name: str) -> None:
        current = await self.store.list(name=name, status=Status.DEPLOYED)
        if current:
            raise AlreadyDeployed(f"{name} version {current[0].version} is already deployed; undeploy it first")

    async def _find(self, model_name: str, version: int) -> ModelRecord:
        name = canonical_name(model_name)
        if not 1 <= version <= MAX_VERSION:
            raise ModelNotFound(f"model {name!r} has no version {version}")
        return await self.store.find(name, version)

    async def undeploy(self, model_name: str, version: int) -> ModelRecord:
        record = await self._find(model_name, version)
        record = await self.store.undeploy(record.id)
        self._forget(record)
        return record

    async def delete(self, model_name: str, version: int) -> ModelRecord:
        record = await self._find(model_name, version)
        await self.store.delete(record.id)
        self._forget(record)
        return record

    def _forget(self, record: ModelRecord) -> None:
        current = self._deployed.get(record.name)
        if current is not None and current.id == record.id:
            del self._deployed[record.name]
        if all(r.sha256 != record.sha256 for r in self._deployed.values()):
            self.cache.evict(record.sha256)

    async def list_models(self, status: Status | None = None) -> list[ModelRecord]:
        return await self.store.list(status=status)

    async def model(self, model_name: str, version: int | None = None) -> ModelRecord:
        """One record: the given version, else the deployed one, else the newest."""
        name = canonical_name(model_name)
        if version is not None:
            return await self._find(name, version)
        records = await self.store.list(name=name)
        if not records:
            raise ModelNotFound(f"no model named {name!r}")
        deployed = [r for r in records if r.status is Status.DEPLOYED]
        return deployed[0] if deployed else records[-1]

    # -- inference -----------------------------------------------------------------------

    async def deployed(self, model_name: str, version: int | None = None) -> ModelRecord:
        """The deployed record for a name, from memory; the store is asked only on a miss."""
        name = canonical_name(model_name)
        record = self._deployed.get(name)
        if record is not None and (version is None or record.version == version):
            return record
        records = await self.store.list(name=name)
        # Deployed by another process since the last sync: serve it now rather than refuse.
        fresh = next((r for r in records if r.status is Status.DEPLOYED), None)
        if fresh is not None and (record is None or fresh.id != record.id):
            self._deployed[name] = record = fresh
            if version is None or record.version == version:
                return record
        if not records:
            raise ModelNotFound(f"no model named {name!r}")
        if version is not None and all(r.version != version for r in records):
            raise ModelNotFound(f"model {name!r} has no version {version}")
        if record is not None:
            raise NotDeployed(f"{name} version {version} is not deployed (version {record.version} is)")
        raise NotDeployed(f"{name} has no deployed version; deploy one first")

    async def session(self, record: ModelRecord) -> LoadedModel:
        async def load() -> LoadedModel:
            path = self.store.local_path(record)
            if path is not None:
                return await self._executor.run(self._load_file, record, path)
            data = await self.store.read(record)
            return await self._executor.run(self._load_copy, data)

        return await self.cache.get(record.sha256, load)

    def _load_file(self, record: ModelRecord, path: Path) -> LoadedModel:
        if not path.is_file():
            raise StoreUnavailable(f"the bytes of {record.name} version {record.version} are missing from the store")
        return self._runtime.load(path)

    def _load_copy(self, data: bytes) -> LoadedModel:
        # ORT parses a file without holding the GIL, but not a bytes object: go through a file.
        self.store.staging_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.store.staging_dir, prefix="load-", suffix=".onnx") as f:
            f.write(data)
            f.flush()
            return self._runtime.load(Path(f.name))

    async def signature(self, model_name: str, version: int | None = None) -> Signature:
        record = await self.deployed(model_name, version)
        return (await self.session(record)).signature

    async def infer(
        self,
        model_name: str,
        feeds: Mapping[str, np.ndarray],
        outputs: Sequence[str] | None = None,
        version: int | None = None,
    ) -> Prediction:
        """Run a deployed model on named inputs; every required input must be given."""
        record = await self.deployed(model_name, version)
        return await self.run(record, await self.session(record), feeds, outputs)

    async def run(
        self,
        record: ModelRecord,
        model: LoadedModel,
        feeds: Mapping[str, np.ndarray],
        outputs: Sequence[str] | None = None,
    ) -> Prediction:
        """Run a session already resolved (by `deployed` + `session`): one lookup per inference."""
        _check_feeds(model, feeds)
        wanted = _check_outputs(model.signature, outputs)
        values = await self._executor.run(model.run, feeds, wanted)
        names = wanted or [o.name for o in model.signature.outputs]
        return Prediction(record, tuple(Output(n, v) for n, v in zip(names, values, strict=True)))

    async def infer_first(
        self, model_name: str, build: Callable[[TensorSpec], np.ndarray], *, offload: bool = False
    ) -> Prediction:
        """The NEXON view: `build` makes the model's first input from its spec; all outputs return.

        `offload` runs `build` on the blocking executor (for large payloads).
        """
        record = await self.deployed(model_name)
        model = await self.session(record)
        if not model.signature.inputs:
            raise InvalidInput(f"{record.name} takes no inputs")
        first = model.signature.inputs[0]
        array = await self._executor.run(build, first) if offload else build(first)
        return await self.run(record, model, {first.name: array})


def _ready(model: LoadedModel) -> Callable[[], Any]:
    async def load() -> LoadedModel:
        return model

    return load


def _check_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name.lower().endswith(MODEL_SUFFIX) or len(name) <= len(MODEL_SUFFIX):
        raise InvalidModel(f"only .onnx files can be uploaded, got {filename!r}")
    stem = name[: -len(MODEL_SUFFIX)]
    if not stem.strip("."):
        raise InvalidModel(f"a model name needs more than dots, got {filename!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or len(name.encode()) > 255:
        raise InvalidModel("a model name must be at most 255 bytes with no control characters")
    return stem + MODEL_SUFFIX


def _check_feeds(model: LoadedModel, feeds: Mapping[str, np.ndarray]) -> None:
    specs = {s.name: s for s in model.signature.inputs}
    unknown = [n for n in feeds if n not in specs and n not in model.optional_inputs]
    if unknown:
        raise InvalidInput(f"unknown input {unknown[0]!r}; the model's inputs are {', '.join(specs)}")
    missing = [n for n in specs if n not in feeds]
    if missing:
        raise InvalidInput(f"missing input {missing[0]!r}; the model needs {', '.join(specs)}")
    for name, array in feeds.items():
        spec = specs.get(name)
        if spec is not None:
            element = element_of(spec)
            if array.dtype != element.numpy and not (element.name == "string" and array.dtype == object):
                raise InvalidInput(
                    f"dtype mismatch for input {name!r}: model expects {element.name}, received {array.dtype}"
                )
            check_shape(spec, array)


def _check_outputs(signature: Signature, outputs: Sequence[str] | None) -> list[str] | None:
    if not outputs:
        return None
    known = {o.name for o in signature.outputs}
    for name in outputs:
        if name not in known:
            raise InvalidInput(f"unknown output {name!r}; the model's outputs are {', '.join(known)}")
    return list(outputs)
