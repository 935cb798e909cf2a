"""Reading the manifests clients' build tools emit, for `catalog documents register`.

Two formats:
- Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`):
  `{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id", "name", "type", "body"}]}`;
- GraphQL Code Generator's client preset, `persistedDocuments` (persisted-documents.json):
  `{"<hash>": "<document>"}`.

Everything that can be checked is, before anything is registered: each id against its body
(a SHA-256 or SHA-1 hex id, the preset's `sha256:` form; other ids are the manifest's own
choice and are reported as such), that each body is one operation (with its fragments) that
parses and validates against this server's schema, and, for Apollo's, that its name and type
are the ones the manifest says.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, parse, validate

APOLLO_FORMAT = "apollo-persisted-query-manifest"
CODEGEN_FORMAT = "graphql-codegen-persisted-documents"
MAX_ID_LENGTH = 200
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHA1 = re.compile(r"[0-9a-f]{40}")


class ManifestError(ValueError):
    """A manifest that cannot be registered; `problems` says everything wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Document:
    id: str
    body: str
    sha256: str
    operation_name: str | None
    operation_type: str
    verified: bool  # whether the id was checked against the body (a hash of it)


@dataclass(frozen=True)
class Manifest:
    format: str
    documents: list[Document]


def sha256_hex(text: str) -> str:
    # surrogatepass: a lone surrogate cannot crash hashing; such a text matches no client's hash.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def id_matches(document_id: str, body: str) -> bool | None:
    """Whether a hash-shaped id is the hash of `body`; None for an id that is not a hash."""
    encoded = body.encode("utf-8", "surrogatepass")
    digest = document_id.removeprefix("sha256:")
    if _SHA256.fullmatch(digest):
        return hashlib.sha256(encoded).hexdigest() == digest
    if _SHA1.fullmatch(document_id):
        return hashlib.sha1(encoded, usedforsecurity=False).hexdigest() == document_id
    return None


def _entries(raw: Any) -> tuple[str, list[tuple[Any, Any, Any, Any]]]:
    """(format, [(id, body, name, type)]) of a decoded manifest, unchecked."""
    if isinstance(raw, dict) and raw.get("format") == APOLLO_FORMAT:
        if raw.get("version") != 1:
            raise ManifestError([f"{APOLLO_FORMAT} version {raw.get('version')!r} is not 1"])
        operations = raw.get("operations")
        if not isinstance(operations, list):
            raise ManifestError(["`operations` must be a list"])
        return APOLLO_FORMAT, [
            (op.get("id"), op.get("body"), op.get("name"), op.get("type"))
            if isinstance(op, dict)
            else (None, None, None, None)
            for op in operations
        ]
    if isinstance(raw, dict) and "format" not in raw:
        return CODEGEN_FORMAT, [(key, body, None, None) for key, body in raw.items()]
    raise ManifestError(
        [f"not a manifest: expected {APOLLO_FORMAT} or a {{hash: document}} object"]
    )


def _check(
    schema: GraphQLSchema, entry: tuple[Any, Any, Any, Any], where: str
) -> tuple[Document | None, list[str]]:
    document_id, body, name, kind = entry
    if not isinstance(document_id, str) or not 0 < len(document_id) <= MAX_ID_LENGTH:
        return None, [f"{where}: the id must be a string of 1 to {MAX_ID_LENGTH} characters"]
    where = f"{where} ({document_id})"
    if not isinstance(body, str) or not body.strip():
        return None, [f"{where}: the document must be a non-empty string"]
    verified = id_matches(document_id, body)
    if verified is False:
        return None, [f"{where}: the id is not the hash of the document"]
    try:
        parsed = parse(body)
    except GraphQLError as error:
        return None, [f"{where}: {error.message}"]
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return None, [f"{where}: a document must hold exactly one operation"]
    [operation] = operations
    op_name = operation.name.value if operation.name else None
    op_type = operation.operation.value
    problems = [f"{where}: {error.message}" for error in validate(schema, parsed)[:3]]
    if kind is not None and kind != op_type:
        problems.append(f"{where}: the manifest says {kind!r} but the document is a {op_type}")
    if name is not None and name != op_name:
        problems.append(f"{where}: the manifest says {name!r} but the operation is {op_name!r}")
    document = Document(
        id=document_id,
        body=body,
        sha256=sha256_hex(body),
        operation_name=op_name,
        operation_type=op_type,
        verified=verified is True,
    )
    return (None if problems else document), problems


def read_manifest(raw: Any, schema: GraphQLSchema) -> Manifest:
    """The documents of a decoded manifest, all checked; ManifestError lists every problem."""
    manifest_format, entries = _entries(raw)
    documents: dict[str, Document] = {}
    problems: list[str] = []
    for index, entry in enumerate(entries):
        document, found = _check(schema, entry, f"document {index + 1}")
        problems += found
        if document is None:
            continue
        earlier = documents.get(document.id)
        if earlier is not None and earlier.body != document.body:
            problems.append(f"document {index + 1} ({document.id}): the id names two documents")
        documents[document.id] = document
    if not entries:
        problems.append("the manifest holds no documents")
    if problems:
        raise ManifestError(problems)
    return Manifest(manifest_format, list(documents.values()))
