"""The Starlette application: routes, middleware and the lifespan that owns connections."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.cors import Cors
from app.downloads import download_file
from app.graphiql import static_mount
from app.http import GraphQLEndpoint
from app.logs import RequestIdMiddleware
from app.proxies import TrustedProxies
from app.settings import Settings, get_settings
from app.subscriptions import SubscriptionEndpoint
from db.session import create_engine, create_reader_factory, create_session_factory
from resolvers.context import Config, Services
from resolvers.live.feed import ChangeFeed
from resolvers.rate_limit import RateBudget
from resolvers.users.tokens import TokenSigner
from schema.root import Limits, Shared, build_schema

logger = logging.getLogger("catalog.app")
# /graphql's methods (HEAD is answered as GET: Starlette adds it to a GET route).
GRAPHQL_METHODS = ("GET", "POST", "HEAD")
PROBE_TIMEOUT = 2.0


def open_redis(redis_url: str) -> ArqRedis:
    # No ping at start-up: the API serves reads while Redis is down; /readyz reports it.
    queue: ArqRedis = ArqRedis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    return queue


def resolver_config(settings: Settings) -> Config:
    """The settings resolvers act on, and nothing else."""
    return Config(
        public_url=settings.public_url,
        refresh_token_lifetime=timedelta(days=settings.refresh_token_days),
        refresh_grace_seconds=settings.refresh_grace_seconds,
        login_failures_per_email=settings.login_failures_per_email,
        login_failures_per_address=settings.login_failures_per_address,
        login_failure_window_seconds=settings.login_failure_window_seconds,
        registrations_per_address_per_hour=settings.registrations_per_address_per_hour,
        review_banned_words=tuple(settings.review_banned_words),
        shipping_flat_rate=settings.shipping_flat_rate,
        free_shipping_over=settings.free_shipping_over,
        job_max_attempts=settings.job_max_attempts,
        max_import_rows=settings.max_import_rows,
    )


def schema_limits(settings: Settings) -> Limits:
    """The limits every request to the schema meets."""
    rate = RateBudget(
        burst=settings.rate_limit_burst,
        per_second=settings.rate_limit_per_second,
        staff_factor=settings.rate_limit_staff_factor,
    )
    return Limits(
        max_depth=settings.max_query_depth,
        max_tokens=settings.max_query_tokens,
        max_aliases=settings.max_aliases,
        max_directives=settings.max_directives,
        max_cost=settings.max_query_cost,
        document_cache_bytes=settings.document_cache_bytes,
        deadline_seconds=settings.execution_deadline_seconds,
        rate=rate if settings.rate_limit else None,
    )


def create_services(settings: Settings) -> Services:
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError("DATABASE_URL and REDIS_URL are required to serve the API")
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    return Services(
        config=resolver_config(settings),
        sessions=create_session_factory(engine),
        readers=create_reader_factory(engine),
        redis=open_redis(settings.redis_url),
        signer=TokenSigner(
            key=settings.signing_key,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            lifetime=timedelta(minutes=settings.access_token_minutes),
        ),
        feed=ChangeFeed(settings.redis_url),
    )


async def close_services(services: Services) -> None:
    await services.feed.close()
    await services.redis.aclose()
    engine = services.sessions.kw["bind"]
    await engine.dispose()


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def favicon(request: Request) -> Response:
    # Browsers ask for it on every GraphiQL visit; answer rather than log a 404 each time.
    return Response(status_code=204)


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services

    async def postgres() -> None:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))

    async def redis() -> None:
        await services.redis.ping()

    checks = {"postgres": postgres, "redis": redis}
    results: dict[str, str] = {}
    for name, probe in checks.items():
        try:
            await asyncio.wait_for(probe(), PROBE_TIMEOUT)
            results[name] = "ok"
        except Exception as error:  # any failure means not ready; the log says which
            logger.warning("readiness check %s failed: %r", name, error)
            results[name] = "unavailable"
    ready = all(status == "ok" for status in results.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": results},
        status_code=200 if ready else 503,
    )


class GraphQLRoute:
    """`GET`/`POST /graphql` straight to its endpoint, the innermost middleware: Starlette's
    router and exception middleware would add nothing it uses (the endpoint answers every
    error itself, and RequestIdMiddleware is the last resort), at a tenth of a millisecond of
    Python per request. Anything else (other paths and methods, a root path) goes through the
    router as declared in `create_app`, where `/graphql`'s route stays the reference."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/graphql"
            and scope["method"] in GRAPHQL_METHODS
            and not scope.get("root_path")
        ):
            endpoint: GraphQLEndpoint = scope["app"].state.graphql
            response = await endpoint(Request(scope, receive, send))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    limits = schema_limits(settings)
    shared = Shared.for_limits(limits, compiled_queries=settings.compiled_queries)
    full_schema = build_schema(limits=limits, introspection=True, shared=shared)
    public_schema = build_schema(limits=limits, introspection=False, shared=shared)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = create_services(settings)
        app.state.services = services
        app.state.graphql = GraphQLEndpoint(services, settings, full_schema, public_schema)
        app.state.subscriptions = SubscriptionEndpoint(
            services, settings, full_schema, public_schema, app.state.graphql.persisted
        )
        services.feed.start()  # listening before the first subscriber: no change is missed
        try:
            yield
        finally:
            await close_services(services)

    async def graphql(request: Request) -> Response:
        endpoint: GraphQLEndpoint = request.app.state.graphql
        return await endpoint(request)

    async def subscriptions(websocket: WebSocket) -> None:
        endpoint: SubscriptionEndpoint = websocket.app.state.subscriptions
        await endpoint(websocket)

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", subscriptions),
            Route("/files/{token}", download_file, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/favicon.ico", favicon, methods=["GET"]),
            static_mount,
        ],
        # Outermost first: the client's address before anything reads it; CORS headers on
        # every response, the last-resort 500 of RequestIdMiddleware included.
        middleware=[
            Middleware(TrustedProxies, proxies=settings.trusted_proxies),
            Middleware(Cors, origins=settings.allowed_cors_origins),
            Middleware(RequestIdMiddleware),
            Middleware(GraphQLRoute),
        ],
        lifespan=lifespan,
    )
