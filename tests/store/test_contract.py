"""Every store operation, the same assertions for the embedded and the GridFS store."""

from __future__ import annotations

import asyncio
import os
from datetime import date

import pytest

from nexon.errors import AlreadyDeployed, ModelNotFound, NotDeployed
from nexon.executor import BlockingExecutor
from nexon.store.base import ModelRecord, ModelStore, Status
from tests.store.helpers import SIGNATURE, sha, staged

TODAY = date.today()


async def put(store: ModelStore, executor: BlockingExecutor, name: str, data: bytes) -> ModelRecord:
    return await store.put(name, await staged(store, executor, data), SIGNATURE)


async def test_put_get_find_read(store: ModelStore, executor: BlockingExecutor) -> None:
    data = os.urandom(300_000)  # more than one GridFS chunk
    record = await put(store, executor, "m.onnx", data)
    assert (record.name, record.version, record.status) == ("m.onnx", 1, Status.UPLOADED)
    assert record.sha256 == sha(data) and record.size_bytes == len(data)
    assert record.upload_date == TODAY and record.deploy_date is None
    assert record.signature == SIGNATURE
    assert len(record.id) == 24 and int(record.id, 16) >= 0
    assert await store.get(record.id) == record
    assert await store.find("m.onnx", 1) == record
    assert await store.read(record) == data
    assert list(store.staging_dir.glob("upload-*.part")) == []  # the staging copy is gone


async def test_record_json_has_the_original_fields(store: ModelStore, executor: BlockingExecutor) -> None:
    record = await put(store, executor, "m.onnx", b"abc")
    body = record.to_json()
    assert set(body) >= {"_id", "file_id", "name", "upload", "deploy", "version", "size", "status"}
    assert body["deploy"] == "" and body["status"] == "Uploaded" and body["size"] == "3 B"


async def test_versions_count_up_per_name(store: ModelStore, executor: BlockingExecutor) -> None:
    a1 = await put(store, executor, "a.onnx", b"a1")
    b1 = await put(store, executor, "b.onnx", b"b1")
    a2 = await put(store, executor, "a.onnx", b"a2")
    assert (a1.version, b1.version, a2.version) == (1, 1, 2)
    assert [(r.name, r.version) for r in await store.list()] == [("a.onnx", 1), ("a.onnx", 2), ("b.onnx", 1)]
    assert [r.version for r in await store.list(name="a.onnx")] == [1, 2]


async def test_a_deleted_version_number_is_never_reused(store: ModelStore, executor: BlockingExecutor) -> None:
    first = [await put(store, executor, "x.onnx", b"x") for _ in range(3)]
    assert [r.version for r in first] == [1, 2, 3]
    await store.delete(first[2].id)
    fourth = await put(store, executor, "x.onnx", b"different bytes")
    assert fourth.version == 4
    with pytest.raises(ModelNotFound):
        await store.find("x.onnx", 3)  # 3 stays gone: it never comes to mean other bytes
    assert await store.read(await store.find("x.onnx", 4)) == b"different bytes"
    assert [r.version for r in await store.list(name="x.onnx")] == [1, 2, 4]


async def test_versions_continue_after_every_version_is_deleted(store: ModelStore, executor: BlockingExecutor) -> None:
    records = [await put(store, executor, "x.onnx", bytes([i])) for i in range(3)]
    for record in records:
        await store.delete(record.id)
    assert await store.list(name="x.onnx") == []
    again = await put(store, executor, "x.onnx", b"new")
    other = await put(store, executor, "y.onnx", b"new")
    assert (again.version, other.version) == (4, 1)  # the counter is per name
    assert [r.version for r in await store.list(name="x.onnx")] == [4]


async def test_same_bytes_stored_once(store: ModelStore, executor: BlockingExecutor) -> None:
    data = os.urandom(1000)
    one = await put(store, executor, "a.onnx", data)
    two = await put(store, executor, "b.onnx", data)
    assert one.file_id == two.file_id and one.id != two.id
    await store.delete(one.id)
    assert await store.read(two) == data  # still used by `two`
    await store.delete(two.id)
    with pytest.raises(ModelNotFound):
        await store.read(two)


