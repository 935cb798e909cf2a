"""Uploaded files into the file store, streamed (never whole in memory).

The HTTP layer has already spooled the multipart part (to a temporary file past a small
size) and enforced MAX_UPLOAD_BYTES while reading it; here it is copied into the store in
~1 MiB pieces, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from db.files import CHUNK_BYTES
from workers.files import FileStore


class Upload(Protocol):
    """What Strawberry's `Upload` scalar gives over ASGI (starlette's UploadFile)."""

    filename: str | None
    content_type: str | None

    async def read(self, size: int = -1) -> bytes: ...


async def upload_stream(upload: Upload) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


async def save_upload(
    upload: Upload,
    created_by: int | None,
    session: AsyncSession,
    files: FileStore,
    *,
    purpose: str = "upload",
) -> int:
    """Store an uploaded file in the caller's transaction (the caller commits); its id."""
    return await files.save(
        upload_stream(upload),
        name=upload.filename or "upload",
        content_type=upload.content_type or "application/octet-stream",
        purpose=purpose,
        created_by_id=created_by,
        session=session,
    )
