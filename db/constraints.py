"""Which constraint refused a write: uniqueness is decided by the database, not by a prior
read, so concurrent writers cannot both win; these helpers turn the refusal into an answer.

Like every query helper they never commit: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint a failed statement violated (asyncpg reports it)."""
    cause = error.orig.__cause__ if error.orig is not None else None
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None


async def insert_unique(session: AsyncSession, row: Any) -> str | None:
    """Insert `row` in a savepoint: None, or the name of the unique constraint that refused it
    (the transaction goes on either way). Any other integrity error is raised."""
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
