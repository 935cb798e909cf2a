"""Parsed and validated documents, kept by their text in one LRU bounded in bytes.

It replaces strawberry's ParserCache and ValidationCache, which bound the number of entries but
not their size: distinct 1 MB documents grew a worker by gigabytes. Here every entry is weighed
(the text, plus an estimate of the parsed tree per token: with locations, graphql-core keeps
every token and node: 350 to 620 bytes a token, measured with tracemalloc) and the least
recently used entries go when the budget is spent. One cache serves both schemas of a process;
an entry records which of them validated it. Only documents that passed every limit and
validation rule are stored, so a hostile document is never kept.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import DocumentNode
from graphql.language.parser import Parser, nested_too_deeply_error
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ParseOptions

from db.lru import LRU

TOKEN_BYTES = 640  # the most measured (a run of fields: 616), rounded up
ENTRY_BYTES = 400  # the entry, its key in the dict, the set of schemas


@dataclass
class CachedDocument:
    document: DocumentNode
    weight: int
    # id() of each schema whose validation the document passed.
    valid_for: set[int] = field(default_factory=set)


class DocumentCache:
    """An LRU of documents by text whose total weight stays within `budget` bytes."""

    def __init__(self, budget: int) -> None:
        self._entries: LRU[str, CachedDocument] = LRU(budget, weigh=_weight_of)

    @property
    def budget(self) -> int:
        return self._entries.capacity

    @property
    def bytes(self) -> int:
        return self._entries.weight

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str) -> CachedDocument | None:
        return self._entries.get(text)

    def add(self, text: str, document: DocumentNode, tokens: int) -> CachedDocument | None:
        """Keep `document` (parsed from `text`, `tokens` long); None if it alone is too big."""
        entry = CachedDocument(document, sys.getsizeof(text) + tokens * TOKEN_BYTES + ENTRY_BYTES)
        return entry if self._entries.put(text, entry) else None


def _weight_of(entry: CachedDocument) -> int:
    return entry.weight


def parse_counting_tokens(query: str, options: ParseOptions) -> tuple[DocumentNode, int]:
    """graphql-core's `parse`, as strawberry calls it, also telling the document's tokens."""
    parser = Parser(query, **options)
    try:
        return parser.parse_document(), parser.token_count
    except RecursionError:
        pass  # raised outside the handler, so the error does not keep the recursion's frames
    raise nested_too_deeply_error(parser)


class CachedDocuments(SchemaExtension):
    """Parses through the cache, and stores a document once it passed validation.

    On a hit for this schema the validation is skipped (`pre_execution_errors` is set to the
    cached verdict, an empty list, which every later check reads as "already validated").
    """

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self.entry: CachedDocument | None = None
        self.tokens = 0

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            self.entry = self.cache.get(query)
            if self.entry is None:
                context.graphql_document, self.tokens = parse_counting_tokens(
                    query, context.parse_options
                )
            else:
                context.graphql_document = self.entry.document
                if id(context.schema) in self.entry.valid_for:
                    context.pre_execution_errors = []
        yield

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        query, document = context.query, context.graphql_document
        if query is None or document is None or context.pre_execution_errors != []:
            return
        if self.entry is None:
            self.entry = self.cache.add(query, document, self.tokens)
        if self.entry is not None:
            self.entry.valid_for.add(id(context.schema))
