"""Stored files: uploads and generated results, kept in PostgreSQL in ~1 MiB chunks.

Any API process or worker on any host reads them, and a file commits (or rolls back) with the
transaction that wrote it. The streaming API lives in `workers.files` (FileStore); these are
only the rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column

# Bytes per chunk row: big enough that a 100 MiB file is ~100 rows, small enough that neither
# side ever holds much of a file in memory.
CHUNK_BYTES = 1024 * 1024


class StoredFile(Base):
    __tablename__ = "stored_files"
    __table_args__ = (Index("ix_stored_files_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Hex SHA-256 of the content, computed while streaming it in.
    sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # What the file is for: "upload", "export", "error_report" (free text, for operators).
    purpose: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()


class FileChunk(Base):
    __tablename__ = "file_chunks"

    file_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("stored_files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
