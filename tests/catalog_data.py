"""A small catalog written straight to the database, for tests of the read path."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from app.context import Services
from db.catalog import Category, Product, ProductStatus
from db.reviews import Review, ReviewStatus
from db.users import Role, User
from resolvers.auth import start_session

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Catalog:
    root: Category
    child: Category
    leaf: Category
    products: list[Product] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    # Built only with `extra_categories`: "Storage NN", each holding two products.
    extra: list[Category] = field(default_factory=list)


async def build_catalog(
    services: Services,
    *,
    products: int = 12,
    reviews_per_product: int = 4,
    users: int = 5,
    extra_categories: int = 0,
) -> Catalog:
    """Electronics > Computers > Laptops with `products` products (every 6th a draft, every 5th
    out of stock; names "Laptop Stand N" / "Wireless Mouse N"), and reviews by `users` users
    (reviewer 1's pending). `extra_categories` more categories (even ones under Electronics, odd
    ones under the one before) with two published "Cable" products each, created after the
    others, without reviews.
    """
    async with services.sessions() as session:
        root = Category(name="Electronics", slug="electronics", path=[])
        session.add(root)
        await session.flush()
        child = Category(name="Computers", slug="computers", parent_id=root.id, path=[root.id])
        session.add(child)
        await session.flush()
        leaf = Category(
            name="Laptops", slug="laptops", parent_id=child.id, path=[root.id, child.id]
        )
        session.add(leaf)
        people = [
            User(
                email=f"r{i}@example.com",
                name=f"Reviewer {i}",
                password_hash="x",
                role=Role.CUSTOMER,
            )
            for i in range(users)
        ]
        session.add_all(people)
        await session.flush()
        items = []
        for i in range(products):
            status = ProductStatus.PUBLISHED if i % 6 else ProductStatus.DRAFT
            items.append(
                Product(
                    sku=f"SKU-{i:04d}",
                    name=f"Laptop Stand {i}" if i % 2 else f"Wireless Mouse {i}",
                    slug=f"product-{i}",
                    description="A sturdy aluminium stand." if i % 2 else "A quiet wireless mouse.",
                    price=Decimal("10.00") + i,
                    stock=0 if i % 5 == 0 else 10,
                    status=status,
                    category_id=leaf.id if i % 3 else child.id,
                    created_at=EPOCH + timedelta(hours=i),
                )
            )
        session.add_all(items)
        await session.flush()
        extra: list[Category] = []
        for k in range(extra_categories):
            parent = root if k % 2 == 0 else extra[-1]
            category = Category(
                name=f"Storage {k:02d}",
                slug=f"storage-{k}",
                parent_id=parent.id,
                path=[*parent.path, parent.id],
            )
            session.add(category)
            await session.flush()
            extra.append(category)
            for j in range(2):
                session.add(
                    Product(
                        sku=f"STO-{k:02d}-{j}",
                        name=f"Cable {k}-{j}",
                        slug=f"cable-{k}-{j}",
                        description="A cable.",
                        price=Decimal("5.00"),
                        stock=3,
                        status=ProductStatus.PUBLISHED,
                        category_id=category.id,
                        created_at=EPOCH + timedelta(days=30, hours=2 * k + j),
                    )
                )
        await session.flush()
        for product in items:
            for j in range(min(reviews_per_product, users)):
                session.add(
                    Review(
                        product_id=product.id,
                        user_id=people[j].id,
                        rating=1 + (product.id + j) % 5,
                        title=f"Review {j}",
                        body="Fine.",
                        status=ReviewStatus.APPROVED if j != 1 else ReviewStatus.PENDING,
                        created_at=EPOCH + timedelta(days=1, hours=j),
                    )
                )
        await session.flush()
        await session.execute(
            text(
                """
                UPDATE products p SET rating_count = a.n, rating_sum = a.s,
                  rating_average = round(a.s::numeric / a.n, 2),
                  rating_histogram = ARRAY[a.h1, a.h2, a.h3, a.h4, a.h5]
                FROM (SELECT product_id, count(*) n, sum(rating) s,
                        count(*) FILTER (WHERE rating = 1) h1,
                        count(*) FILTER (WHERE rating = 2) h2,
                        count(*) FILTER (WHERE rating = 3) h3,
                        count(*) FILTER (WHERE rating = 4) h4,
                        count(*) FILTER (WHERE rating = 5) h5
                      FROM reviews WHERE status = 'approved' GROUP BY product_id) a
                WHERE a.product_id = p.id
                """
            )
        )
        await session.commit()
    return Catalog(root, child, leaf, items, people, extra)


async def execute(services: Services, statement: str, **params: object) -> None:
    """Run one SQL statement straight on the database (to shape data a test needs)."""
    async with services.sessions() as session:
        await session.execute(text(statement), params)
        await session.commit()


async def sign_in(services: Services, user: User) -> str:
    """An access token for `user` (no password check: catalog users have none that works)."""
    async with services.sessions() as session:
        issued = await start_session(
            session,
            services.signer,
            user,
            lifetime=timedelta(hours=1),
            user_agent="tests",
            ip_address=None,
        )
        await session.commit()
    return issued.access_token


async def new_user(services: Services, role: Role = Role.CUSTOMER) -> tuple[User, str]:
    """A user straight in the database, signed in: faster than `sign_up` (no password hash)."""
    async with services.sessions() as session:
        user = User(
            email=f"{role.value}-{secrets.token_hex(4)}@example.com",
            name=f"Some {role.value}",
            password_hash="x",
            role=role,
        )
        session.add(user)
        await session.commit()
    return user, await sign_in(services, user)
