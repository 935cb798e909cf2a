"""`catalog documents register FILE…`: client manifests' documents into the trusted list."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from app.document_manifests import Document, ManifestError, read_manifest
from app.trusted_documents import ConflictingDocument, Registration, register
from db.session import create_engine, create_session_factory


async def _store(database_url: str, documents: list[Document]) -> Registration:
    engine = create_engine(database_url, pool_size=2)
    try:
        return await register(create_session_factory(engine), documents)
    finally:
        await engine.dispose()


def register_manifest_file(database_url: str, path: Path) -> str:
    """Register every document of the manifest at `path` (all or none); a one-line report.

    Raises ManifestError (with every problem found) or ConflictingDocument.
    """
    from schema.root import schema  # the SDL the documents must validate against

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError([f"cannot read JSON ({error})"]) from None
    manifest = read_manifest(raw, schema._schema)
    registration = asyncio.run(_store(database_url, manifest.documents))
    unverified = sum(not document.verified for document in manifest.documents)
    report = (
        f"{path}: {len(manifest.documents)} document(s) ({manifest.format}): "
        f"{registration.added} registered, {registration.already_registered} already registered"
    )
    if unverified:
        report += f"; {unverified} with ids of the manifest's own (not hashes, not verifiable)"
    return report


def register_files(database_url: str, files: Sequence[str]) -> int:
    """The command: each file in turn; stops at the first refused one (exit code 2)."""
    for name in files:
        try:
            print(register_manifest_file(database_url, Path(name)))
        except ManifestError as error:
            print(f"error: {name}: nothing registered:", file=sys.stderr)
            for problem in error.problems:
                print(f"  {problem}", file=sys.stderr)
            return 2
        except ConflictingDocument as error:
            print(f"error: {name}: nothing registered: {error}", file=sys.stderr)
            return 2
    return 0
