"""The PostgreSQL file store: streamed in and out in chunks, size cap, the caller's transaction."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from db.files import CHUNK_BYTES, FileChunk, StoredFile
from resolvers.context import Services
from workers.files import FileTooLarge, PostgresFileStore


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(store: PostgresFileStore, file_id: int) -> bytes:
    return b"".join([chunk async for chunk in store.open(file_id)])


async def test_a_file_round_trips_in_chunks(client: httpx.AsyncClient, services: Services) -> None:
    store = PostgresFileStore(services.sessions, services.readers)
    data = os.urandom(2 * CHUNK_BYTES + 123)
    file_id = await store.save(
        pieces(data, 70_000), name="a.csv", content_type="text/csv", purpose="upload"
    )
    stored = await store.describe(file_id)
    assert stored is not None
    assert (stored.name, stored.size, stored.sha256) == (
        "a.csv",
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    sizes = [len(chunk) async for chunk in store.open(file_id)]
    assert sizes == [CHUNK_BYTES, CHUNK_BYTES, 123]
    assert await read_all(store, file_id) == data
    assert await read_all(store, file_id + 1000) == b""


async def test_past_the_cap_nothing_is_kept(client: httpx.AsyncClient, services: Services) -> None:
    store = PostgresFileStore(services.sessions)
    with pytest.raises(FileTooLarge):
        await store.save(
            pieces(b"x" * 5000, 1000),
            name="big",
            content_type="text/plain",
            purpose="upload",
            max_bytes=4096,
        )
    async with services.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(StoredFile))).scalar() == 0
        assert (await session.execute(select(func.count()).select_from(FileChunk))).scalar() == 0


async def test_in_the_callers_transaction_a_file_rolls_back_with_it(
    client: httpx.AsyncClient, services: Services
) -> None:
    store = PostgresFileStore(services.sessions)
    async with services.sessions() as session:
        file_id = await store.save(
            pieces(b"abc", 2), name="t", content_type="text/plain", purpose="x", session=session
        )
        await session.rollback()
    assert await store.describe(file_id) is None
    async with services.sessions() as session:
        file_id = await store.save(
            pieces(b"abc", 2), name="t", content_type="text/plain", purpose="x", session=session
        )
        await session.commit()
    assert await read_all(store, file_id) == b"abc"
    async with services.sessions() as session:
        assert await store.delete(session, [file_id]) == 1
        await session.commit()
    assert await read_all(store, file_id) == b""


async def test_retention_purges_old_files_but_not_those_of_unfinished_jobs(
    client: httpx.AsyncClient, services: Services
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from db.jobs import Job, JobKind, JobStatus
    from workers.retention import purge_old_files

    store = PostgresFileStore(services.sessions)
    ids = [
        await store.save(pieces(b"data", 2), name=f"f{i}", content_type="text/csv", purpose="x")
        for i in range(4)
    ]
    async with services.sessions() as session:
        session.add_all(
            [
                Job(
                    kind=JobKind.EXPORT_PRODUCTS, status=JobStatus.SUCCEEDED, result_file_id=ids[0]
                ),
                Job(kind=JobKind.IMPORT_PRODUCTS, status=JobStatus.QUEUED, input_file_id=ids[1]),
            ]
        )
        old = func.now() - timedelta(days=8)
        await session.execute(
            update(StoredFile).where(StoredFile.id.in_(ids[:3])).values(created_at=old)
        )
        await session.commit()
    assert await purge_old_files({"sessions": services.sessions}) == 2
    assert [await store.describe(i) is not None for i in ids] == [False, True, False, True]
    async with services.sessions() as session:
        finished = (
            await session.execute(select(Job).where(Job.status == JobStatus.SUCCEEDED))
        ).scalar_one()
    assert finished.result_file_id is None
    assert await read_all(store, ids[0]) == b""
