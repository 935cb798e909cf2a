"""Staff writes to the category tree: create, update, move, delete.

Like every mutation here: validate the whole input first and return typed `UserError`s without
writing; otherwise write in one transaction. Unique slugs are decided by the database (the
constraint name says which), so concurrent writers cannot both win.

Tree shape (`parent_id`, `path`) changes only under the tree lock: `moveCategory` holds it
exclusively while it rewrites a subtree's paths, and creating a child holds it shared while it
copies its parent's path, so no path is ever computed from a stale parent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, literal, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.catalog import Category, Product
from db.catalog_rules import (
    CATEGORY_NAME_LENGTH,
    CATEGORY_SLUG_LENGTH,
    DESCRIPTION_PROBLEM,
    MAX_DESCRIPTION_LENGTH,
)
from db.constraints import insert_unique, violated_constraint
from db.slugs import free_slug, is_slug, slugify
from db.text import clean_line, clean_multiline
from resolvers.catalog.slugs import invalid_slug, slug_taken
from resolvers.context import Context
from resolvers.errors import ErrorCode, UserError, invalid_input, not_found, user_error
from resolvers.ids import key_of
from resolvers.results import Deleted, Outcome

# Any constant works: it only has to be the same for every process touching the tree.
TREE_LOCK_KEY = 0x636174616C6F67  # "catalog"
SLUG_RETRIES = 3
UNIQUE_SLUG = "uq_categories_slug"


@dataclass(frozen=True)
class CategoryChanges:
    """A category input, cleaned; None means "not given" (for updates: leave as is)."""

    name: str | None = None
    slug: str | None = None
    description: str | None = None


async def lock_tree(session: AsyncSession, *, exclusive: bool) -> None:
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await session.execute(text(f"SELECT {function}(:key)"), {"key": TREE_LOCK_KEY})


async def locked_category(
    session: AsyncSession, category_id: int | None, *, share: bool = False
) -> Category | None:
    """The category, row-locked until commit (FOR SHARE: it cannot be deleted or moved)."""
    if category_id is None:
        return None
    statement = select(Category).where(Category.id == category_id)
    statement = statement.with_for_update(read=share)
    return (await session.execute(statement)).scalar_one_or_none()


# --- validation ---------------------------------------------------------------------------


def _check(
    name: str | None, slug: str | None, description: str | None
) -> tuple[CategoryChanges, list[UserError]]:
    errors: list[UserError] = []
    cleaned_name = cleaned_slug = cleaned_description = None
    if name is not None:
        cleaned_name = clean_line(name, CATEGORY_NAME_LENGTH)
        if cleaned_name is None:
            errors.append(
                invalid_input(
                    f"Name must be 1 to {CATEGORY_NAME_LENGTH} printable characters.", "name"
                )
            )
    if slug is not None:
        if is_slug(slug, CATEGORY_SLUG_LENGTH):
            cleaned_slug = slug
        else:
            errors.append(invalid_slug(CATEGORY_SLUG_LENGTH))
    if description is not None:
        cleaned_description = clean_multiline(description, MAX_DESCRIPTION_LENGTH)
        if cleaned_description is None:
            errors.append(invalid_description())
    return CategoryChanges(cleaned_name, cleaned_slug, cleaned_description), errors


def invalid_description() -> UserError:
    return invalid_input(DESCRIPTION_PROBLEM, "description")


async def _slug_in_use(session: AsyncSession, slug: str, except_id: int | None = None) -> bool:
    statement = select(Category.id).where(Category.slug == slug)
    if except_id is not None:
        statement = statement.where(Category.id != except_id)
    return (await session.execute(statement.limit(1))).first() is not None


# --- mutations ----------------------------------------------------------------------------


async def create_category(
    ctx: Context,
    *,
    name: str,
    slug: str | None,
    description: str | None,
    parent_id: str | None,
) -> Outcome[Category]:
    """`parent_id` None: a root category."""
    parent_key = key_of(parent_id, "Category") if parent_id is not None else None
    cleaned, errors = _check(name, slug, description)
    async with ctx.writer() as session:
        parent = None
        if parent_id is not None:
            await lock_tree(session, exclusive=False)
            parent = await locked_category(session, parent_key, share=True)
            if parent is None:
                errors.append(not_found("parent category", "parentId"))
        # Checked even when the input has other problems, so every problem comes back at once.
        if cleaned.slug is not None and await _slug_in_use(session, cleaned.slug):
            errors.append(slug_taken())
        if errors or cleaned.name is None:
            return Outcome.refused(*errors)

        base = slugify(cleaned.name, CATEGORY_SLUG_LENGTH, fallback="category")
        for _attempt in range(SLUG_RETRIES):
            chosen = cleaned.slug or await free_slug(
                session, Category.slug, base, CATEGORY_SLUG_LENGTH
            )
            category = Category(
                name=cleaned.name,
                slug=chosen,
                description=cleaned.description or "",
                parent_id=parent.id if parent else None,
                path=[*parent.path, parent.id] if parent else [],
            )
            refused = await insert_unique(session, category)
            if refused is None:
                await session.commit()
                return Outcome(category)
            # A concurrent create took the slug first: a generated slug just moves on.
            if refused != UNIQUE_SLUG or cleaned.slug is not None:
                break
        await session.rollback()
    return Outcome.refused(slug_taken())


async def update_category(
    ctx: Context,
    category_id: str,
    *,
    name: str | None,
    slug: str | None,
    description: str | None,
) -> Outcome[Category]:
    key = key_of(category_id, "Category")
    cleaned, errors = _check(name, slug, description)
    async with ctx.writer() as session:
        category = await locked_category(session, key)
        if category is None:
            errors.insert(0, not_found("category", "id"))
        elif cleaned.slug is not None and await _slug_in_use(
            session, cleaned.slug, except_id=category.id
        ):
            errors.append(slug_taken())
        if errors or category is None:
            return Outcome.refused(*errors)
        if cleaned.name is not None:
            category.name = cleaned.name
        if cleaned.slug is not None:
            category.slug = cleaned.slug
        if cleaned.description is not None:
            category.description = cleaned.description
        try:
            await session.flush()
        except IntegrityError as error:
            if violated_constraint(error) != UNIQUE_SLUG:
                raise
            await session.rollback()
            return Outcome.refused(slug_taken())
        await session.refresh(category)
        await session.commit()
    return Outcome(category)


async def move_category(ctx: Context, category_id: str, parent_id: str | None) -> Outcome[Category]:
    """Re-parent a category (None: make it a root) and rewrite the paths of its subtree."""
    key = key_of(category_id, "Category")
    parent_key = key_of(parent_id, "Category") if parent_id is not None else None
    async with ctx.writer() as session:
        await lock_tree(session, exclusive=True)
        category = await locked_category(session, key)
        errors: list[UserError] = []
        if category is None:
            errors.append(not_found("category", "id"))
        parent = None
        if parent_id is not None:
            parent = await locked_category(session, parent_key, share=True)
            if parent is None:
                errors.append(not_found("parent category", "parentId"))
        if (
            category is not None
            and parent is not None
            and (parent.id == category.id or category.id in parent.path)
        ):
            errors.append(
                user_error(
                    ErrorCode.CYCLE,
                    "A category cannot move under itself or one of its subcategories.",
                    "parentId",
                )
            )
        if errors or category is None:
            return Outcome.refused(*errors)
        new_parent_id = parent.id if parent else None
        if new_parent_id == category.parent_id:
            return Outcome(category)

        old_depth = len(category.path)
        prefix = [*parent.path, parent.id] if parent else []
        # Every descendant's path runs through this category at position old_depth + 1 (1-based):
        # keep that tail and put the new ancestors in front of it, in one statement.
        tail = Category.path[slice(old_depth + 1, func.cardinality(Category.path))]
        await session.execute(
            update(Category)
            .where(Category.path.contains([category.id]))
            .values(path=func.array_cat(literal(prefix, Category.path.type), tail))
            .execution_options(synchronize_session=False)
        )
        category.parent_id = new_parent_id
        category.path = prefix
        await session.flush()
        await session.refresh(category)
        await session.commit()
    return Outcome(category)


def _not_empty(message: str) -> UserError:
    return user_error(ErrorCode.CATEGORY_NOT_EMPTY, message, "id")


async def delete_category(ctx: Context, category_id: str) -> Deleted:
    """Only an empty leaf: no subcategories and no products, here or below."""
    key = key_of(category_id, "Category")
    async with ctx.writer() as session:
        category = await locked_category(session, key)
        if category is None:
            return Deleted.refused(not_found("category", "id"))
        subtree = select(Category.id).where(
            (Category.id == category.id) | Category.path.contains([category.id])
        )
        products = (
            await session.execute(
                select(func.count()).where(Product.category_id.in_(subtree.scalar_subquery()))
            )
        ).scalar_one()
        children = (
            await session.execute(select(func.count()).where(Category.parent_id == category.id))
        ).scalar_one()
        errors = []
        if products:
            errors.append(
                _not_empty(
                    f"This category holds {products} product(s), directly or in its "
                    "subcategories: move or delete them first."
                )
            )
        if children:
            errors.append(
                _not_empty(
                    f"This category has {children} subcategories: move or delete them first."
                )
            )
        if errors:
            return Deleted.refused(*errors)
        deleted_id = category.id
        await session.delete(category)
        try:
            await session.flush()
        except IntegrityError as error:
            # The row locks above make this unreachable; should a writer that takes none
            # appear, its row still keeps the category (the foreign keys RESTRICT).
            if not (violated_constraint(error) or "").startswith("fk_"):
                raise
            await session.rollback()
            return Deleted.refused(_not_empty("This category is no longer empty."))
        await session.commit()
    return Deleted(deleted_id)
