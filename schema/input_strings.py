"""Strings checked at the boundary: no request reaches a resolver with a string that PostgreSQL,
Redis or argon2 cannot take.

Those are NUL (PostgreSQL text cannot hold it) and lone surrogates (they have no UTF-8 form, so
asyncpg, the Redis client and argon2 fail to encode them). Every other code point is storable;
what a field accepts beyond that is its own policy (`db.text`). The check covers every
string the client sends, once per request and before anything runs: the document text (a
literal sent as a JSON escape), its string literals (GraphQL escapes such as `\\u0000`), and
the variables, nested input objects, lists and JSON scalars included. A refusal is
BAD_USER_INPUT; nothing is logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, Source, TokenKind
from strawberry.extensions import SchemaExtension

from resolvers.errors import BadUserInput

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "Text cannot contain NUL characters or unpaired surrogates"
_STRING_TOKENS = (TokenKind.STRING, TokenKind.BLOCK_STRING)


def _bad_input(message: str, source: Source, position: int) -> GraphQLError:
    return GraphQLError(
        message, source=source, positions=[position], extensions={"code": BadUserInput.code}
    )


def text_error(query: str) -> GraphQLError | None:
    """An error for a document whose text holds a character no string can carry."""
    found = UNSTORABLE.search(query)
    if found is None:
        return None
    # Point at the character rather than quote it: it would not survive a JSON response.
    return _bad_input(f"{MESSAGE}.", Source(query), found.start())


def literal_error(document: DocumentNode) -> GraphQLError | None:
    """An error for a string literal that decodes to such a character (e.g. `"\\u0000"`)."""
    token = document.loc.start_token if document.loc else None
    while token is not None:
        if token.kind in _STRING_TOKENS and token.value and UNSTORABLE.search(token.value):
            assert document.loc is not None
            return _bad_input(f"{MESSAGE}.", document.loc.source, token.start)
        token = token.next
    return None


def has_unstorable(value: Any) -> bool:
    """Whether a decoded JSON value holds such a character in a string or an object key."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and UNSTORABLE.search(key):
                    return True
                pending.append(inner)
        elif isinstance(item, list):
            pending.extend(item)
    return False


class InputStrings(SchemaExtension):
    """Refuses a request carrying a string no store can take (see the module)."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and (error := text_error(query)) is not None:
            raise error
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # pre_execution_errors is set already: the cache's verdict, or an earlier refusal.
        if document is not None and context.pre_execution_errors is None:
            error = literal_error(document)
            if error is not None:
                context.pre_execution_errors = [error]
        yield

    def on_execute(self) -> Iterator[None]:
        for name, value in (self.execution_context.variables or {}).items():
            if UNSTORABLE.search(name):
                raise BadUserInput(f"{MESSAGE}: a variable's name.")
            if has_unstorable(value):
                raise BadUserInput(f"{MESSAGE}: variable '${name}'.")
        yield
