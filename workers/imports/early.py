"""Applying an import while its file is still being read, in one transaction kept open.

The catalog's own work (inserting and updating products, their ten indexes, search vectors,
foreign keys) is as long as reading and checking the file; done after it, the two add up.
`EarlyApply` applies each batch as soon as it is staged, on a second connection, in ONE
transaction that stays open for the whole file, so the database works on batch n while
Python checks batch n+1. Nothing changes for anyone else until that transaction commits,
with the job's end, exactly as when everything is applied at the end (`apply.apply`).

It only takes the easy, common case, and gives up (rolls back; the rows are then applied at
the end, as a resumed run does) as soon as a batch needs what only the whole file decides:
a SKU on two rows, a new product without a name or a price, a price or currency alone
against an existing product, any failed row under onError ABORT, another import applying
(the lock is taken without waiting), a category deleted, any database error. At the end the
import commits this transaction only if it applied every staged batch and exactly the rows
still valid after the whole-file checks (`ready`). Same batches, same statements: the result
is what applying at the end gives.
"""

from __future__ import annotations

import logging
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

from workers.imports.apply import APPLY_LOCK_KEY, CatalogChanged, add, apply_rows, plan_by_index
from workers.jobs.runner import JobRun, Summary

logger = logging.getLogger("catalog.jobs.imports")

# Does a batch of staged rows need the whole file (see the module)? In the apply transaction,
# which sees the products created by the earlier batches.
_NEEDS_WHOLE_FILE = """
SELECT EXISTS (
    SELECT 1 FROM import_rows r
    WHERE r.job_id = :job AND r."row" BETWEEN :first AND :last AND (
        (:abort AND NOT r.valid)
        OR (r.sku IS NOT NULL AND (
            SELECT e."row" FROM import_rows e
            WHERE e.job_id = :job AND e.sku = r.sku AND e."row" <> r."row"
              AND e."row" <= :last
            LIMIT 1) IS NOT NULL)
        OR (r.valid AND (r.name IS NULL OR r.price IS NULL)
            AND (SELECT p.id FROM products p WHERE p.sku = r.sku) IS NULL)
        OR (r.valid AND (r.price IS NULL) <> (r.currency IS NULL)
            AND (SELECT p.id FROM products p WHERE p.sku = r.sku) IS NOT NULL)
    )
)
"""
# (Scalar subqueries, not EXISTS: never planned as a scan of the whole table, see
# apply.plan_by_index.)


class EarlyApply:
    """See the module. Use as `async with`: whatever was not committed is rolled back."""

    def __init__(self, run: JobRun, *, abort: bool) -> None:
        self._run = run
        self._abort = abort
        self._session: AsyncSession | None = None
        self._transaction: AsyncSessionTransaction | None = None
        self.active = True
        self.summary = Summary()
        self.announced: list[int] = []
        self.staged = 0  # rows of the batches applied (valid or not)

    async def __aenter__(self) -> EarlyApply:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.give_up()

    async def give_up(self) -> None:
        """Roll back what was applied; the import applies its rows at the end instead."""
        self.active = False
        session, self._session, self._transaction = self._session, None, None
        if session is not None:
            await session.close()  # rolls back the open transaction

    async def batch(self, rows: tuple[int, int], size: int) -> None:
        """Apply the staged rows rows[0]..rows[1] (`size` of them), or give up."""
        if not self.active:
            return
        try:
            session = await self._begin()
            if session is None:
                return
            params = {"job": self._run.job_id, "first": rows[0], "last": rows[1]}
            needs = await session.execute(text(_NEEDS_WHOLE_FILE), {**params, "abort": self._abort})
            if needs.scalar_one():
                await self.give_up()
                return
            counts, announced = await apply_rows(session, self._run.job_id, rows)
        except (CatalogChanged, DBAPIError):
            # Applying at the end meets the same problem again and reports it properly.
            logger.info("job %s: applying at the end", self._run.job_id, exc_info=True)
            await self.give_up()
            return
        self.summary = add(self.summary, counts)
        self.announced += announced
        self.staged += size

    async def _begin(self) -> AsyncSession | None:
        if self._session is not None:
            return self._session
        session = self._run.sessions()
        self._session, self._transaction = session, await session.begin()
        locked = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": APPLY_LOCK_KEY}
        )
        if not locked.scalar_one():  # another import is applying: wait at the end, as before
            await self.give_up()
            return None
        await plan_by_index(session)
        return session

    def ready(self, *, staged: int, failed: int) -> AsyncSession | None:
        """The open transaction, when it applied every one of the `staged` rows' batches and
        exactly the valid ones (`failed` rows have errors after the whole-file checks)."""
        applied = self.summary.created + self.summary.updated + self.summary.unchanged
        if not self.active or self.staged != staged or applied != staged - failed:
            return None
        return self._session

    async def commit(self) -> None:
        assert self._transaction is not None
        await self._transaction.commit()
        await self.give_up()
