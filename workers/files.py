"""The file store: uploads and generated files, streamed in and out, never whole in memory.

`FileStore` is the interface jobs and the HTTP layer use; `PostgresFileStore` keeps files in
PostgreSQL (`db.files`: one `stored_files` row plus ~1 MiB `file_chunks` rows), so any API
process or worker on any host reads them and a file commits with the transaction that wrote
it. A filesystem or object-store backend would implement the same protocol.

Transactions: `save(..., session=s)` writes in the caller's session and never commits (the
file exists exactly when the caller's transaction commits, e.g. with its job row); without a
session, `save` uses its own and commits before returning. `open` reads one chunk per
statement in autocommit sessions, so a slow download holds no transaction open.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from typing import Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.files import CHUNK_BYTES, FileChunk, StoredFile
from db.session import SessionFactory


class FileTooLarge(Exception):
    """The stream went past the size the caller allowed; nothing of it is kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"file larger than {limit} bytes")
        self.limit = limit


class FileStore(Protocol):
    async def save(
        self,
        stream: AsyncIterator[bytes],
        *,
        name: str,
        content_type: str,
        purpose: str,
        created_by_id: int | None = None,
        max_bytes: int | None = None,
        session: AsyncSession | None = None,
    ) -> int:
        """Store the stream; the new file's id. Raises FileTooLarge past `max_bytes`."""
        ...

    def open(self, file_id: int) -> AsyncIterator[bytes]:
        """The file's bytes, chunk by chunk (nothing when it does not exist)."""
        ...

    async def describe(self, file_id: int) -> StoredFile | None: ...

    async def delete(self, session: AsyncSession, file_ids: Iterable[int]) -> int:
        """Delete files in the caller's transaction; how many existed."""
        ...


async def rechunk(stream: AsyncIterator[bytes], size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """The stream regrouped into pieces of exactly `size` bytes (the last one shorter)."""
    buffer = bytearray()
    async for piece in stream:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class PostgresFileStore:
    def __init__(self, sessions: SessionFactory, readers: SessionFactory | None = None) -> None:
        self.sessions = sessions
        self.readers = readers or sessions

    async def save(
        self,
        stream: AsyncIterator[bytes],
        *,
        name: str,
        content_type: str,
        purpose: str,
        created_by_id: int | None = None,
        max_bytes: int | None = None,
        session: AsyncSession | None = None,
    ) -> int:
        if session is not None:
            return await self._write(
                session, stream, name, content_type, purpose, created_by_id, max_bytes
            )
        async with self.sessions() as own, own.begin():
            return await self._write(
                own, stream, name, content_type, purpose, created_by_id, max_bytes
            )

    async def _write(
        self,
        session: AsyncSession,
        stream: AsyncIterator[bytes],
        name: str,
        content_type: str,
        purpose: str,
        created_by_id: int | None,
        max_bytes: int | None,
    ) -> int:
        file_id: int = (
            await session.execute(
                insert(StoredFile)
                .values(
                    name=name[:255] or "file",
                    content_type=content_type[:255] or "application/octet-stream",
                    purpose=purpose,
                    created_by_id=created_by_id,
                )
                .returning(StoredFile.id)
            )
        ).scalar_one()
        digest = hashlib.sha256()
        size = 0
        seq = 0
        async for chunk in rechunk(stream):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                # The caller's transaction must roll back; ours does as the error leaves it.
                raise FileTooLarge(max_bytes)
            digest.update(chunk)
            await session.execute(insert(FileChunk).values(file_id=file_id, seq=seq, data=chunk))
            seq += 1
        await session.execute(
            update(StoredFile)
            .where(StoredFile.id == file_id)
            .values(size=size, sha256=digest.hexdigest())
        )
        return file_id

    async def open(self, file_id: int) -> AsyncIterator[bytes]:
        async with self.readers() as session:
            count = (
                await session.execute(
                    select(func.count()).select_from(FileChunk).where(FileChunk.file_id == file_id)
                )
            ).scalar_one()
            for seq in range(count):
                data = (
                    await session.execute(
                        select(FileChunk.data).where(
                            FileChunk.file_id == file_id, FileChunk.seq == seq
                        )
                    )
                ).scalar_one_or_none()
                if data is None:  # deleted while being read
                    return
                yield data

    async def describe(self, file_id: int) -> StoredFile | None:
        async with self.readers() as session:
            return await session.get(StoredFile, file_id)

    async def delete(self, session: AsyncSession, file_ids: Iterable[int]) -> int:
        ids = sorted(set(file_ids))
        if not ids:
            return 0
        result = await session.execute(delete(StoredFile).where(StoredFile.id.in_(ids)))
        return int(result.rowcount)  # type: ignore[attr-defined]
