"""The request context every resolver receives, and the long-lived services it carries.

`app.context` builds one per request (who is asking, from the bearer token); `app.main` builds
the `Services` once per process. Resolvers see only what is declared here: in particular only
the few settings they act on (`Config`), never the application's whole configuration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

import strawberry
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

from db.session import SessionFactory
from db.users import User
from resolvers.live.feed import ChangeFeed
from resolvers.loaders import Loaders, create_loaders
from resolvers.users.throttle import Throttle, ThrottleLimits
from resolvers.users.tokens import TokenSigner
from resolvers.viewer import ANONYMOUS, Viewer
from workers.files import FileStore, PostgresFileStore

if TYPE_CHECKING:
    from resolvers.compiler.build import Statement


@dataclass(frozen=True)
class Config:
    """The settings resolvers act on (from `app.settings.Settings`)."""

    public_url: str
    refresh_token_lifetime: timedelta
    refresh_grace_seconds: int
    login_failures_per_email: int
    login_failures_per_address: int
    login_failure_window_seconds: int
    registrations_per_address_per_hour: int
    review_banned_words: tuple[str, ...]
    # Checkout: a flat shipping rate, waived from this subtotal up (in the order's currency).
    shipping_flat_rate: Decimal = Decimal("4.90")
    free_shipping_over: Decimal = Decimal("50.00")
    # Jobs and files (see README "Jobs")
    job_max_attempts: int = 5
    download_link_lifetime: timedelta = timedelta(minutes=15)
    max_import_rows: int = 1_000_000


@dataclass(frozen=True)
class Services:
    """Long-lived dependencies, built once per process."""

    config: Config
    sessions: SessionFactory
    # Autocommit sessions for reads (lists, lookups, loaders): fewer round trips.
    readers: SessionFactory
    # The general Redis connection: arq's queue, throttles.
    redis: ArqRedis
    signer: TokenSigner
    # Committed changes announced on Redis pub/sub, one listener per process (subscriptions).
    feed: ChangeFeed

    @cached_property
    def files(self) -> FileStore:
        """Uploaded and generated files (in PostgreSQL)."""
        return PostgresFileStore(self.sessions, self.readers)

    @cached_property
    def throttle(self) -> Throttle:
        """The auth throttles: counts shared through `redis`, this process's while it is away."""
        config = self.config
        return Throttle(
            self.redis,
            ThrottleLimits(
                failures_per_account=config.login_failures_per_email,
                failures_per_address=config.login_failures_per_address,
                failure_window_seconds=config.login_failure_window_seconds,
                registrations_per_address_per_hour=config.registrations_per_address_per_hour,
            ),
        )


@dataclass
class Context:
    services: Services
    request_id: str
    viewer: Viewer = ANONYMOUS
    user_agent: str | None = None
    client_ip: str | None = None
    # The `operationName` the client sent, if any (see schema.extensions.OperationChoice).
    operation_name: str | None = None
    # Set by register/login/refresh: the account this request just signed in as.
    signed_in_user_id: int | None = None
    # Set when the request was refused for going too fast (a throttle, the rate limit): the
    # HTTP layer answers 429 with `Retry-After` (for clients of graphql-response+json).
    retry_after: float | None = None
    # Which path answered the operation: "compiled" (one SQL statement, see
    # resolvers.compiler) or "executor"; None before execution.
    answered_by: str | None = None
    # The compiled statement that answered (set with answered_by "compiled"): the HTTP
    # layer's plan cache keeps it for the next identical request (app/compiled_plans.py).
    compiled: Statement | None = field(default=None, repr=False)
    # Set when the HTTP layer's plan cache already charged the rate limit for this request.
    rate_charged: bool = False
    _loaders: Loaders | None = field(default=None, init=False, repr=False)

    @property
    def loaders(self) -> Loaders:
        """The request's dataloaders, built when a resolver first asks (a compiled query
        never does)."""
        if self._loaders is None:
            self._loaders = create_loaders(self.services.readers, self.viewer)
        return self._loaders

    def cancel_loading(self) -> None:
        """Stop every dataloader batch still running (the request was stopped)."""
        if self._loaders is not None:
            self._loaders.cancel_running()

    def slow_down(self, seconds: float) -> None:
        """Ask the client to wait `seconds` before trying again."""
        self.retry_after = max(seconds, self.retry_after or 0)

    @property
    def user(self) -> User | None:
        """The caller; raises UNAUTHENTICATED if the request carried a bad token."""
        return self.viewer.user

    @property
    def config(self) -> Config:
        return self.services.config

    @property
    def readers(self) -> SessionFactory:
        return self.services.readers

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncSession]:
        """A session for one write transaction (the caller commits). Afterwards this request's
        loader caches are dropped, so fields resolved later see what was written."""
        try:
            async with self.services.sessions() as session:
                yield session
        finally:
            if self._loaders is not None:
                self._loaders.clear()


Info = strawberry.Info[Context, None]
