"""Dataloaders, built fresh for every request (never shared: they cache per request).

Each batch opens its own session from the factory: one `AsyncSession` cannot serve the
concurrent resolvers of a GraphQL request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from db.session import SessionFactory
from db.users import User


async def _users_by_id(sessions: SessionFactory, ids: Sequence[int]) -> list[User | None]:
    async with sessions() as session:
        rows = (await session.execute(select(User).where(User.id.in_(ids)))).scalars()
        by_id = {user.id: user for user in rows}
    return [by_id.get(key) for key in ids]


@dataclass(frozen=True)
class Loaders:
    user_by_id: DataLoader[int, User | None]


def create_loaders(sessions: SessionFactory) -> Loaders:
    return Loaders(
        user_by_id=DataLoader(lambda ids: _users_by_id(sessions, ids)),
    )
