"""The per-request dataloaders (resolvers.loaders, resolvers.dataloader) on real PostgreSQL:
one statement per batch, answers in the order asked, visibility by viewer, and the cache."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import inspect as orm_inspect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from db.base import Base
from db.catalog import Category, Product, ProductStatus
from db.reviews import Review, ReviewStatus
from db.users import Role, User
from resolvers.context import Services
from resolvers.dataloader import Loader
from resolvers.errors import Unauthenticated
from resolvers.loaders import by_id_loader, create_loaders, prime_categories_with_ancestors
from resolvers.rows import Rows
from resolvers.viewer import ANONYMOUS, Viewer
from tests.support.database import StatementCounter, empty_state

MISSING = 987_654_321


@pytest.fixture
async def clean(engine: AsyncEngine, redis: Redis) -> None:
    """Every DB-backed test here starts from empty tables."""
    await empty_state(engine, redis)


async def add(services: Services, *rows: Base) -> None:
    async with services.sessions() as session:
        session.add_all(rows)
        await session.commit()


async def add_user(services: Services, role: Role = Role.CUSTOMER, name: str = "Ann") -> User:
    email = f"{name.lower().replace(' ', '.')}-{role.value}@example.com"
    user = User(email=email, name=name, password_hash="x", role=role)
    await add(services, user)
    return user


@dataclass
class Tree:
    root: Category
    child: Category
    leaf: Category
    other: Category  # another root, with nothing to do with the first tree


async def add_tree(services: Services) -> Tree:
    """root > child > leaf, and an unrelated root."""
    async with services.sessions() as session:
        root = Category(name="Root", slug="root", path=[])
        other = Category(name="Other", slug="other", path=[])
        session.add_all([root, other])
        await session.flush()
        child = Category(name="Child", slug="child", parent_id=root.id, path=[root.id])
        session.add(child)
        await session.flush()
        leaf = Category(name="Leaf", slug="leaf", parent_id=child.id, path=[root.id, child.id])
        session.add(leaf)
        await session.commit()
    return Tree(root, child, leaf, other)


def product(name: str, category: Category, status: ProductStatus) -> Product:
    slug = name.lower().replace(" ", "-")
    return Product(
        sku=slug.upper(),
        name=name,
        slug=slug,
        price=Decimal("9.99"),
        status=status,
        category_id=category.id,
    )


async def add_products(services: Services, tree: Tree) -> dict[str, Product]:
    """Published, draft and archived products spread over the tree."""
    rows = {
        "leaf published 1": product("Leaf Pub 1", tree.leaf, ProductStatus.PUBLISHED),
        "leaf published 2": product("Leaf Pub 2", tree.leaf, ProductStatus.PUBLISHED),
        "leaf draft": product("Leaf Draft", tree.leaf, ProductStatus.DRAFT),
        "child published": product("Child Pub", tree.child, ProductStatus.PUBLISHED),
        "child archived": product("Child Archived", tree.child, ProductStatus.ARCHIVED),
        "root published": product("Root Pub", tree.root, ProductStatus.PUBLISHED),
        "other published": product("Other Pub", tree.other, ProductStatus.PUBLISHED),
    }
    await add(services, *rows.values())
    return rows


def names(rows: Sequence[Category | Product | User | None]) -> list[str | None]:
    return [row.name if row is not None else None for row in rows]


# --- by_id_loader ------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean")
async def test_many_loads_are_one_statement_answered_in_the_order_asked(
    services: Services, count_statements: StatementCounter
) -> None:
    tree = await add_tree(services)
    loader = by_id_loader(services.readers, Rows(Category), ANONYMOUS)
    asked = [tree.leaf.id, MISSING, tree.root.id, tree.child.id, tree.leaf.id, tree.other.id]

    count_statements.statements.clear()
    loaded = await asyncio.gather(*(loader.load(key) for key in asked))

    assert names(loaded) == ["Leaf", None, "Root", "Child", "Leaf", "Other"]
    assert count_statements.count == 1, count_statements.statements
    assert "ANY" in count_statements.statements[0]
    # Loaded once: the same key again costs nothing, and is the same object.
    again = await loader.load_many([tree.root.id, MISSING])
    assert again == [loaded[2], None]
    assert count_statements.count == 1


@pytest.mark.usefixtures("clean")
async def test_the_statement_text_is_the_same_for_any_number_of_ids(
    services: Services, count_statements: StatementCounter
) -> None:
    tree = await add_tree(services)
    count_statements.statements.clear()
    await by_id_loader(services.readers, Rows(Category), ANONYMOUS).load(tree.root.id)
    await by_id_loader(services.readers, Rows(Category), ANONYMOUS).load_many(
        [tree.root.id, tree.leaf.id, MISSING]
    )
    first, second = count_statements.statements
    assert first == second  # one array parameter: cached compilation, one prepared statement


@pytest.mark.usefixtures("clean")
async def test_an_empty_database_loads_none_for_everything(services: Services) -> None:
    loader = by_id_loader(services.readers, Rows(Product), ANONYMOUS)
    assert await loader.load_many([1, 2, MISSING]) == [None, None, None]


# --- visibility ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("clean")
@pytest.mark.parametrize(
    ("role", "sees_all"),
    [(None, False), (Role.CUSTOMER, False), (Role.STAFF, True), (Role.ADMIN, True)],
)
async def test_product_by_id_hides_drafts_and_archived_from_all_but_staff(
    services: Services, role: Role | None, sees_all: bool
) -> None:
    tree = await add_tree(services)
    rows = await add_products(services, tree)
    viewer = ANONYMOUS if role is None else Viewer(signed_in=await add_user(services, role))
    loaders = create_loaders(services.readers, viewer)
    wanted = ["leaf published 1", "leaf draft", "child archived", "root published"]

    loaded = await loaders.product_by_id.load_many([rows[key].id for key in wanted])

    if sees_all:
        assert names(loaded) == ["Leaf Pub 1", "Leaf Draft", "Child Archived", "Root Pub"]
    else:
        assert names(loaded) == ["Leaf Pub 1", None, None, "Root Pub"]


@pytest.mark.usefixtures("clean")
async def test_review_by_id_follows_review_and_product_visibility(services: Services) -> None:
    tree = await add_tree(services)
    rows = await add_products(services, tree)
    author = await add_user(services, name="Author")
    stranger = await add_user(services, name="Stranger")
    staff = await add_user(services, Role.STAFF, name="Staff")
    approved = Review(
        product_id=rows["leaf published 1"].id,
        user_id=author.id,
        rating=5,
        title="Approved",
        body=".",
        status=ReviewStatus.APPROVED,
    )
    pending = Review(
        product_id=rows["leaf published 2"].id,
        user_id=author.id,
        rating=4,
        title="Pending",
        body=".",
        status=ReviewStatus.PENDING,
    )
    of_draft = Review(
        product_id=rows["leaf draft"].id,
        user_id=author.id,
        rating=3,
        title="Of a draft",
        body=".",
        status=ReviewStatus.APPROVED,
    )
    await add(services, approved, pending, of_draft)
    keys = [approved.id, pending.id, of_draft.id]

    async def titles(viewer: Viewer) -> list[str | None]:
        loaded = await create_loaders(services.readers, viewer).review_by_id.load_many(keys)
        return [review.title if review is not None else None for review in loaded]

    assert await titles(ANONYMOUS) == ["Approved", None, None]
    assert await titles(Viewer(signed_in=stranger)) == ["Approved", None, None]
    assert await titles(Viewer(signed_in=author)) == ["Approved", "Pending", None]
    assert await titles(Viewer(signed_in=staff)) == ["Approved", "Pending", "Of a draft"]


@pytest.mark.usefixtures("clean")
async def test_a_bad_token_fails_the_viewer_dependent_loads_when_they_run(
    services: Services,
) -> None:
    tree = await add_tree(services)
    rows = await add_products(services, tree)
    # Building the loaders does not ask who is asking: only running a load that cares does.
    loaders = create_loaders(services.readers, Viewer(auth_error="Your session has ended."))

    with pytest.raises(Unauthenticated) as raised:
        await loaders.product_by_id.load(rows["leaf published 1"].id)
    assert raised.value.extensions == {"code": "UNAUTHENTICATED"}
    assert raised.value.message == "Your session has ended."
    # The failure is what the key holds for this request: taking it again raises again...
    with pytest.raises(Unauthenticated):
        loaders.product_by_id.value_or_load(rows["leaf published 1"].id)
    # ...and loaders that do not depend on the viewer still answer.
    assert (await loaders.category_by_id.load(tree.leaf.id)) is not None
    assert (await loaders.profile_by_id.load(MISSING)) is None


@pytest.mark.usefixtures("clean")
async def test_profile_by_id_loads_only_id_and_name(
    services: Services, count_statements: StatementCounter
) -> None:
    user = await add_user(services, name="Public Name")
    loaders = create_loaders(services.readers, ANONYMOUS)

    count_statements.statements.clear()
    profile = await loaders.profile_by_id.load(user.id)

    assert profile is not None
    assert (profile.id, profile.name) == (user.id, "Public Name")
    state = orm_inspect(profile)
    assert {"email", "password_hash", "role", "last_login_at"} <= state.unloaded
    assert not {"id", "name"} & state.unloaded
    (statement,) = count_statements.statements
    assert "email" not in statement and "password_hash" not in statement
    # user_by_id, by contrast, loads the whole row.
    full = await loaders.user_by_id.load(user.id)
    assert full is not None and full.email == user.email
    assert not orm_inspect(full).unloaded


# --- Loader: the cache -------------------------------------------------------------------------


@pytest.mark.usefixtures("clean")
async def test_value_or_load_is_an_awaitable_until_loaded_then_the_value(
    services: Services, count_statements: StatementCounter
) -> None:
    tree = await add_tree(services)
    loader = by_id_loader(services.readers, Rows(Category), ANONYMOUS)
    assert not loader.has(tree.root.id)

    count_statements.statements.clear()
    pending = loader.value_or_load(tree.root.id)
    assert inspect.isawaitable(pending)
    assert loader.has(tree.root.id)  # being loaded counts
    # While the load is in flight it is still an awaitable (the same one, not a second load).
    assert loader.value_or_load(tree.root.id) is pending
    root = await pending
    assert isinstance(root, Category) and root.name == "Root"

    now = loader.value_or_load(tree.root.id)
    assert not inspect.isawaitable(now)
    assert now is root
    missing = loader.value_or_load(MISSING)
    assert inspect.isawaitable(missing)
    assert await missing is None
    assert loader.value_or_load(MISSING) is None  # a loaded None is a value too
    assert count_statements.count == 2


async def test_value_or_load_reraises_a_failed_load() -> None:
    calls: list[list[int]] = []

    async def failing(keys: Sequence[int]) -> list[str]:
        calls.append(list(keys))
        raise LookupError("boom")

    loader: Loader[int, str] = Loader(failing)
    with pytest.raises(LookupError):
        await loader.load(1)
    assert loader.has(1)
    with pytest.raises(LookupError, match="boom"):
        loader.value_or_load(1)
    assert calls == [[1]]  # the failure is cached for the request, not retried


async def test_has_follows_load_prime_and_clear() -> None:
    async def double(keys: Sequence[int]) -> list[int]:
        return [2 * key for key in keys]

    loader: Loader[int, int] = Loader(double)
    assert not loader.has(1)
    assert await loader.load(1) == 2
    assert loader.has(1) and not loader.has(2)
    loader.prime(2, 40)
    assert loader.has(2)
    assert loader.value_or_load(2) == 40
    loader.clear(1)
    assert not loader.has(1) and loader.has(2)
    loader.clear_all()
    assert not loader.has(2)
    assert await loader.load(2) == 4


@pytest.mark.usefixtures("clean")
async def test_clear_forgets_so_a_changed_row_is_seen_only_after_it(
    services: Services, count_statements: StatementCounter
) -> None:
    tree = await add_tree(services)
    rows = await add_products(services, tree)
    loaders = create_loaders(services.readers, ANONYMOUS)
    product_id = rows["leaf published 1"].id
    before = await asyncio.gather(
        loaders.category_by_id.load(tree.leaf.id),
        loaders.product_by_id.load(product_id),
        loaders.product_count_by_category.load(tree.leaf.id),
    )
    assert names(before[:2]) == ["Leaf", "Leaf Pub 1"] and before[2] == 2

    async with services.sessions() as session:
        await session.execute(
            update(Category).where(Category.id == tree.leaf.id).values(name="Renamed")
        )
        await session.execute(
            update(Product).where(Product.id == product_id).values(status=ProductStatus.DRAFT)
        )
        await session.commit()

    count_statements.statements.clear()
    cached = await asyncio.gather(
        loaders.category_by_id.load(tree.leaf.id),
        loaders.product_by_id.load(product_id),
        loaders.product_count_by_category.load(tree.leaf.id),
    )
    assert names(cached[:2]) == ["Leaf", "Leaf Pub 1"] and cached[2] == 2
    assert count_statements.count == 0

    loaders.clear()
    assert not loaders.category_by_id.has(tree.leaf.id)
    assert not loaders.product_by_id.has(product_id)
    after = await asyncio.gather(
        loaders.category_by_id.load(tree.leaf.id),
        loaders.product_by_id.load(product_id),
        loaders.product_count_by_category.load(tree.leaf.id),
    )
    assert names(after[:2]) == ["Renamed", None] and after[2] == 1


# --- prime_categories_with_ancestors -----------------------------------------------------------


@pytest.mark.usefixtures("clean")
async def test_priming_loads_categories_and_all_ancestors_in_one_statement(
    services: Services, count_statements: StatementCounter
) -> None:
    tree = await add_tree(services)
    loader = create_loaders(services.readers, ANONYMOUS).category_by_id

    count_statements.statements.clear()
    await prime_categories_with_ancestors(
        services.readers, loader, [tree.leaf.id, tree.leaf.id, MISSING]
    )
    assert count_statements.count == 1, count_statements.statements

    for category in (tree.leaf, tree.child, tree.root):
        value = loader.value_or_load(category.id)
        assert isinstance(value, Category), category.name  # a plain value: no awaitable
        assert value.name == category.name
    assert loader.has(MISSING)
    assert loader.value_or_load(MISSING) is None  # an id naming nothing is primed as None
    assert not loader.has(tree.other.id)  # not an ancestor: not loaded

    # Everything asked is known now: nothing more to run.
    await prime_categories_with_ancestors(services.readers, loader, [tree.child.id, MISSING])
    assert count_statements.count == 1
    # Only ids not yet known are looked up (with their ancestors).
    await prime_categories_with_ancestors(services.readers, loader, [tree.leaf.id, tree.other.id])
    assert count_statements.count == 2
    other = loader.value_or_load(tree.other.id)
    assert isinstance(other, Category) and other.name == "Other"


@pytest.mark.usefixtures("clean")
async def test_priming_a_root_loads_only_the_root(services: Services) -> None:
    tree = await add_tree(services)
    loader = create_loaders(services.readers, ANONYMOUS).category_by_id
    await prime_categories_with_ancestors(services.readers, loader, [tree.root.id])
    assert loader.has(tree.root.id)
    assert not any(loader.has(c.id) for c in (tree.child, tree.leaf, tree.other))


# --- product_count_by_category -----------------------------------------------------------------


@pytest.mark.usefixtures("clean")
async def test_product_count_covers_the_whole_subtree_and_follows_visibility(
    services: Services, count_statements: StatementCounter
) -> None:
    tree = await add_tree(services)
    await add_products(services, tree)
    empty = Category(name="Empty", slug="empty", parent_id=tree.other.id, path=[tree.other.id])
    await add(services, empty)
    staff = await add_user(services, Role.STAFF)
    asked = [tree.root.id, tree.child.id, tree.leaf.id, tree.other.id, empty.id, MISSING]

    count_statements.statements.clear()
    anonymous = await create_loaders(
        services.readers, ANONYMOUS
    ).product_count_by_category.load_many(asked)
    assert count_statements.count == 1, count_statements.statements
    # root: its own 1 + child's 1 published + leaf's 2 published; drafts and archived left out.
    assert anonymous == [4, 3, 2, 1, 0, 0]

    loaders = create_loaders(services.readers, Viewer(signed_in=staff))
    assert await loaders.product_count_by_category.load_many(asked) == [6, 5, 3, 1, 0, 0]


@pytest.mark.usefixtures("clean")
async def test_product_count_with_a_bad_token_is_unauthenticated(services: Services) -> None:
    tree = await add_tree(services)
    loaders = create_loaders(services.readers, Viewer(auth_error="x"))
    with pytest.raises(Unauthenticated):
        await loaders.product_count_by_category.load(tree.root.id)