async def test_deploy_undeploy(store: ModelStore, executor: BlockingExecutor) -> None:
    v1 = await put(store, executor, "m.onnx", b"1")
    v2 = await put(store, executor, "m.onnx", b"2")
    deployed = await store.deploy(v1.id, TODAY)
    assert deployed.status is Status.DEPLOYED and deployed.deploy_date == TODAY
    assert deployed.to_json()["deploy"] == TODAY.strftime("%d/%m/%Y")
    with pytest.raises(AlreadyDeployed, match="version 1 is already deployed"):
        await store.deploy(v2.id, TODAY)
    with pytest.raises(AlreadyDeployed):
        await store.deploy(v1.id, TODAY)
    assert [r.id for r in await store.list(status=Status.DEPLOYED)] == [v1.id]
    assert [r.id for r in await store.list(status=Status.UPLOADED)] == [v2.id]
    undeployed = await store.undeploy(v1.id)
    assert undeployed.status is Status.UPLOADED and undeployed.deploy_date is None
    with pytest.raises(NotDeployed):
        await store.undeploy(v1.id)
    assert (await store.deploy(v2.id, TODAY)).version == 2


async def test_delete(store: ModelStore, executor: BlockingExecutor) -> None:
    record = await put(store, executor, "m.onnx", b"x" * 10)
    assert await store.delete(record.id) == record
    assert await store.list() == []
    for call in (store.get(record.id), store.delete(record.id), store.deploy(record.id, TODAY),
                 store.undeploy(record.id), store.find("m.onnx", 1)):
        with pytest.raises(ModelNotFound):
            await call


@pytest.mark.parametrize("bad_id", ["", "nope", "zz" * 12, "0" * 24])
async def test_unknown_or_malformed_ids_are_not_found(store: ModelStore, bad_id: str) -> None:
    with pytest.raises(ModelNotFound):
        await store.get(bad_id)
    with pytest.raises(ModelNotFound):
        await store.deploy(bad_id, TODAY)


async def test_change_marker_moves_on_every_write(store: ModelStore, executor: BlockingExecutor) -> None:
    seen = [await store.change_marker()]
    record = await put(store, executor, "m.onnx", b"1")
    seen.append(await store.change_marker())
    await store.deploy(record.id, TODAY)
    seen.append(await store.change_marker())
    await store.undeploy(record.id)
    seen.append(await store.change_marker())
    await store.delete(record.id)
    seen.append(await store.change_marker())
    assert len(set(seen)) == 5, seen
    assert await store.change_marker() == seen[-1]  # and stays put without writes


async def test_ping_and_gc_on_a_clean_store(store: ModelStore, executor: BlockingExecutor) -> None:
    await store.ping()
    record = await put(store, executor, "m.onnx", b"keep")
    assert await store.gc() == 0
    assert await store.read(record) == b"keep"


async def test_gc_removes_abandoned_staging_files(store: ModelStore, executor: BlockingExecutor) -> None:
    abandoned = await staged(store, executor, b"half an upload")
    abandoned.release()  # its process is gone: the lock with it
    running = await staged(store, executor, b"still uploading")
    assert await store.gc() == 1
    assert not abandoned.path.exists() and running.path.exists()
    running.discard()


async def test_concurrent_reads_while_deleting(store: ModelStore, executor: BlockingExecutor) -> None:
    data = os.urandom(600_000)
    record = await put(store, executor, "m.onnx", data)

    async def read_or_gone() -> bool:
        try:
            return await store.read(record) == data
        except ModelNotFound:
            return True

    results = await asyncio.gather(*(read_or_gone() for _ in range(10)), store.delete(record.id))
    assert all(r is True for r in results[:-1]) and results[-1] == record
    with pytest.raises(ModelNotFound):
        await store.read(record)
