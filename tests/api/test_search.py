"""Product search over HTTP: prefixes, every word, SKUs, weighting, typos, hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from app.settings import Settings
from db.product_filters import TRIGRAM_THRESHOLD
from db.users import Role
from resolvers.context import Services
from tests.support.apps import client_of, running_app
from tests.support.catalog import (
    EPOCH,
    PAGE,
    build_catalog,
    error_codes,
    execute,
    gid,
    names,
    new_user,
    product_rows,
    walk_backward,
    walk_forward,
)
from tests.support.graphql import GraphQLClient, without_cost

SEARCH = """
query Search($first: Int, $after: String, $last: Int, $sort: ProductSort,
             $filter: ProductFilter) {
  products(first: $first, after: $after, last: $last, sort: $sort, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id name sku } }
  }
}
"""

EMPTY = {
    "totalCount": 0,
    "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
    "edges": [],
}


async def search(
    gql: GraphQLClient, text: str, *, first: int = 100, **filter: Any
) -> dict[str, Any]:
    variables = {"first": first, "filter": {"search": text, **filter}}
    connection: dict[str, Any] = (await gql.data(SEARCH, variables))["products"]
    return connection


async def visible_names(services: Services) -> list[str]:
    return [row.name for row in await product_rows(services)]


async def test_prefixes_and_every_word(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=24, reviews_per_product=0, users=1)
    every = await visible_names(services)
    stands = {name for name in every if name.startswith("Laptop Stand")}
    mice = {name for name in every if name.startswith("Wireless Mouse")}
    assert len(stands) == 12 and len(mice) == 8  # drafts (every 6th, all mice) never show

    for words, expected in (
        ("lapt", stands),
        ("LAPT", stands),
        ("laptop", stands),
        ("stan", stands),
        ("laptop stand", stands),
        ("stand  lapt", stands),
        ("wire mou", mice),
        ("quiet", mice),  # description
        ("stand mouse", set()),  # every word must match: no product has both
        ("wireless stand", set()),
        ("laptop zzz", set()),
    ):
        connection = await search(gql, words)
        assert set(names(connection)) == expected, words
        assert connection["totalCount"] == len(expected), words
        if not expected:
            assert connection == EMPTY, words

    # Digits in a name are words too.
    assert names(await search(gql, "stand 13")) == ["Laptop Stand 13"]


async def test_search_with_filters_and_visibility(gql: GraphQLClient, services: Services) -> None:
    catalog = await build_catalog(services, products=24, reviews_per_product=0, users=1)
    rows = await product_rows(services)
    in_stock_leaf_stands = {
        row.name
        for row in rows
        if row.name.startswith("Laptop") and row.stock > 0 and row.category_id == catalog.leaf.id
    }
    connection = await search(
        gql, "lapt", inStock=True, categoryId=gid("Category", catalog.leaf.id)
    )
    assert set(names(connection)) == in_stock_leaf_stands
    assert connection["totalCount"] == len(in_stock_leaf_stands)
    # Drafts: staff only.
    assert (await search(gql, "wireless mouse 6")) == EMPTY
    _, staff_token = await new_user(services, Role.STAFF)
    staff = gql.as_user(staff_token)
    assert names(await search(staff, "wireless mouse 6")) == ["Wireless Mouse 6"]
    assert (await search(gql, "SKU-0006")) == EMPTY
    assert names(await search(staff, "SKU-0006")) == ["Wireless Mouse 6"]


async def test_sku(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=24, reviews_per_product=0, users=1)
    for words in ("SKU-0013", "sku-0013", "sku 0013", "SKU0013"):
        connection = await search(gql, words)
        assert [(e["node"]["sku"], e["node"]["name"]) for e in connection["edges"]] == [
            ("SKU-0013", "Laptop Stand 13")
        ], words
    # A SKU prefix: SKU-0010 to SKU-0019, drafts (12, 18) aside.
    prefix = await search(gql, "SKU-001")
    skus = sorted(edge["node"]["sku"] for edge in prefix["edges"])
    assert skus == [f"SKU-00{i}" for i in range(10, 20) if i % 6]
    assert prefix["totalCount"] == 8
    assert (await search(gql, "SKU-9999")) == EMPTY


async def test_name_outranks_description(gql: GraphQLClient, services: Services) -> None:
    # Created first, so it has the lowest id: ties would put it last, not first.
    await execute(
        services,
        "INSERT INTO products (sku, name, slug, description, price, stock, status, created_at)"
        " VALUES ('TRAY-1', 'Aluminium Tray', 'tray', 'Plain.', 9, 1, 'published', :at)",
        at=EPOCH,
    )
    await build_catalog(services, products=12, reviews_per_product=0, users=1)
    # "aluminium" is in every stand's description ("A sturdy aluminium stand.").
    ranked = names(await search(gql, "aluminium"))
    assert ranked[0] == "Aluminium Tray"
    assert len(ranked) == 7 and all(name.startswith("Laptop Stand") for name in ranked[1:])
    ascending = await gql.data(
        SEARCH,
        {
            "first": 100,
            "filter": {"search": "alumin"},
            "sort": {"field": "RELEVANCE", "direction": "ASC"},
        },
    )
    assert names(ascending["products"])[-1] == "Aluminium Tray"
    assert names(ascending["products"])[:-1] == list(reversed(ranked[1:]))


async def relevance_order(services: Services, words: str, direction: str) -> list[str]:
    """The expected order: rank, then id, both in `direction`."""
    order = "DESC" if direction == "DESC" else "ASC"
    async with services.sessions() as session:
        result = await session.execute(
            text(
                "SELECT id FROM products, to_tsquery('english', :q) q "
                "WHERE status = 'published' AND search_vector @@ q "
                f"ORDER BY ts_rank_cd(search_vector, q) {order}, id {order}"
            ),
            {"q": words},
        )
        return [gid("Product", key) for key in result.scalars()]


@pytest.mark.parametrize("direction", ["DESC", "ASC"])
async def test_relevance_pages_both_ways(
    gql: GraphQLClient, services: Services, direction: str
) -> None:
    await build_catalog(services, products=40, reviews_per_product=0, users=1)
    # Ranks differ: some mice mention a stand in their description, some stands twice.
    await execute(
        services,
        "UPDATE products SET description = 'Rests on a stand.' "
        "WHERE name LIKE 'Wireless%' AND id % 4 = 1",
    )
    await execute(
        services,
        "UPDATE products SET description = 'A stand, a stand.' "
        "WHERE name LIKE 'Laptop%' AND id % 3 = 0",
    )
    expected = await relevance_order(services, "stand:*", direction)
    assert len(expected) > 21
    sort = {"field": "RELEVANCE", "direction": direction}
    filter = {"search": "stand"}
    assert await walk_forward(gql, sort=sort, filter=filter, total=len(expected)) == expected
    assert await walk_backward(gql, sort=sort, filter=filter, total=len(expected)) == expected
    # RELEVANCE is the default order of a search.
    default = await walk_forward(gql, filter=filter, size=10)
    assert default == await relevance_order(services, "stand:*", "DESC")
    # Other orders still apply to a search.
    by_name = await walk_forward(gql, sort={"field": "NAME"}, filter=filter, size=10)
    rows = {gid("Product", row.id): row for row in await product_rows(services)}
    assert by_name == sorted(expected, key=lambda key: (rows[key].name, rows[key].id))


async def test_typos_fall_back_to_similar_names(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=40, reviews_per_product=0, users=1)
    mice = [name for name in await visible_names(services) if name.startswith("Wireless")]
    assert len(mice) == 13

    connection = await search(gql, "wirless mose")
    assert sorted(names(connection)) == sorted(mice)
    assert connection["totalCount"] == len(mice)
    assert all(edge["cursor"].startswith("~") for edge in connection["edges"])
    assert names(await search(gql, "lptop stnd")) != []
    assert names(await search(gql, "wirless")) == names(connection)

    # Paging on keeps the typo-tolerant mode (the "~" cursors), without repeats or skips.
    seen: list[str] = []
    after = None
    for page in range(10):
        variables = {"first": 4, "after": after, "filter": {"search": "wirless mose"}}
        products = (await gql.data(SEARCH, variables))["products"]
        assert products["totalCount"] == len(mice)
        assert products["pageInfo"]["hasPreviousPage"] is (page > 0)
        seen += names(products)
        if not products["pageInfo"]["hasNextPage"]:
            break
        after = products["pageInfo"]["endCursor"]
        assert after.startswith("~")
    assert seen == names(connection)
    assert len(seen) == len(set(seen)) == len(mice)
    backward = await walk_backward(gql, filter={"search": "wirless mose"}, size=4)
    assert backward == [edge["node"]["id"] for edge in connection["edges"]]

    # Typos are forgiven word by word: a misspelt word of another product finds nothing.
    assert (await search(gql, "wirless stnd")) == EMPTY
    # A "~" cursor is no cursor for a plain listing.
    body = await gql.post(SEARCH, {"first": 4, "after": after})
    assert error_codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.usefixtures("client")  # empty tables
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "executor"])
async def test_typos_are_looked_up_in_the_trigram_index(
    settings: Settings, services: Services, compiled: bool
) -> None:
    """The typo fallback must not read every product's name: its statement has conditions
    the trigram index on names answers, and every connection sets the threshold those
    conditions need (`<%` is "word similarity >= the setting")."""
    await build_catalog(services, products=40, reviews_per_product=0, users=1)
    async with running_app(settings, compiled_queries=compiled) as application:
        engine = application.state.services.sessions.kw["bind"].sync_engine
        statements: list[tuple[str, Any]] = []

        def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            statements.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", record)
        gql = client_of(application)
        try:
            async with gql.http:
                assert (await search(gql, "wirless mose"))["totalCount"] == 13
        finally:
            event.remove(engine, "before_cursor_execute", record)
        fuzzy = [(statement, values) for statement, values in statements if "<%" in statement]
        assert fuzzy, statements
        async with application.state.services.sessions() as session, session.begin():
            threshold = await session.scalar(text("SHOW pg_trgm.word_similarity_threshold"))
            assert float(threshold) == TRIGRAM_THRESHOLD
            # Nothing else to read the typo part by: the indexes that would answer its status
            # condition dropped (rolled back with this transaction), sequential scans off.
            # Left with the trigram index, the plan reads it only if the statement's
            # conditions are the ones that index answers.
            others = await session.scalars(
                text("""
                SELECT indexname FROM pg_indexes
                WHERE tablename = 'products' AND indexdef LIKE '%(status%'
                """)
            )
            for index in others.all():
                await session.execute(text(f'DROP INDEX "{index}"'))
            await session.execute(text("SET LOCAL enable_seqscan = off"))
            connection = await session.connection()
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            for statement, values in fuzzy:
                plan = await driver.fetch(f"EXPLAIN {statement}", *values)
                assert "ix_products_name_trgm" in str(plan), statement


async def test_count_only_search_counts_the_matches(gql: GraphQLClient, services: Services) -> None:
    """`first: 0` (or `last: 0`) asks just for totalCount: it must not switch to typo mode."""
    await build_catalog(services, products=24, reviews_per_product=0, users=1)
    for words in ("aluminium", "quiet", "wirless mose", "SKU-001"):
        full = await search(gql, words)
        assert full["totalCount"] > 0, words
        for size in ({"first": 0}, {"last": 0}):
            variables = {**size, "filter": {"search": words}}
            counted = (await gql.data(SEARCH, variables))["products"]
            assert counted["totalCount"] == full["totalCount"], (words, size)
            assert counted["edges"] == []


async def test_nothing_found_and_punctuation(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=12, reviews_per_product=0, users=1)
    for words in ("zzqqxx", "!!!", "...", "- - -", "   ", "?", "the"):
        assert (await search(gql, words)) == EMPTY, words
    # Punctuation only, sorted by relevance: still just empty.
    body = await gql.post(
        SEARCH, {"filter": {"search": "!!!"}, "sort": {"field": "RELEVANCE"}, "first": 5}
    )
    assert without_cost(body) == {"data": {"products": EMPTY}}


HOSTILE = [
    "'",
    "''",
    "&",
    "|",
    "!",
    ":*",
    "\\",
    "\\'",
    "lapt:*",
    "lapt:*A",
    "laptop & !stand",
    "laptop | mouse",
    "!laptop",
    "(stand",
    "stand)",
    "<->",
    "laptop <-> stand",
    "a'b & c | !d :* \\",
    "%",
    "_",
    "*",
    "stand%",
    "');DROP TABLE products;--",
    "\u00e9t\u00e9 na\u00efve",
    "x" * 500,
    " ".join(["stand"] * 50),
    "\u0001",  # (NUL never gets this far: BAD_USER_INPUT at the boundary, see test_input_strings)
]


async def test_query_syntax_never_errors(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=6, reviews_per_product=0, users=1)
    for words in HOSTILE:
        for sort in (None, {"field": "RELEVANCE"}, {"field": "NAME"}):
            variables = {"first": 2, "filter": {"search": words}, "sort": sort}
            body = await gql.post(SEARCH, variables)
            assert "errors" not in body, (words, body)
            connection = body["data"]["products"]
            assert connection["totalCount"] >= len(connection["edges"])
            if connection["pageInfo"]["hasNextPage"]:
                after = connection["pageInfo"]["endCursor"]
                body = await gql.post(SEARCH, {**variables, "after": after})
                assert "errors" not in body, (words, body)


async def test_operators_are_plain_words(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=12, reviews_per_product=0, users=1)
    stands = names(await search(gql, "laptop stand"))
    assert stands
    # Negation and alternatives are not operators: the words are all required.
    assert names(await search(gql, "laptop & !stand")) == stands
    assert names(await search(gql, "lapt:*")) == stands
    assert (await search(gql, "laptop | mouse")) == EMPTY


async def test_relevance_needs_a_search(gql: GraphQLClient, services: Services) -> None:
    await build_catalog(services, products=3, reviews_per_product=0, users=1)
    for direction in ("ASC", "DESC", None):
        body = await gql.post(PAGE, {"sort": {"field": "RELEVANCE", "direction": direction}})
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["data"] is None
