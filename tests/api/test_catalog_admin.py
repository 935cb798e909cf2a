"""Staff catalog writes over HTTP: categories (create, update, move, delete) and products
(create, update, archive, delete), their validation (nothing written on any error), uniqueness
under concurrency, tree moves and who may call them."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from db import catalog_rules as catalog_input
from db import slugs
from db.catalog import Product
from db.orders import Order, OrderLine
from db.reviews import Review
from db.users import Role, User
from resolvers.catalog import categories as categories_admin
from resolvers.catalog import products as products_admin
from resolvers.context import Services
from resolvers.orders.purchases import was_ordered
from tests.support.graphql import GraphQLClient, SignUp

CATEGORY_FIELDS = "id name slug description parent { id } ancestors { id slug }"
PRODUCT_FIELDS = """
  id sku name slug description status stock
  price { amount currency } attributes images { url alt } category { id }
"""

CREATE_CATEGORY = f"""
mutation ($input: CreateCategoryInput!) {{
  createCategory(input: $input) {{
    category {{ {CATEGORY_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
UPDATE_CATEGORY = f"""
mutation ($id: ID!, $input: UpdateCategoryInput!) {{
  updateCategory(id: $id, input: $input) {{
    category {{ {CATEGORY_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
MOVE_CATEGORY = f"""
mutation ($id: ID!, $parentId: ID) {{
  moveCategory(id: $id, parentId: $parentId) {{
    category {{ {CATEGORY_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
DELETE_CATEGORY = """
mutation ($id: ID!) { deleteCategory(id: $id) { deletedId errors { field code message } } }
"""
CREATE_PRODUCT = f"""
mutation ($input: CreateProductInput!) {{
  createProduct(input: $input) {{
    product {{ {PRODUCT_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
UPDATE_PRODUCT = f"""
mutation ($id: ID!, $input: UpdateProductInput!) {{
  updateProduct(id: $id, input: $input) {{
    product {{ {PRODUCT_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
ARCHIVE_PRODUCT = f"""
mutation ($id: ID!) {{
  archiveProduct(id: $id) {{ product {{ {PRODUCT_FIELDS} }} errors {{ field code message }} }}
}}
"""
DELETE_PRODUCT = """
mutation ($id: ID!) { deleteProduct(id: $id) { deletedId errors { field code message } } }
"""
CATEGORY = f"query ($id: ID!) {{ category(id: $id) {{ {CATEGORY_FIELDS} }} }}"
PRODUCT = "query ($id: ID!) { product(id: $id) { id name status price { amount currency } } }"
STAFF_PRODUCT = f"query ($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"


# --- helpers ------------------------------------------------------------------------------


def global_id(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def key_of(gid: str) -> int:
    return int(base64.urlsafe_b64decode(gid).decode().split(":", 1)[1])


def problems(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def run(client: GraphQLClient, document: str, **variables: Any) -> dict[str, Any]:
    """The payload of the operation's only mutation (or query) field."""
    data = await client.data(document, variables)
    (payload,) = data.values()
    assert isinstance(payload, dict) or payload is None
    return payload or {}


async def new_category(client: GraphQLClient, name: str, **fields: Any) -> dict[str, Any]:
    payload = await run(client, CREATE_CATEGORY, input={"name": name, **fields})
    assert payload["errors"] == [], payload
    category: dict[str, Any] = payload["category"]
    return category


async def new_product(client: GraphQLClient, name: str, sku: str, **fields: Any) -> dict[str, Any]:
    payload = await run(
        client, CREATE_PRODUCT, input={"name": name, "sku": sku, "price": "10.00", **fields}
    )
    assert payload["errors"] == [], payload
    product: dict[str, Any] = payload["product"]
    return product


async def snapshot(services: Services) -> tuple[list[Any], list[Any]]:
    """Every catalog row, updated_at included: equal snapshots mean nothing was written."""
    async with services.sessions() as session:
        categories = (
            await session.execute(
                text(
                    "SELECT id, parent_id, path, name, slug, description, updated_at "
                    "FROM categories ORDER BY id"
                )
            )
        ).all()
        products = (
            await session.execute(
                text(
                    "SELECT id, sku, name, slug, description, price, currency, stock, status, "
                    "category_id, attributes, images, updated_at FROM products ORDER BY id"
                )
            )
        ).all()
    return list(categories), list(products)


async def paths(services: Services) -> dict[str, list[int]]:
    async with services.sessions() as session:
        rows = (await session.execute(text("SELECT slug, path FROM categories"))).all()
    return {slug: list(path) for slug, path in rows}


@pytest.fixture
async def staff(gql: GraphQLClient, sign_up: SignUp) -> GraphQLClient:
    account = await sign_up(role="staff")
    return gql.as_user(account.access_token)


# --- who may write ------------------------------------------------------------------------


async def _every_mutation(
    staff: GraphQLClient,
) -> list[tuple[str, dict[str, Any]]]:
    root = await new_category(staff, "Root")
    leaf = await new_category(staff, "Leaf", parentId=root["id"])
    product = await new_product(staff, "Lamp", "L-1", status="PUBLISHED")
    return [
        (CREATE_CATEGORY, {"input": {"name": "New"}}),
        (UPDATE_CATEGORY, {"id": leaf["id"], "input": {"name": "Renamed"}}),
        (MOVE_CATEGORY, {"id": leaf["id"], "parentId": None}),
        (DELETE_CATEGORY, {"id": leaf["id"]}),
        (CREATE_PRODUCT, {"input": {"name": "Desk", "sku": "D-1", "price": "1.00"}}),
        (UPDATE_PRODUCT, {"id": product["id"], "input": {"price": "2.00"}}),
        (ARCHIVE_PRODUCT, {"id": product["id"]}),
        (DELETE_PRODUCT, {"id": product["id"]}),
    ]


@pytest.mark.parametrize("role", ["anonymous", "customer"])
async def test_only_staff_may_write_the_catalog(
    gql: GraphQLClient, staff: GraphQLClient, sign_up: SignUp, services: Services, role: str
) -> None:
    mutations = await _every_mutation(staff)
    if role == "anonymous":
        caller, expected = gql.as_user(None), "UNAUTHENTICATED"
    else:
        caller, expected = gql.as_user((await sign_up()).access_token), "FORBIDDEN"
    before = await snapshot(services)
    for document, variables in mutations:
        body = await caller.post(document, variables)
        assert body["data"] is None, body
        assert [error["extensions"]["code"] for error in body["errors"]] == [expected]
    assert await snapshot(services) == before


async def test_admins_may_write_the_catalog(gql: GraphQLClient, sign_up: SignUp) -> None:
    admin = gql.as_user((await sign_up(role="admin")).access_token)
    category = await new_category(admin, "Admin Made")
    assert category["slug"] == "admin-made"


# --- categories ---------------------------------------------------------------------------


async def test_create_category_root_and_child(staff: GraphQLClient, services: Services) -> None:
    root = await new_category(staff, "  Home \n\t Garden ", description="Outdoors.")
    assert root["name"] == "Home Garden"  # whitespace collapsed
    assert root["slug"] == "home-garden"
    assert root["description"] == "Outdoors."
    assert root["parent"] is None and root["ancestors"] == []
    child = await new_category(staff, "Tools", slug="garden-tools", parentId=root["id"])
    assert child["slug"] == "garden-tools"
    assert child["parent"] == {"id": root["id"]}
    grandchild = await new_category(staff, "Spades", parentId=child["id"])
    assert [a["slug"] for a in grandchild["ancestors"]] == ["home-garden", "garden-tools"]
    assert await paths(services) == {
        "home-garden": [],
        "garden-tools": [key_of(root["id"])],
        "spades": [key_of(root["id"]), key_of(child["id"])],
    }
    fetched = await run(staff, CATEGORY, id=grandchild["id"])
    assert fetched == grandchild


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Crème", "cafe-creme"),
        ("  Hello   World  ", "hello-world"),
        ("Ünïcödé & Co.", "unicode-co"),
        ("Laptops 2 Go!!", "laptops-2-go"),
        ("--Dashes--", "dashes"),
        ("日本語", "category"),
        ("x" * 100, "x" * 100),
    ],
)
async def test_category_slug_generated_from_name(
    staff: GraphQLClient, name: str, slug: str
) -> None:
    assert (await new_category(staff, name))["slug"] == slug


async def test_generated_category_slugs_are_deduplicated(staff: GraphQLClient) -> None:
    slugs = [(await new_category(staff, "Shoes"))["slug"] for _ in range(3)]
    assert slugs == ["shoes", "shoes-2", "shoes-3"]
    # A suffix never pushes the slug past its limit.
    long = [(await new_category(staff, "y" * 100, slug=None))["slug"] for _ in range(2)]
    assert long == ["y" * 100, "y" * 100 + "-2"]


async def test_explicit_category_slug_taken(staff: GraphQLClient, services: Services) -> None:
    await new_category(staff, "Shoes")
    before = await snapshot(services)
    payload = await run(staff, CREATE_CATEGORY, input={"name": "Boots", "slug": "shoes"})
    assert problems(payload) == [("slug", "SLUG_TAKEN")]
    assert payload["category"] is None
    assert await snapshot(services) == before


UNKNOWN_CATEGORY = global_id("Category", 999999)
PRODUCT_NOT_CATEGORY = global_id("Product", 1)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": ""}, [("name", "INVALID_INPUT")]),
        ({"name": " \n\t "}, [("name", "INVALID_INPUT")]),
        ({"name": "x" * 101}, [("name", "INVALID_INPUT")]),
        ({"name": "esc\x1bbyte"}, [("name", "INVALID_INPUT")]),
        ({"name": "bell\x07"}, [("name", "INVALID_INPUT")]),
        ({"name": "\u202eevil"}, [("name", "INVALID_INPUT")]),
        ({"slug": "Bad Slug"}, [("slug", "INVALID_INPUT")]),
        ({"slug": "UPPER"}, [("slug", "INVALID_INPUT")]),
        ({"slug": "-lead"}, [("slug", "INVALID_INPUT")]),
        ({"slug": "trail-"}, [("slug", "INVALID_INPUT")]),
        ({"slug": "double--dash"}, [("slug", "INVALID_INPUT")]),
        ({"slug": ""}, [("slug", "INVALID_INPUT")]),
        ({"slug": "a" * 121}, [("slug", "INVALID_INPUT")]),
        ({"description": "d" * 10_001}, [("description", "INVALID_INPUT")]),
        ({"description": "esc\x1b"}, [("description", "INVALID_INPUT")]),
        ({"parentId": UNKNOWN_CATEGORY}, [("parentId", "NOT_FOUND")]),
        ({"parentId": PRODUCT_NOT_CATEGORY}, [("parentId", "NOT_FOUND")]),
        (
            {"name": "", "slug": "Bad", "description": "\x1b"},
            [
                ("name", "INVALID_INPUT"),
                ("slug", "INVALID_INPUT"),
                ("description", "INVALID_INPUT"),
            ],
        ),
    ],
)
async def test_create_category_refuses_bad_input(
    staff: GraphQLClient, services: Services, fields: dict[str, Any], expected: list[Any]
) -> None:
    await new_category(staff, "Existing")
    before = await snapshot(services)
    payload = await run(staff, CREATE_CATEGORY, input={"name": "Fine", **fields})
    assert problems(payload) == expected
    assert payload["category"] is None
    assert all(error["message"] for error in payload["errors"])
    assert await snapshot(services) == before


async def post_ascii_json(
    client: GraphQLClient, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """Post with every non-ASCII character escaped: the only way to send a lone surrogate."""
    assert client.token is not None
    response = await client.http.post(
        "/graphql",
        content=json.dumps({"query": document, "variables": variables}, ensure_ascii=True),
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {client.token}",
        },
    )
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("document", "fields"),
    [
        (CREATE_CATEGORY, {"name": "lone \ud800"}),
        (CREATE_CATEGORY, {"name": "ok", "description": "lone \udfff"}),
        (CREATE_CATEGORY, {"name": "nul\x00byte"}),
        (CREATE_PRODUCT, {"name": "lone \ud800"}),
        (CREATE_PRODUCT, {"description": "lone \ud800"}),
        (CREATE_PRODUCT, {"attributes": {"k": "lone \ud800"}}),
        (CREATE_PRODUCT, {"attributes": {"\ud800": 1}}),
        (CREATE_PRODUCT, {"attributes": {"k": "nul\x00"}}),
        (CREATE_PRODUCT, {"attributes": {"k\x00": 1}}),
        (CREATE_PRODUCT, {"images": [{"url": "https://x.com/a", "alt": "\ud800"}]}),
    ],
)
async def test_unstorable_characters_are_refused_at_the_boundary(
    staff: GraphQLClient, services: Services, document: str, fields: dict[str, Any]
) -> None:
    """NUL and lone surrogates would fail in PostgreSQL (as an INTERNAL_SERVER_ERROR) if they
    got that far: the request is refused before anything runs (schema.input_strings)."""
    base = (
        {"name": "Fine"} if document == CREATE_CATEGORY else {"name": "F", "sku": "F", "price": "1"}
    )
    body = await post_ascii_json(staff, document, {"input": {**base, **fields}})
    assert "data" not in body, body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert await snapshot(services) == ([], [])


async def test_long_description_and_line_breaks_are_kept(staff: GraphQLClient) -> None:
    text_ = "Line one.\nLine two.\t" + "d" * 9_000
    category = await new_category(staff, "Described", description=f"  {text_}  ")
    assert category["description"] == text_.strip()


async def test_update_category_changes_only_given_fields(
    staff: GraphQLClient, services: Services
) -> None:
    category = await new_category(staff, "Kitchen", description="Pots.")
    payload = await run(
        staff, UPDATE_CATEGORY, id=category["id"], input={"description": "Pots and pans."}
    )
    assert payload["errors"] == []
    assert payload["category"] == {**category, "description": "Pots and pans."}
    payload = await run(staff, UPDATE_CATEGORY, id=category["id"], input={"name": "  Cook  Ware"})
    # The slug is not regenerated from a new name: links keep working.
    assert payload["category"] == {**category, "name": "Cook Ware", "description": "Pots and pans."}
    payload = await run(
        staff, UPDATE_CATEGORY, id=category["id"], input={"slug": "cookware", "name": None}
    )
    assert payload["category"]["slug"] == "cookware"
    assert payload["category"]["name"] == "Cook Ware"
    assert (await run(staff, CATEGORY, id=category["id"]))["slug"] == "cookware"


async def test_update_category_refusals(staff: GraphQLClient, services: Services) -> None:
    category = await new_category(staff, "Kitchen")
    await new_category(staff, "Garden")
    before = await snapshot(services)
    cases: list[tuple[str, dict[str, Any], list[Any]]] = [
        (category["id"], {"slug": "garden"}, [("slug", "SLUG_TAKEN")]),
        (category["id"], {"name": ""}, [("name", "INVALID_INPUT")]),
        (category["id"], {"name": "ok", "slug": "Not OK"}, [("slug", "INVALID_INPUT")]),
        (UNKNOWN_CATEGORY, {"name": "ok"}, [("id", "NOT_FOUND")]),
        (global_id("Product", key_of(category["id"])), {"name": "ok"}, [("id", "NOT_FOUND")]),
        (UNKNOWN_CATEGORY, {"name": ""}, [("id", "NOT_FOUND"), ("name", "INVALID_INPUT")]),
    ]
    for gid, fields, expected in cases:
        payload = await run(staff, UPDATE_CATEGORY, id=gid, input=fields)
        assert problems(payload) == expected, (gid, fields)
        assert payload["category"] is None
    assert await snapshot(services) == before
    # Its own slug is not "taken".
    payload = await run(staff, UPDATE_CATEGORY, id=category["id"], input={"slug": "kitchen"})
    assert payload["errors"] == []


async def _tree(staff: GraphQLClient) -> dict[str, dict[str, Any]]:
    """a > b > c > d, a > e, and a separate root r."""
    nodes: dict[str, dict[str, Any]] = {}
    nodes["a"] = await new_category(staff, "a")
    nodes["b"] = await new_category(staff, "b", parentId=nodes["a"]["id"])
    nodes["c"] = await new_category(staff, "c", parentId=nodes["b"]["id"])
    nodes["d"] = await new_category(staff, "d", parentId=nodes["c"]["id"])
    nodes["e"] = await new_category(staff, "e", parentId=nodes["a"]["id"])
    nodes["r"] = await new_category(staff, "r")
    return nodes


async def _ancestors(client: GraphQLClient, gid: str) -> list[str]:
    return [a["slug"] for a in (await run(client, CATEGORY, id=gid))["ancestors"]]


async def test_move_category_rewrites_the_subtree(staff: GraphQLClient, services: Services) -> None:
    t = await _tree(staff)
    key = {name: key_of(node["id"]) for name, node in t.items()}
    payload = await run(staff, MOVE_CATEGORY, id=t["b"]["id"], parentId=t["r"]["id"])
    assert payload["errors"] == []
    assert payload["category"]["parent"] == {"id": t["r"]["id"]}
    assert [a["slug"] for a in payload["category"]["ancestors"]] == ["r"]
    # The grandchild (and deeper) follow, through the API and in the stored paths.
    assert await _ancestors(staff, t["c"]["id"]) == ["r", "b"]
    assert await _ancestors(staff, t["d"]["id"]) == ["r", "b", "c"]
    assert await paths(services) == {
        "a": [],
        "b": [key["r"]],
        "c": [key["r"], key["b"]],
        "d": [key["r"], key["b"], key["c"]],
        "e": [key["a"]],  # the sibling subtree is untouched
        "r": [],
    }
    # Back to the top level (parentId null) ...
    payload = await run(staff, MOVE_CATEGORY, id=t["b"]["id"], parentId=None)
    assert payload["errors"] == [] and payload["category"]["ancestors"] == []
    assert await _ancestors(staff, t["d"]["id"]) == ["b", "c"]
    # ... and deeper, under a leaf of another subtree.
    payload = await run(staff, MOVE_CATEGORY, id=t["b"]["id"], parentId=t["e"]["id"])
    assert payload["errors"] == []
    assert await _ancestors(staff, t["d"]["id"]) == ["a", "e", "b", "c"]
    assert (await paths(services))["d"] == [key["a"], key["e"], key["b"], key["c"]]
    # Omitting parentId also means "top level".
    payload = await run(staff, MOVE_CATEGORY, id=t["b"]["id"])
    assert payload["errors"] == [] and payload["category"]["parent"] is None
    assert await _ancestors(staff, t["d"]["id"]) == ["b", "c"]


async def test_move_category_uses_one_update_for_the_subtree(
    staff: GraphQLClient, count_statements: Any
) -> None:
    t = await _tree(staff)
    count_statements.statements.clear()
    payload = await run(staff, MOVE_CATEGORY, id=t["a"]["id"], parentId=t["r"]["id"])
    assert payload["errors"] == []
    updates = [s for s in count_statements.statements if s.lstrip().startswith("UPDATE")]
    # One for the four descendants, one for the moved category itself.
    assert len(updates) == 2, updates
    assert await _ancestors(staff, t["d"]["id"]) == ["r", "a", "b", "c"]


async def test_move_to_the_same_parent_writes_nothing(
    staff: GraphQLClient, services: Services
) -> None:
    t = await _tree(staff)
    before = await snapshot(services)
    payload = await run(staff, MOVE_CATEGORY, id=t["c"]["id"], parentId=t["b"]["id"])
    assert payload["errors"] == [] and payload["category"]["parent"] == {"id": t["b"]["id"]}
    payload = await run(staff, MOVE_CATEGORY, id=t["a"]["id"], parentId=None)
    assert payload["errors"] == []
    assert await snapshot(services) == before


@pytest.mark.parametrize(
    ("moved", "parent", "expected"),
    [
        ("a", "a", [("parentId", "CYCLE")]),
        ("a", "b", [("parentId", "CYCLE")]),
        ("a", "d", [("parentId", "CYCLE")]),
        ("b", "c", [("parentId", "CYCLE")]),
        ("a", "unknown", [("parentId", "NOT_FOUND")]),
        ("unknown", "a", [("id", "NOT_FOUND")]),
    ],
)
async def test_move_category_refusals(
    staff: GraphQLClient,
    services: Services,
    moved: str,
    parent: str | None,
    expected: list[Any],
) -> None:
    t = await _tree(staff)
    ids: dict[str | None, str | None] = {
        **{name: node["id"] for name, node in t.items()},
        "unknown": UNKNOWN_CATEGORY,
        None: None,
    }
    before = await snapshot(services)
    payload = await run(staff, MOVE_CATEGORY, id=ids[moved], parentId=ids[parent])
    assert problems(payload) == expected
    assert payload["category"] is None
    assert await snapshot(services) == before


async def test_concurrent_crossing_moves_cannot_make_a_cycle(
    staff: GraphQLClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """x under y and y under x at once: each alone is fine, both would make a cycle."""
    x = await new_category(staff, "x")
    y = await new_category(staff, "y")
    real_locked_category = categories_admin.locked_category

    async def slow_locked_category(*args: Any, **kwargs: Any) -> Any:
        # Hold the transaction open after each lock so that the two moves overlap.
        row = await real_locked_category(*args, **kwargs)
        await asyncio.sleep(0.1)
        return row

    monkeypatch.setattr(categories_admin, "locked_category", slow_locked_category)
    first, second = await asyncio.gather(
        run(staff, MOVE_CATEGORY, id=x["id"], parentId=y["id"]),
        run(staff, MOVE_CATEGORY, id=y["id"], parentId=x["id"]),
    )
    outcomes = sorted([problems(first), problems(second)])
    assert outcomes == [[], [("parentId", "CYCLE")]]
    stored = await paths(services)
    assert sorted(map(len, stored.values())) == [0, 1]


async def test_delete_category(staff: GraphQLClient, services: Services) -> None:
    root = await new_category(staff, "Root")
    leaf = await new_category(staff, "Leaf", parentId=root["id"])
    payload = await run(staff, DELETE_CATEGORY, id=leaf["id"])
    assert payload == {"deletedId": leaf["id"], "errors": []}
    assert (await staff.data(CATEGORY, {"id": leaf["id"]}))["category"] is None
    # With its only child gone, the root is an empty leaf too.
    payload = await run(staff, DELETE_CATEGORY, id=root["id"])
    assert payload == {"deletedId": root["id"], "errors": []}
    assert await paths(services) == {}


async def test_delete_category_refusals(staff: GraphQLClient, services: Services) -> None:
    root = await new_category(staff, "Root")
    child = await new_category(staff, "Child", parentId=root["id"])
    grandchild = await new_category(staff, "Grandchild", parentId=child["id"])
    holder = await new_category(staff, "Holder")
    await new_product(staff, "Deep", "DEEP-1", categoryId=grandchild["id"])
    await new_product(staff, "Direct", "DIRECT-1", categoryId=holder["id"])
    before = await snapshot(services)

    payload = await run(staff, DELETE_CATEGORY, id=holder["id"])
    assert problems(payload) == [("id", "CATEGORY_NOT_EMPTY")]
    assert "1 product" in payload["errors"][0]["message"]
    assert payload["deletedId"] is None

    # Products below it (not directly in it) and a subcategory: both reasons are given.
    payload = await run(staff, DELETE_CATEGORY, id=root["id"])
    assert problems(payload) == [("id", "CATEGORY_NOT_EMPTY"), ("id", "CATEGORY_NOT_EMPTY")]
    messages = " ".join(error["message"] for error in payload["errors"])
    assert "product" in messages and "subcategories" in messages

    for gid in (UNKNOWN_CATEGORY, PRODUCT_NOT_CATEGORY):
        payload = await run(staff, DELETE_CATEGORY, id=gid)
        assert problems(payload) == [("id", "NOT_FOUND")]
    assert await snapshot(services) == before


async def test_delete_category_with_only_a_child_is_refused(
    staff: GraphQLClient, services: Services
) -> None:
    root = await new_category(staff, "Root")
    await new_category(staff, "Child", parentId=root["id"])
    payload = await run(staff, DELETE_CATEGORY, id=root["id"])
    assert problems(payload) == [("id", "CATEGORY_NOT_EMPTY")]
    assert "1 subcategories" in payload["errors"][0]["message"]


async def test_category_slug_race_is_decided_by_the_constraint(
    staff: GraphQLClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if a concurrent create committed between the check and the insert."""

    async def never_in_use(*args: Any, **kwargs: Any) -> bool:
        return False

    await new_category(staff, "Shoes")
    monkeypatch.setattr(categories_admin, "_slug_in_use", never_in_use)
    before = await snapshot(services)
    payload = await run(staff, CREATE_CATEGORY, input={"name": "Boots", "slug": "shoes"})
    assert problems(payload) == [("slug", "SLUG_TAKEN")]
    other = await new_category(staff, "Boots")
    payload = await run(staff, UPDATE_CATEGORY, id=other["id"], input={"slug": "shoes"})
    assert problems(payload) == [("slug", "SLUG_TAKEN")]
    assert (await snapshot(services))[0][:1] == before[0]


async def test_concurrent_category_creates_get_distinct_slugs(staff: GraphQLClient) -> None:
    results = await asyncio.gather(
        *(run(staff, CREATE_CATEGORY, input={"name": "Hats"}) for _ in range(3))
    )
    assert all(result["errors"] == [] for result in results)
    assert sorted(result["category"]["slug"] for result in results) == [
        "hats",
        "hats-2",
        "hats-3",
    ]


# --- products: create ---------------------------------------------------------------------


async def test_create_product_with_defaults(staff: GraphQLClient) -> None:
    payload = await run(
        staff, CREATE_PRODUCT, input={"name": "Desk Lamp", "sku": "lamp-01.a_b", "price": "19.99"}
    )
    assert payload["errors"] == []
    product = payload["product"]
    assert product["sku"] == "LAMP-01.A_B"  # stored upper-case
    assert product["slug"] == "desk-lamp"
    assert product["price"] == {"amount": "19.99", "currency": "USD"}
    assert product["status"] == "DRAFT"
    assert product["stock"] == 0
    assert product["description"] == ""
    assert product["attributes"] == {}
    assert product["images"] == []
    assert product["category"] is None


async def test_create_product_with_every_field(staff: GraphQLClient, gql: GraphQLClient) -> None:
    category = await new_category(staff, "Lighting")
    fields = {
        "name": "Desk   Lamp",
        "sku": "LAMP-2",
        "price": "1234.50",
        "currency": "EUR",
        "categoryId": category["id"],
        "stock": 7,
        "status": "PUBLISHED",
        "description": "Bright.\nAdjustable.",
        "slug": "the-desk-lamp",
        "attributes": {"color": "black", "watts": 40, "tags": ["led", "dimmable"]},
        "images": [
            {"url": "https://cdn.example.com/lamp.jpg", "alt": "A  lamp"},
            {"url": "http://example.com/lamp-2.png"},
        ],
    }
    product = (await run(staff, CREATE_PRODUCT, input=fields))["product"]
    expected = {
        "id": product["id"],
        "sku": "LAMP-2",
        "name": "Desk Lamp",
        "slug": "the-desk-lamp",
        "description": "Bright.\nAdjustable.",
        "status": "PUBLISHED",
        "stock": 7,
        "price": {"amount": "1234.50", "currency": "EUR"},
        "attributes": {"color": "black", "watts": 40, "tags": ["led", "dimmable"]},
        "images": [
            {"url": "https://cdn.example.com/lamp.jpg", "alt": "A lamp"},
            {"url": "http://example.com/lamp-2.png", "alt": ""},
        ],
        "category": {"id": category["id"]},
    }
    assert product == expected
    assert await run(staff, STAFF_PRODUCT, id=product["id"]) == expected
    # Published: the public sees it.
    public = await run(gql.as_user(None), PRODUCT, id=product["id"])
    assert public["price"] == {"amount": "1234.50", "currency": "EUR"}


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("19.99", "19.99"),
        ("19.9", "19.90"),
        ("19.990", "19.99"),
        ("0", "0.00"),
        ("-0", "0.00"),
        ("0.01", "0.01"),
        ("99999999.99", "99999999.99"),
        ("1E+2", "100.00"),
        (5, "5.00"),
        (0.1, "0.10"),
    ],
)
async def test_prices_are_exact(
    staff: GraphQLClient, services: Services, given: Any, stored: str
) -> None:
    payload = await run(staff, CREATE_PRODUCT, input={"name": "P", "sku": "P-1", "price": given})
    assert payload["errors"] == []
    assert payload["product"]["price"]["amount"] == stored
    read = await run(staff, STAFF_PRODUCT, id=payload["product"]["id"])
    assert read["price"]["amount"] == stored
    async with services.sessions() as session:
        assert (await session.get_one(Product, key_of(read["id"]))).price == Decimal(stored)


UNKNOWN_PRODUCT = global_id("Product", 999999)
CATEGORY_NOT_PRODUCT = global_id("Category", 1)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": ""}, [("name", "INVALID_INPUT")]),
        ({"name": "   "}, [("name", "INVALID_INPUT")]),
        ({"name": "n" * 201}, [("name", "INVALID_INPUT")]),
        ({"name": "tab\x1besc"}, [("name", "INVALID_INPUT")]),
        ({"name": "zero\u200bwidth"}, [("name", "INVALID_INPUT")]),
        ({"sku": ""}, [("sku", "INVALID_INPUT")]),
        ({"sku": "has space"}, [("sku", "INVALID_INPUT")]),
        ({"sku": "s" * 65}, [("sku", "INVALID_INPUT")]),
        ({"sku": "ünï"}, [("sku", "INVALID_INPUT")]),
        ({"sku": "a/b"}, [("sku", "INVALID_INPUT")]),
        ({"price": "-0.01"}, [("price", "INVALID_PRICE")]),
        ({"price": "100000000.00"}, [("price", "INVALID_PRICE")]),
        ({"price": "1.999"}, [("price", "INVALID_PRICE")]),
        ({"price": "0.001"}, [("price", "INVALID_PRICE")]),
        ({"price": "NaN"}, [("price", "INVALID_PRICE")]),
        ({"price": "-Infinity"}, [("price", "INVALID_PRICE")]),
        ({"price": "1E+40"}, [("price", "INVALID_PRICE")]),
        ({"currency": "usd"}, [("currency", "INVALID_CURRENCY")]),
        ({"currency": "US"}, [("currency", "INVALID_CURRENCY")]),
        ({"currency": "USDD"}, [("currency", "INVALID_CURRENCY")]),
        ({"currency": "XXX"}, [("currency", "INVALID_CURRENCY")]),
        ({"currency": "BHD"}, [("currency", "INVALID_CURRENCY")]),  # 3 minor units
        ({"currency": "JPY", "price": "19.99"}, [("price", "INVALID_PRICE")]),
        ({"stock": -1}, [("stock", "INVALID_INPUT")]),
        ({"stock": 10_000_001}, [("stock", "INVALID_INPUT")]),
        ({"description": "d" * 10_001}, [("description", "INVALID_INPUT")]),
        ({"description": "esc\x1b"}, [("description", "INVALID_INPUT")]),
        ({"slug": "Bad"}, [("slug", "INVALID_INPUT")]),
        ({"slug": "a--b"}, [("slug", "INVALID_INPUT")]),
        ({"slug": "s" * 221}, [("slug", "INVALID_INPUT")]),
        ({"attributes": [1, 2]}, [("attributes", "INVALID_INPUT")]),
        ({"attributes": "colour"}, [("attributes", "INVALID_INPUT")]),
        ({"attributes": 5}, [("attributes", "INVALID_INPUT")]),
        ({"attributes": {f"k{i}": i for i in range(51)}}, [("attributes", "INVALID_INPUT")]),
        ({"attributes": {"k": "v" * 17_000}}, [("attributes", "INVALID_INPUT")]),
        ({"attributes": {"": 1}}, [("attributes", "INVALID_INPUT")]),
        (
            {"images": [{"url": f"https://x.com/{i}.png"} for i in range(11)]},
            [("images", "INVALID_INPUT")],
        ),
        ({"images": [{"url": "javascript:alert(1)"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "data:image/png;base64,AAAA"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "/relative.png"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "//no-scheme.com/a.png"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "ftp://x.com/a.png"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "https://"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "https://exa mple.com/a.png"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "https://x.com/a\n.png"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "https://[::1/a.png"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "https://x.com:99999/a.png"}]}, [("images.0.url", "INVALID_URL")]),
        ({"images": [{"url": "https://x.com/" + "a" * 2040}]}, [("images.0.url", "INVALID_URL")]),
        (
            {"images": [{"url": "https://x.com/a.png", "alt": "a" * 301}]},
            [("images.0.alt", "INVALID_INPUT")],
        ),
        (
            {"images": [{"url": "https://x.com/a.png"}, {"url": "javascript:x", "alt": "\x1b"}]},
            [("images.1.url", "INVALID_URL"), ("images.1.alt", "INVALID_INPUT")],
        ),
        ({"categoryId": UNKNOWN_CATEGORY}, [("categoryId", "NOT_FOUND")]),
        ({"categoryId": UNKNOWN_PRODUCT}, [("categoryId", "NOT_FOUND")]),
        ({"sku": "TAKEN-1"}, [("sku", "SKU_TAKEN")]),
        ({"sku": "taken-1"}, [("sku", "SKU_TAKEN")]),
        ({"slug": "taken"}, [("slug", "SLUG_TAKEN")]),
        (
            {
                "name": "",
                "sku": "bad sku",
                "price": "-1",
                "currency": "eur",
                "stock": -5,
                "slug": "taken",
                "categoryId": UNKNOWN_CATEGORY,
                "images": [{"url": "data:x"}],
            },
            [
                ("name", "INVALID_INPUT"),
                ("sku", "INVALID_INPUT"),
                ("price", "INVALID_PRICE"),
                ("currency", "INVALID_CURRENCY"),
                ("stock", "INVALID_INPUT"),
                ("images.0.url", "INVALID_URL"),
                ("categoryId", "NOT_FOUND"),
                ("slug", "SLUG_TAKEN"),
            ],
        ),
    ],
)
async def test_create_product_refuses_bad_input(
    staff: GraphQLClient, services: Services, fields: dict[str, Any], expected: list[Any]
) -> None:
    await new_product(staff, "Taken", "TAKEN-1", slug="taken")
    before = await snapshot(services)
    payload = await run(
        staff, CREATE_PRODUCT, input={"name": "Fine", "sku": "FINE-1", "price": "1.00", **fields}
    )
    assert problems(payload) == expected
    assert payload["product"] is None
    assert all(error["message"] for error in payload["errors"])
    assert await snapshot(services) == before


@pytest.mark.parametrize("price", ["abc", "", "1,50"])
async def test_non_numeric_price_is_a_bad_input_error(
    staff: GraphQLClient, services: Services, price: str
) -> None:
    body = await staff.post(CREATE_PRODUCT, {"input": {"name": "P", "sku": "P", "price": price}})
    assert "errors" in body and not body.get("data")
    assert await snapshot(services) == ([], [])


@pytest.mark.parametrize(
    ("currency", "price", "amount"), [("JPY", "1999", "1999.00"), ("EUR", "0.5", "0.50")]
)
async def test_currencies(staff: GraphQLClient, currency: str, price: str, amount: str) -> None:
    product = await new_product(staff, "Yen", "Y-1", currency=currency, price=price)
    assert product["price"] == {"amount": amount, "currency": currency}


async def test_generated_product_slugs_are_deduplicated(staff: GraphQLClient) -> None:
    slugs = [(await new_product(staff, "Desk Lamp", f"LAMP-{i}"))["slug"] for i in range(3)]
    assert slugs == ["desk-lamp", "desk-lamp-2", "desk-lamp-3"]
    assert (await new_product(staff, "Ελληνικά", "GR-1"))["slug"] == "product"
    long = [(await new_product(staff, "z" * 200, f"Z-{i}"))["slug"] for i in range(2)]
    assert long == ["z" * 200, "z" * 200 + "-2"]


async def test_concurrent_creates_with_one_sku_exactly_one_wins(
    staff: GraphQLClient, services: Services
) -> None:
    results = await asyncio.gather(
        run(staff, CREATE_PRODUCT, input={"name": "One", "sku": "RACE-1", "price": "1.00"}),
        run(staff, CREATE_PRODUCT, input={"name": "Two", "sku": "race-1", "price": "2.00"}),
    )
    outcomes = sorted(problems(result) for result in results)
    assert outcomes == [[], [("sku", "SKU_TAKEN")]]
    _, products = await snapshot(services)
    assert len(products) == 1


async def test_concurrent_creates_with_one_name_get_distinct_slugs(
    staff: GraphQLClient,
) -> None:
    results = await asyncio.gather(
        *(
            run(staff, CREATE_PRODUCT, input={"name": "Mug", "sku": f"MUG-{i}", "price": "3"})
            for i in range(3)
        )
    )
    assert all(result["errors"] == [] for result in results)
    assert sorted(r["product"]["slug"] for r in results) == ["mug", "mug-2", "mug-3"]


async def test_sku_and_slug_races_are_decided_by_the_constraints(
    staff: GraphQLClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if a concurrent create committed between the checks and the insert."""
    original = products_admin._check_with_database

    async def category_only(session: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
        unchecked = dataclasses.replace(data, sku=None, slug=None)
        return await original(session, unchecked, *args, **kwargs)

    first = await new_product(staff, "First", "SKU-1", slug="first")
    second = await new_product(staff, "Second", "SKU-2")
    monkeypatch.setattr(products_admin, "_check_with_database", category_only)
    before = await snapshot(services)
    cases = [
        (
            CREATE_PRODUCT,
            {"input": {"name": "X", "sku": "sku-1", "price": "1"}},
            "sku",
            "SKU_TAKEN",
        ),
        (
            CREATE_PRODUCT,
            {"input": {"name": "X", "sku": "SKU-3", "price": "1", "slug": "first"}},
            "slug",
            "SLUG_TAKEN",
        ),
        (UPDATE_PRODUCT, {"id": second["id"], "input": {"sku": "SKU-1"}}, "sku", "SKU_TAKEN"),
        (UPDATE_PRODUCT, {"id": second["id"], "input": {"slug": "first"}}, "slug", "SLUG_TAKEN"),
    ]
    for document, variables, field, code in cases:
        payload = await run(staff, document, **variables)
        assert problems(payload) == [(field, code)], variables
    assert await snapshot(services) == before
    assert first["sku"] == "SKU-1"


async def test_a_generated_slug_lost_to_a_race_moves_on(
    staff: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await new_product(staff, "Lamp", "LAMP-1")
    real_free_slug = slugs.free_slug
    calls = 0

    async def stale_then_real(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        # The first answer is stale: "lamp" was free when checked, taken at insert time.
        return "lamp" if calls == 1 else await real_free_slug(*args, **kwargs)

    monkeypatch.setattr(products_admin, "free_slug", stale_then_real)
    product = await new_product(staff, "Lamp", "LAMP-2")
    assert product["slug"] == "lamp-2"
    assert calls == 2


# --- products: update, archive, delete ----------------------------------------------------


FULL: dict[str, Any] = {  # a complete ProductInput, as GraphQL variables
    "name": "Desk Lamp",
    "sku": "LAMP-1",
    "price": "19.99",
    "currency": "USD",
    "stock": 5,
    "status": "PUBLISHED",
    "description": "Bright.",
    "slug": "desk-lamp",
    "attributes": {"color": "black"},
    "images": [{"url": "https://x.com/a.png", "alt": "A"}],
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": "  Table  Lamp "}, {"name": "Table Lamp"}),
        ({"sku": "lamp-9"}, {"sku": "LAMP-9"}),
        ({"price": "24.5"}, {"price": {"amount": "24.50", "currency": "USD"}}),
        ({"currency": "EUR"}, {"price": {"amount": "19.99", "currency": "EUR"}}),
        ({"stock": 0}, {"stock": 0}),
        ({"status": "DRAFT"}, {"status": "DRAFT"}),
        ({"description": ""}, {"description": ""}),
        ({"slug": "table-lamp"}, {"slug": "table-lamp"}),
        ({"attributes": {"size": "L"}}, {"attributes": {"size": "L"}}),
        ({"attributes": {}}, {"attributes": {}}),
        ({"images": []}, {"images": []}),
        ({"name": None, "price": None}, {}),
        ({}, {}),
    ],
)
async def test_update_product_changes_only_given_fields(
    staff: GraphQLClient, change: dict[str, Any], expected: dict[str, Any]
) -> None:
    category = await new_category(staff, "Lighting")
    product = await new_product(staff, **{**FULL, "categoryId": category["id"]})
    payload = await run(staff, UPDATE_PRODUCT, id=product["id"], input=change)
    assert payload["errors"] == []
    assert payload["product"] == {**product, **expected}
    assert await run(staff, STAFF_PRODUCT, id=product["id"]) == {**product, **expected}


async def test_update_product_category(staff: GraphQLClient) -> None:
    lighting = await new_category(staff, "Lighting")
    office = await new_category(staff, "Office")
    product = await new_product(staff, "Lamp", "L-1", categoryId=lighting["id"])
    payload = await run(staff, UPDATE_PRODUCT, id=product["id"], input={"categoryId": office["id"]})
    assert payload["product"]["category"] == {"id": office["id"]}
    # Omitted: unchanged. Null: out of any category.
    payload = await run(staff, UPDATE_PRODUCT, id=product["id"], input={"name": "Lamp 2"})
    assert payload["product"]["category"] == {"id": office["id"]}
    payload = await run(staff, UPDATE_PRODUCT, id=product["id"], input={"categoryId": None})
    assert payload["errors"] == [] and payload["product"]["category"] is None


async def test_update_product_refusals(staff: GraphQLClient, services: Services) -> None:
    product = await new_product(staff, **FULL)
    await new_product(staff, "Other", "OTHER-1", slug="other")
    before = await snapshot(services)
    cases: list[tuple[str, dict[str, Any], list[Any]]] = [
        (product["id"], {"price": "-1"}, [("price", "INVALID_PRICE")]),
        (product["id"], {"price": "1.234"}, [("price", "INVALID_PRICE")]),
        (product["id"], {"currency": "JPY"}, [("price", "INVALID_PRICE")]),  # 19.99 yen
        (product["id"], {"currency": "yen"}, [("currency", "INVALID_CURRENCY")]),
        (product["id"], {"sku": "other-1"}, [("sku", "SKU_TAKEN")]),
        (product["id"], {"slug": "other"}, [("slug", "SLUG_TAKEN")]),
        (
            product["id"],
            {"name": "", "stock": -1},
            [("name", "INVALID_INPUT"), ("stock", "INVALID_INPUT")],
        ),
        (product["id"], {"categoryId": UNKNOWN_CATEGORY}, [("categoryId", "NOT_FOUND")]),
        (product["id"], {"attributes": ["x"]}, [("attributes", "INVALID_INPUT")]),
        (product["id"], {"images": [{"url": "javascript:x"}]}, [("images.0.url", "INVALID_URL")]),
        (UNKNOWN_PRODUCT, {"name": "x"}, [("id", "NOT_FOUND")]),
        (CATEGORY_NOT_PRODUCT, {"name": "x"}, [("id", "NOT_FOUND")]),
        (UNKNOWN_PRODUCT, {"price": "-1"}, [("id", "NOT_FOUND"), ("price", "INVALID_PRICE")]),
    ]
    for gid, change, expected in cases:
        payload = await run(staff, UPDATE_PRODUCT, id=gid, input=change)
        assert problems(payload) == expected, change
        assert payload["product"] is None
    assert await snapshot(services) == before
    # Its own SKU and slug are not "taken"; JPY works with a whole price.
    payload = await run(
        staff,
        UPDATE_PRODUCT,
        id=product["id"],
        input={"sku": "lamp-1", "slug": "desk-lamp", "currency": "JPY", "price": "2000"},
    )
    assert payload["errors"] == []
    assert payload["product"]["price"] == {"amount": "2000.00", "currency": "JPY"}


async def test_archive_product_hides_it_from_the_public(
    staff: GraphQLClient, gql: GraphQLClient, sign_up: SignUp
) -> None:
    product = await new_product(staff, "Lamp", "L-1", status="PUBLISHED")
    anonymous = gql.as_user(None)
    customer = gql.as_user((await sign_up()).access_token)
    assert (await run(anonymous, PRODUCT, id=product["id"]))["name"] == "Lamp"
    payload = await run(staff, ARCHIVE_PRODUCT, id=product["id"])
    assert payload["errors"] == [] and payload["product"]["status"] == "ARCHIVED"
    assert (await anonymous.data(PRODUCT, {"id": product["id"]}))["product"] is None
    assert (await customer.data(PRODUCT, {"id": product["id"]}))["product"] is None
    listing = await anonymous.data("{ products(first: 10) { edges { node { id } } } }")
    assert listing["products"]["edges"] == []
    assert (await run(staff, PRODUCT, id=product["id"]))["status"] == "ARCHIVED"
    # Archiving again is harmless.
    payload = await run(staff, ARCHIVE_PRODUCT, id=product["id"])
    assert payload["errors"] == [] and payload["product"]["status"] == "ARCHIVED"
    for gid in (UNKNOWN_PRODUCT, CATEGORY_NOT_PRODUCT):
        assert problems(await run(staff, ARCHIVE_PRODUCT, id=gid)) == [("id", "NOT_FOUND")]


async def test_delete_product_takes_its_reviews(staff: GraphQLClient, services: Services) -> None:
    product = await new_product(staff, "Lamp", "L-1", status="PUBLISHED")
    keep = await new_product(staff, "Desk", "D-1", status="PUBLISHED")
    async with services.sessions() as session:
        people = [
            User(email=f"r{i}@example.com", name=f"R{i}", password_hash="x", role=Role.CUSTOMER)
            for i in range(2)
        ]
        session.add_all(people)
        await session.flush()
        for person in people:
            for target in (product, keep):
                session.add(
                    Review(product_id=key_of(target["id"]), user_id=person.id, rating=4, title="Ok")
                )
        await session.commit()
    payload = await run(staff, DELETE_PRODUCT, id=product["id"])
    assert payload == {"deletedId": product["id"], "errors": []}
    assert (await staff.data(PRODUCT, {"id": product["id"]}))["product"] is None
    async with services.sessions() as session:
        remaining = (
            (await session.execute(text("SELECT product_id FROM reviews ORDER BY id")))
            .scalars()
            .all()
        )
    assert remaining == [key_of(keep["id"])] * 2
    for gid in (product["id"], UNKNOWN_PRODUCT, CATEGORY_NOT_PRODUCT):
        payload = await run(staff, DELETE_PRODUCT, id=gid)
        assert payload == {"deletedId": None, "errors": payload["errors"]}
        assert problems(payload) == [("id", "NOT_FOUND")]


async def test_delete_product_refused_once_ordered(
    staff: GraphQLClient, services: Services
) -> None:
    product = await new_product(staff, "Lamp", "L-1")
    key = key_of(product["id"])
    async with services.sessions() as session:
        assert await was_ordered(session, key) is False
        customer = User(email="c@example.com", name="C", password_hash="x")
        session.add(customer)
        await session.flush()
        order = Order(
            customer_id=customer.id,
            currency="USD",
            subtotal=Decimal("9.00"),
            shipping=Decimal("0.00"),
            total=Decimal("9.00"),
            shipping_address={},
        )
        session.add(order)
        await session.flush()
        session.add(
            OrderLine(
                order_id=order.id,
                product_id=key,
                sku="L-1",
                name="Lamp",
                unit_price=Decimal("9.00"),
                currency="USD",
                quantity=1,
            )
        )
        await session.commit()
    before = await snapshot(services)
    payload = await run(staff, DELETE_PRODUCT, id=product["id"])
    assert problems(payload) == [("id", "PRODUCT_ORDERED")]
    assert "archive" in payload["errors"][0]["message"]
    assert await snapshot(services) == before
    archived = await run(
        staff,
        "mutation($id: ID!) { result: archiveProduct(id: $id) { errors { field code } } }",
        id=product["id"],
    )
    assert archived["errors"] == []


async def test_product_category_can_then_be_deleted(staff: GraphQLClient) -> None:
    category = await new_category(staff, "Lighting")
    product = await new_product(staff, "Lamp", "L-1", categoryId=category["id"])
    refused = await run(staff, DELETE_CATEGORY, id=category["id"])
    assert problems(refused) == [("id", "CATEGORY_NOT_EMPTY")]
    await run(staff, DELETE_PRODUCT, id=product["id"])
    assert (await run(staff, DELETE_CATEGORY, id=category["id"]))["errors"] == []


# --- validators ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a.png", True),
        ("http://127.0.0.1:8000/a.png?x=1#y", True),
        ("HTTPS://EXAMPLE.COM/A.PNG", True),
        ("https://user@example.com/a.png", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
        ("a.png", False),
        ("", False),
        ("https:/example.com", False),
        ("https://exa\tmple.com/", False),
    ],
)
def test_is_web_url(url: str, ok: bool) -> None:
    assert catalog_input.is_web_url(url) is ok


def test_slug_candidates_fit_the_limit() -> None:
    assert slugs.slug_candidates("abc-def", 7, [1, 2]) == ["abc-def", "abc-d-2"]
    # Never a double dash where the cut lands after one.
    assert slugs.slug_candidates("abc-def", 6, [1, 2]) == ["abc-de", "abc-2"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Crème Brûlée", "creme-brulee"),
        ("Straße Øresund Łódź", "strasse-oresund-lodz"),
        ("naïve—café", "naive-cafe"),
        ("\uff26\uff35\uff2c\uff2c\u3000\uff57\uff49\uff44\uff54\uff48", "full-width"),
        ("½ price", "1-2-price"),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugs.slugify(name, 120, "x") == slug
