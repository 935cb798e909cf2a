"""Staff writes to the category tree: create, update, move, delete.

Like every mutation here: validate the whole input first and return typed `UserError`s without
writing; otherwise write in one transaction. Unique slugs are decided by the database (the
constraint name says which), so concurrent writers cannot both win.

Tree shape (`parent_id`, `path`) changes only under the tree lock: `moveCategory` holds it
exclusively while it rewrites a subtree's paths, and creating a child holds it shared while it
copies its parent's path, so no path is ever computed from a stale parent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, literal, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from db.catalog import Category, Product
from resolvers.validation import (
    clean_description,
    clean_text,
    free_slug,
    is_slug,
    slugify,
    violated_constraint,
)
from schema.errors import ErrorCode, UserError, not_found, user_error

MAX_NAME_LENGTH = 100
MAX_SLUG_LENGTH = 120
# Any constant works: it only has to be the same for every process touching the tree.
TREE_LOCK_KEY = 0x636174616C6F67  # "catalog"
SLUG_RETRIES = 3
UNIQUE_SLUG = "uq_categories_slug"


@dataclass
class CategoryResult:
    category: Category | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass
class DeleteResult:
    deleted_id: int | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass(frozen=True)
class CategoryChanges:
    """What `updateCategory` was given; None means "leave as is"."""

    name: str | None = None
    slug: str | None = None
    description: str | None = None


# --- shared with the product writes -------------------------------------------------------


def slug_taken(field_name: str = "slug") -> UserError:
    return user_error(ErrorCode.SLUG_TAKEN, "This slug is already in use.", field_name)


def forget_cached(ctx: Context) -> None:
    """Drop this request's dataloader caches: later fields must see what was just written."""
    for loader_field in dataclasses.fields(ctx.loaders):
        loader = getattr(ctx.loaders, loader_field.name)
        clear_all = getattr(loader, "clear_all", None)
        if clear_all is not None:
            clear_all()


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


async def insert_row(session: AsyncSession, row: Any) -> str | None:
    """Insert `row` in a savepoint: None, or the unique constraint that refused it."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as error:
        constraint = violated_constraint(error)
        if constraint is None or not constraint.startswith("uq_"):
            raise
        return constraint
    return None


# --- validation ---------------------------------------------------------------------------


def _invalid_name() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT,
        f"Name must be 1 to {MAX_NAME_LENGTH} printable characters.",
        "name",
    )


def _invalid_slug() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT,
        f"Slug must be lower-case letters and digits in words joined by '-', at most "
        f"{MAX_SLUG_LENGTH} characters.",
        "slug",
    )


def _invalid_description() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT,
        "Description must be at most 10000 characters, without control characters.",
        "description",
    )


def _check(
    name: str | None, slug: str | None, description: str | None
) -> tuple[CategoryChanges, list[UserError]]:
    errors: list[UserError] = []
    cleaned = CategoryChanges()
    if name is not None:
        cleaned_name = clean_text(name, MAX_NAME_LENGTH)
        if cleaned_name is None:
            errors.append(_invalid_name())
        cleaned = dataclasses.replace(cleaned, name=cleaned_name)
    if slug is not None:
        if is_slug(slug, MAX_SLUG_LENGTH):
            cleaned = dataclasses.replace(cleaned, slug=slug)
        else:
            errors.append(_invalid_slug())
    if description is not None:
        cleaned_description = clean_description(description)
        if cleaned_description is None:
            errors.append(_invalid_description())
        cleaned = dataclasses.replace(cleaned, description=cleaned_description)
    return cleaned, errors


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
    parent_id: int | None,
) -> CategoryResult:
    """`parent_id` None: a root; 0 (a malformed or foreign id): NOT_FOUND."""
    cleaned, errors = _check(name, slug, description)
    async with ctx.sessions() as session:
        parent = None
        if parent_id is not None:
            await lock_tree(session, exclusive=False)
            parent = await locked_category(session, parent_id, share=True)
            if parent is None:
                errors.append(not_found("parent category", "parentId"))
        # Checked even when the input has other problems, so every problem comes back at once.
        if cleaned.slug is not None and await _slug_in_use(session, cleaned.slug):
            errors.append(slug_taken())
        if errors or cleaned.name is None:
            return CategoryResult(errors=errors)

        base = slugify(cleaned.name, MAX_SLUG_LENGTH, fallback="category")
        for _attempt in range(SLUG_RETRIES):
            chosen = cleaned.slug or await free_slug(session, Category.slug, base, MAX_SLUG_LENGTH)
            category = Category(
                name=cleaned.name,
                slug=chosen,
                description=cleaned.description or "",
                parent_id=parent.id if parent else None,
                path=[*parent.path, parent.id] if parent else [],
            )
            refused = await insert_row(session, category)
            if refused is None:
                await session.commit()
                forget_cached(ctx)
                return CategoryResult(category)
            # A concurrent create took the slug first: a generated slug just moves on.
            if refused != UNIQUE_SLUG or cleaned.slug is not None:
                break
        await session.rollback()
    return CategoryResult(errors=[slug_taken()])


async def update_category(
    ctx: Context,
    category_id: int | None,
    *,
    name: str | None,
    slug: str | None,
    description: str | None,
) -> CategoryResult:
    cleaned, errors = _check(name, slug, description)
    async with ctx.sessions() as session:
        category = await locked_category(session, category_id)
        if category is None:
            errors.insert(0, not_found("category", "id"))
        elif cleaned.slug is not None and await _slug_in_use(
            session, cleaned.slug, except_id=category.id
        ):
            errors.append(slug_taken())
        if errors or category is None:
            return CategoryResult(errors=errors)
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
            return CategoryResult(errors=[slug_taken()])
        await session.refresh(category)
        await session.commit()
    forget_cached(ctx)
    return CategoryResult(category)


async def move_category(
    ctx: Context, category_id: int | None, parent_id: int | None
) -> CategoryResult:
    """Re-parent a category (None: make it a root) and rewrite the paths of its subtree."""
    async with ctx.sessions() as session:
        await lock_tree(session, exclusive=True)
        category = await locked_category(session, category_id)
        errors: list[UserError] = []
        if category is None:
            errors.append(not_found("category", "id"))
        parent = None
        if parent_id is not None:
            parent = await locked_category(session, parent_id, share=True)
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
            return CategoryResult(errors=errors)
        new_parent_id = parent.id if parent else None
        if new_parent_id == category.parent_id:
            return CategoryResult(category)

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
    forget_cached(ctx)
    return CategoryResult(category)


def _not_empty(message: str) -> UserError:
    return user_error(ErrorCode.CATEGORY_NOT_EMPTY, message, "id")


async def delete_category(ctx: Context, category_id: int | None) -> DeleteResult:
    """Only an empty leaf: no subcategories and no products, here or below."""
    async with ctx.sessions() as session:
        category = await locked_category(session, category_id)
        if category is None:
            return DeleteResult(errors=[not_found("category", "id")])
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
            return DeleteResult(errors=errors)
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
            return DeleteResult(errors=[_not_empty("This category is no longer empty.")])
        await session.commit()
    forget_cached(ctx)
    return DeleteResult(deleted_id)
