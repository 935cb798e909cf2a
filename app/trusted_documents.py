"""The trusted documents of PERSISTED_QUERIES=allowlist: looking them up, and registering them.

They live in PostgreSQL (`persisted_documents`), so every API process sees what
`catalog documents register` added. A document never changes once registered (its id names
its body), so what a process has found it keeps, in a bounded cache: the steady state costs no
query at all. What it has not found it asks again, so a new registration counts at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, insert

from app.document_manifests import Document
from db.documents import TrustedDocument
from db.lru import LRU
from db.session import SessionFactory

CACHE_ENTRIES = 10_000
INSERT_BATCH = 1000  # rows per INSERT: well under PostgreSQL's limit of parameters


class TrustedDocuments:
    def __init__(self, readers: SessionFactory, cache_entries: int = CACHE_ENTRIES) -> None:
        self.readers = readers
        self.bodies = LRU[str, str](cache_entries)  # id → body
        self.texts = LRU[str, str](cache_entries)  # sha256 of a registered body → its id

    async def body_of(self, document_id: str) -> str | None:
        """The registered document a client named by its id, or None."""
        if (body := self.bodies.get(document_id)) is not None:
            return body
        async with self.readers() as session:
            body = await session.scalar(
                select(TrustedDocument.body).where(TrustedDocument.id == document_id)
            )
        if body is not None:
            self.bodies.put(document_id, body)
        return body

    async def is_registered(self, sha256: str) -> bool:
        """Whether a document whose SHA-256 (hex) is `sha256` was registered."""
        if self.texts.get(sha256) is not None:
            return True
        async with self.readers() as session:
            found = await session.scalar(
                select(TrustedDocument.id).where(TrustedDocument.sha256 == sha256).limit(1)
            )
        if found is not None:
            self.texts.put(sha256, found)
        return found is not None


@dataclass(frozen=True)
class Registration:
    added: int
    already_registered: int


class ConflictingDocument(ValueError):
    """An id already registered for another document."""


async def register(sessions: SessionFactory, documents: list[Document]) -> Registration:
    """Register `documents` in one transaction: all of them, or none when an id conflicts.

    Idempotent: a document registered before (same id, same body) is counted, not added again.
    """
    async with sessions() as session, session.begin():
        ids = [document.id for document in documents]
        rows = await session.execute(
            select(TrustedDocument.id, TrustedDocument.body).where(
                # One array parameter, however many documents the manifest holds.
                TrustedDocument.id == any_(bindparam("ids", ids, type_=ARRAY(String)))
            )
        )
        existing = {document_id: body for document_id, body in rows}
        conflicts = [d.id for d in documents if d.id in existing and existing[d.id] != d.body]
        if conflicts:
            raise ConflictingDocument(
                f"already registered with another document: {', '.join(conflicts[:5])}"
            )
        new = [d for d in documents if d.id not in existing]
        for start in range(0, len(new), INSERT_BATCH):
            await session.execute(
                insert(TrustedDocument)
                .values(
                    [
                        {
                            "id": d.id,
                            "sha256": d.sha256,
                            "body": d.body,
                            "operation_name": d.operation_name,
                            "operation_type": d.operation_type,
                        }
                        for d in new[start : start + INSERT_BATCH]
                    ]
                )
                # Another registration of the same manifest running at once: same rows.
                .on_conflict_do_nothing(index_elements=["id"])
            )
    return Registration(added=len(new), already_registered=len(documents) - len(new))
