"""A DataLoader whose cache we own, so a resolver can take a value that is already loaded.

Strawberry's `DataLoader` accepts a cache object; ours lets `value_or_load` hand back a finished
value directly. The executor completes a plain value at once, while every awaitable it is given
costs it a task: across the thousands of fields of a page that difference is most of the time
spent (see `resolvers.prefetch`, which loads whole levels ahead of the executor).
"""

from __future__ import annotations

from asyncio import Future, Task, current_task
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

from strawberry.dataloader import AbstractCache, DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MaybeAwaitable: TypeAlias = V | Awaitable[V]


class _Cache(AbstractCache[K, V], Generic[K, V]):
    def __init__(self) -> None:
        self.futures: dict[K, Future[V]] = {}

    def get(self, key: K) -> Future[V] | None:
        return self.futures.get(key)

    def set(self, key: K, value: Future[V]) -> None:
        self.futures[key] = value

    def delete(self, key: K) -> None:
        self.futures.pop(key, None)

    def clear(self) -> None:
        self.futures.clear()


class Loader(DataLoader[K, V]):
    """A per-request DataLoader (batching and caching by key) with a peek into its cache, whose
    running batches can be stopped."""

    def __init__(
        self, load_fn: Callable[[Sequence[K]], Awaitable[Sequence[V]]], reads: object = None
    ) -> None:
        # What the loader reads (a `resolvers.rows.Rows` or `Join`): the checks that relations,
        # loaders and the compiler agree compare it (tests/unit/test_mapping.py).
        self.reads = reads
        self._futures: _Cache[K, V] = _Cache()
        # Batches run in tasks of their own, not the request's: cancelling the request leaves
        # them running (and their SQL), unless they are cancelled too (`cancel_running`).
        self._running: set[Task[Any]] = set()

        async def tracked(keys: Sequence[K]) -> Sequence[V]:
            task = current_task()
            if task is None:  # not in a task: nothing could cancel it anyway
                return await load_fn(keys)
            self._running.add(task)
            try:
                return await load_fn(keys)
            finally:
                self._running.discard(task)

        super().__init__(tracked, cache_map=self._futures)

    def cancel_running(self) -> None:
        """Cancel the batches being loaded (their statements are cancelled with them).

        A batch being cancelled already (strawberry cancels one whose every caller is gone) is
        left alone: a second cancellation would interrupt asyncpg while it cancels the
        statement on the server, which then runs on."""
        for task in list(self._running):
            if not task.cancelling():
                task.cancel()

    def has(self, key: K) -> bool:
        """Whether `key` is loaded or being loaded."""
        return key in self._futures.futures

    def value_or_load(self, key: K) -> MaybeAwaitable[V]:
        """The value when it is already loaded (no awaitable for the executor), else a load."""
        future = self._futures.get(key)
        if future is not None and future.done() and not future.cancelled():
            return future.result()  # re-raises a failed load's error, as awaiting would
        return self.load(key)
