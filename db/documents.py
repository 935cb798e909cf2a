"""Trusted documents: the GraphQL documents a deployment's own clients were built with.

Registered from the clients' manifests (`catalog documents register`); with
PERSISTED_QUERIES=allowlist they are the only documents anyone but staff may run. A row never
changes: its id names its body (a hash of it, or the id the manifest gave it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column


class TrustedDocument(Base):
    __tablename__ = "persisted_documents"

    # What clients send as `extensions.persistedQuery.sha256Hash`: the manifest's id (the
    # SHA-256 of the body, a SHA-1 from older GraphQL Code Generator presets, or a custom id).
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # SHA-256 (hex) of the body: how a request carrying the full text is found.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    operation_name: Mapped[str | None] = mapped_column(String(200))
    operation_type: Mapped[str] = mapped_column(String(20))
    registered_at: Mapped[datetime] = created_at_column()
