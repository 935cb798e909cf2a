"""Persisted queries: which document a request runs, by PERSISTED_QUERIES.

A request may name its document by hash, in Apollo's extension
`"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}` (in the JSON body, or
as the `extensions` query parameter of a GET), with or without the `query` text.

- `automatic`: Apollo's Automatic Persisted Queries. A hash alone runs the query stored under
  it, else answers `PersistedQueryNotFound` (code PERSISTED_QUERY_NOT_FOUND, HTTP 200, not
  cacheable): Apollo Client and urql then send hash and text together; the text must hash to
  the hash, runs, and once it has parsed and validated is stored (Redis, shared, bounded), so
  later requests, GETs a CDN can cache included, send the hash alone. Requests without the
  extension are plain GraphQL.
- `allowlist`: trusted documents. Only documents registered with `catalog documents register`
  run: named by their id alone, or sent in full (their SHA-256 must be registered). Anything
  else is refused: PERSISTED_QUERY_NOT_IN_LIST for an unknown id (404), QUERY_NOT_IN_SAFELIST
  for an unregistered text (403). Staff tokens may still send any document (an unknown id
  answers them PersistedQueryNotFound, so their client sends the text).
- `off`: plain GraphQL; a hash alone answers `PersistedQueryNotSupported` (the clients then stop
  sending hashes).

Apollo Server's messages and codes, which the clients match on; a hash that is not the
query's is refused with 400 (PERSISTED_QUERY_HASH_MISMATCH).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Literal

from app.apq_store import AutomaticPersistedQueries
from app.document_manifests import sha256_hex
from app.graphql_params import GraphQLParams
from app.trusted_documents import TrustedDocuments

Mode = Literal["automatic", "allowlist", "off"]
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
MAX_ID_LENGTH = 200
# Apollo Server's: an answer that asks for the full text must never be cached by a CDN.
NOT_CACHEABLE = {"Cache-Control": "private, no-cache, must-revalidate"}


class PersistedQueryError(Exception):
    """A request the persisted-query rules refuse, answered before anything runs.

    `status` is for clients of application/graphql-response+json; clients of the older
    application/json get 200 when `always_status` is False (as for any well-formed request).
    """

    def __init__(
        self,
        message: str,
        code: str,
        status: int,
        *,
        always_status: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.always_status = always_status
        self.headers = headers or {}


def not_found() -> PersistedQueryError:
    return PersistedQueryError(
        "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200, headers=NOT_CACHEABLE
    )


def not_supported() -> PersistedQueryError:
    return PersistedQueryError(
        "PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", 200, headers=NOT_CACHEABLE
    )


def bad_request(message: str, code: str = "BAD_REQUEST") -> PersistedQueryError:
    return PersistedQueryError(message, code, 400, always_status=True)


def mismatch() -> PersistedQueryError:
    return bad_request(
        "provided sha does not match query: `sha256Hash` must be the SHA-256 (hex) of the "
        "query text.",
        "PERSISTED_QUERY_HASH_MISMATCH",
    )


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The id in `extensions.persistedQuery`, or None without the extension."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise bad_request("`extensions.persistedQuery` must be an object.")
    if persisted.get("version") != 1:
        raise bad_request("Unsupported persisted query version: send `version: 1`.")
    value = persisted.get("sha256Hash")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise bad_request("`extensions.persistedQuery.sha256Hash` must be a string.")
    return value


class PersistedQueries:
    def __init__(
        self,
        mode: Mode,
        automatic: AutomaticPersistedQueries,
        trusted: TrustedDocuments,
    ) -> None:
        self.mode = mode
        self.automatic = automatic
        self.trusted = trusted

    async def resolve(self, params: GraphQLParams, *, staff: bool) -> GraphQLParams:
        """`params` with the text of the document to run; PersistedQueryError when refused."""
        if self.mode == "off":
            # The extension is ignored beside a text; alone, it asks for what is not offered.
            if params.query is None:
                raise not_supported()
            return params
        document_id = requested_hash(params.extensions)
        if self.mode == "automatic":
            return await self._automatic(params, document_id)
        return await self._allowlist(params, document_id, staff)

    async def _automatic(self, params: GraphQLParams, sha256: str | None) -> GraphQLParams:
        if sha256 is None:
            return params
        if not _SHA256.fullmatch(sha256):
            raise bad_request("`sha256Hash` must be 64 hexadecimal digits (a SHA-256).")
        if params.query is None:
            query = await self.automatic.get(sha256.lower())
            if query is None:
                raise not_found()
            return dataclasses.replace(params, query=query)
        if sha256_hex(params.query) != sha256.lower():
            raise mismatch()
        return params

    async def _allowlist(
        self, params: GraphQLParams, document_id: str | None, staff: bool
    ) -> GraphQLParams:
        if params.query is None:
            assert document_id is not None  # read_params: no text only with the extension
            body = await self.trusted.body_of(document_id)
            if body is not None:
                return dataclasses.replace(params, query=body)
            if staff:
                raise not_found()
            raise PersistedQueryError(
                f"Persisted query '{document_id}' not found in the persisted query list.",
                "PERSISTED_QUERY_NOT_IN_LIST",
                404,
                headers=NOT_CACHEABLE,
            )
        sha256 = sha256_hex(params.query)
        if document_id and _SHA256.fullmatch(document_id) and document_id.lower() != sha256:
            raise mismatch()
        if staff or await self.trusted.is_registered(sha256):
            return params
        raise PersistedQueryError(
            "This server runs only registered documents: the query is not one of them.",
            "QUERY_NOT_IN_SAFELIST",
            403,
        )

    async def remember(self, params: GraphQLParams, ran: bool) -> None:
        """After a request, as it was sent (`params`, before `resolve`) and whether its document
        parsed and validated (`ran`): keep an automatic persisted query sent with its text."""
        if self.mode != "automatic" or not ran or params.query is None:
            return
        sha256 = requested_hash(params.extensions)
        if sha256 is not None:
            await self.automatic.put(sha256.lower(), params.query)
