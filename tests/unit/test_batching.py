"""Batched reads of nested connections (resolvers.batching) on real PostgreSQL: the first rows of
many groups, their counts and their first pages, each in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from db.catalog import Category, Product, ProductStatus
from db.reviews import Review, ReviewStatus
from db.users import User
from resolvers.batching import counts_per_group, first_pages, first_rows_per_group
from resolvers.context import Services
from resolvers.orderings import CATEGORIES_BY_NAME, NEWEST_REVIEWS
from resolvers.pagination import Counter, encode_cursor
from tests.support.database import StatementCounter, empty_state

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MISSING = 987_654_321


@dataclass
class Data:
    many: Product  # 5 reviews, the one at hour 1 pending
    one: Product  # 1 review
    none: Product  # no review
    two: Product  # exactly 2 reviews
    titles: dict[int, list[str]]  # every review title per product, newest first


@pytest.fixture
async def data(engine: AsyncEngine, redis: Redis, services: Services) -> Data:
    await empty_state(engine, redis)
    async with services.sessions() as session:
        category = Category(name="All", slug="all", path=[])
        users = [User(email=f"u{i}@example.com", name=f"U{i}", password_hash="x") for i in range(5)]
        session.add(category)
        session.add_all(users)
        await session.flush()
        products = [
            Product(
                sku=f"P{i}",
                name=f"P{i}",
                slug=f"p{i}",
                price=Decimal(1),
                status=ProductStatus.PUBLISHED,
                category_id=category.id,
            )
            for i in range(4)
        ]
        session.add_all(products)
        await session.flush()
        many, one, none, two = products
        titles: dict[int, list[str]] = {p.id: [] for p in products}
        # Two reviews of `many` share hour 3: the id decides their order.
        hours = {many.id: [0, 1, 3, 3, 4], one.id: [2], two.id: [5, 6]}
        for product_id, product_hours in hours.items():
            for j, hour in enumerate(product_hours):
                review = Review(
                    product_id=product_id,
                    user_id=users[j].id,
                    rating=3,
                    title=f"{product_id}-{j}",
                    body=".",
                    status=ReviewStatus.PENDING if hour == 1 else ReviewStatus.APPROVED,
                    created_at=EPOCH + timedelta(hours=hour),
                )
                session.add(review)
        await session.commit()
        reviews = (await session.execute(select(Review))).scalars().all()
    for review in sorted(reviews, key=lambda r: (r.created_at, r.id), reverse=True):
        titles[review.product_id].append(review.title)
    return Data(many, one, none, two, titles)


def titles_of(rows: dict[int, list[Review]]) -> dict[int, list[str]]:
    return {group_id: [review.title for review in reviews] for group_id, reviews in rows.items()}


# --- first_rows_per_group ------------------------------------------------------------------------


async def test_first_rows_are_at_most_limit_per_group_in_key_order(
    data: Data, services: Services, count_statements: StatementCounter
) -> None:
    groups = [data.none.id, data.many.id, MISSING, data.one.id, data.two.id]

    count_statements.statements.clear()
    rows = await first_rows_per_group(
        services.readers, Review, select(Review), Review.product_id, NEWEST_REVIEWS, groups, 3
    )

    assert count_statements.count == 1, count_statements.statements
    assert list(rows) == groups  # every group asked, in the order asked
    assert titles_of(rows) == {
        data.none.id: [],
        data.many.id: data.titles[data.many.id][:3],
        MISSING: [],
        data.one.id: data.titles[data.one.id],
        data.two.id: data.titles[data.two.id],
    }
    # The tie (two reviews at hour 3) is broken by id, descending like the time.
    tied = [r for r in rows[data.many.id] if r.created_at == EPOCH + timedelta(hours=3)]
    assert [r.id for r in tied] == sorted((r.id for r in tied), reverse=True)
    assert all(isinstance(r, Review) for group in rows.values() for r in group)


async def test_first_rows_apply_the_statement_s_filter_inside_each_group(
    data: Data, services: Services
) -> None:
    approved = select(Review).where(Review.status == ReviewStatus.APPROVED)
    rows = await first_rows_per_group(
        services.readers, Review, approved, Review.product_id, NEWEST_REVIEWS, [data.many.id], 4
    )
    # The pending review (hour 1) is skipped, and the limit still fills with approved ones.
    pending = f"{data.many.id}-1"
    expected = [title for title in data.titles[data.many.id] if title != pending]
    assert titles_of(rows) == {data.many.id: expected}
    assert len(expected) == 4


async def test_first_rows_in_ascending_key_order(data: Data, services: Services) -> None:
    async with services.sessions() as session:
        parent = Category(name="Parent", slug="parent", path=[])
        session.add(parent)
        await session.flush()
        for slug, name in [("b2", "Beta"), ("a", "Alpha"), ("b1", "Beta"), ("c", "Gamma")]:
            session.add(Category(name=name, slug=slug, parent_id=parent.id, path=[parent.id]))
        await session.commit()
    rows = await first_rows_per_group(
        services.readers,
        Category,
        select(Category),
        Category.parent_id,
        CATEGORIES_BY_NAME,
        [parent.id],
        3,
    )
    # By name, then by id: the two Betas in the order they were created (slug b2 first).
    assert [(c.name, c.slug) for c in rows[parent.id]] == [
        ("Alpha", "a"),
        ("Beta", "b2"),
        ("Beta", "b1"),
    ]


async def test_first_rows_cost_one_statement_of_one_text_for_any_number_of_groups(
    data: Data, services: Services, count_statements: StatementCounter
) -> None:
    few = [data.many.id]
    lots = [data.many.id, data.one.id, *range(MISSING, MISSING + 200)]

    count_statements.statements.clear()
    small = await first_rows_per_group(
        services.readers, Review, select(Review), Review.product_id, NEWEST_REVIEWS, few, 2
    )
    large = await first_rows_per_group(
        services.readers, Review, select(Review), Review.product_id, NEWEST_REVIEWS, lots, 2
    )

    assert count_statements.count == 2
    assert count_statements.statements[0] == count_statements.statements[1]
    assert "LATERAL" in count_statements.statements[0]
    assert titles_of(small)[data.many.id] == titles_of(large)[data.many.id]
    assert len(large) == len(lots)
    assert sum(len(group) for group in large.values()) == 3


async def test_first_rows_of_no_groups_or_no_rows_run_no_statement(
    data: Data, services: Services, count_statements: StatementCounter
) -> None:
    count_statements.statements.clear()
    nothing = await first_rows_per_group(
        services.readers, Review, select(Review), Review.product_id, NEWEST_REVIEWS, [], 3
    )
    empty = await first_rows_per_group(
        services.readers,
        Review,
        select(Review),
        Review.product_id,
        NEWEST_REVIEWS,
        [data.many.id, data.one.id],
        0,
    )
    assert nothing == {}
    assert empty == {data.many.id: [], data.one.id: []}
    assert count_statements.count == 0


# --- counts_per_group ----------------------------------------------------------------------------


async def test_counts_per_group_gives_zero_for_empty_and_unknown_groups(
    data: Data, services: Services, count_statements: StatementCounter
) -> None:
    groups = [data.many.id, data.none.id, data.one.id, MISSING, data.two.id]

    count_statements.statements.clear()
    counts = await counts_per_group(services.readers, select(Review), Review.product_id, groups)
    approved = await counts_per_group(
        services.readers,
        select(Review).where(Review.status == ReviewStatus.APPROVED),
        Review.product_id,
        groups,
    )

    assert count_statements.count == 2
    assert list(counts) == groups
    assert counts == {data.many.id: 5, data.none.id: 0, data.one.id: 1, MISSING: 0, data.two.id: 2}
    assert approved == {
        data.many.id: 4,
        data.none.id: 0,
        data.one.id: 1,
        MISSING: 0,
        data.two.id: 2,
    }
    assert all(type(n) is int for n in counts.values())


async def test_counts_of_no_groups_run_no_statement(
    data: Data, services: Services, count_statements: StatementCounter
) -> None:
    count_statements.statements.clear()
    assert await counts_per_group(services.readers, select(Review), Review.product_id, []) == {}
    assert count_statements.count == 0


# --- first_pages ---------------------------------------------------------------------------------


async def test_first_pages_mark_has_next_page_from_the_extra_row(
    data: Data, services: Services, count_statements: StatementCounter
) -> None:
    size = 2
    groups = [data.many.id, data.two.id, data.one.id, data.none.id]
    rows = await first_rows_per_group(
        services.readers,
        Review,
        select(Review),
        Review.product_id,
        NEWEST_REVIEWS,
        groups,
        size + 1,
    )
    counted: list[int] = []

    def counter_for(group_id: int) -> Counter:
        async def count() -> int:
            counted.append(group_id)
            return len(data.titles[group_id])

        return count

    count_statements.statements.clear()
    pages = first_pages(rows, NEWEST_REVIEWS, size, counter_for)
    assert count_statements.count == 0
    assert counted == []  # counted only when a client asks for totalCount

    assert list(pages) == groups
    expected = {
        # (titles on the page, hasNextPage)
        data.many.id: (data.titles[data.many.id][:2], True),  # 3 rows fetched: one more
        data.two.id: (data.titles[data.two.id], False),  # exactly `size`: no more
        data.one.id: (data.titles[data.one.id], False),
        data.none.id: ([], False),
    }
    for group_id, (titles, has_next) in expected.items():
        page = pages[group_id]
        assert [edge.node.title for edge in page.edges] == titles, group_id
        assert page.page_info.has_next_page is has_next, group_id
        assert page.page_info.has_previous_page is False
        if page.edges:
            last = page.edges[-1].node
            assert page.page_info.end_cursor == encode_cursor([last.created_at, last.id])
            assert page.page_info.start_cursor == page.edges[0].cursor
        else:
            assert page.page_info.start_cursor is page.page_info.end_cursor is None
    assert len(rows[data.many.id]) == 3  # first_pages did not trim its input in place

    assert await pages[data.many.id].total_count() == 5
    assert await pages[data.none.id].total_count() == 0
    assert counted == [data.many.id, data.none.id]


def test_first_pages_of_no_groups_are_empty() -> None:
    def counter_for(group_id: int) -> Counter:
        raise AssertionError("no group, no counter")

    assert first_pages({}, NEWEST_REVIEWS, 3, counter_for) == {}
