"""The client's address: X-Forwarded-For is believed only from TRUSTED_PROXIES.

Observed as a session's `ipAddress` after signing in (the same address the throttles use). The
peer of each request is set with httpx.ASGITransport(client=(address, port)).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from tests.support.graphql import LOGIN, REGISTER, STRONG_PASSWORD, GraphQLClient, SignUp

PROXY_V4 = "10.0.0.5"
PROXY_V6 = "fd00::5"
CLIENT = "198.51.100.23"
FORGED = "203.0.113.99"

Peer = Callable[..., AbstractAsyncContextManager[GraphQLClient]]


@pytest.fixture
async def proxied_app(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[Starlette]:
    """An app behind proxies 10.0.0.0/24 and fd00::5 (depends on `client`: empty tables)."""
    application = create_app(
        settings.model_copy(update={"trusted_proxies": ["10.0.0.0/24", PROXY_V6]})
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def peer(proxied_app: Starlette) -> Peer:
    """A GraphQL client of the proxied app whose requests come from `address`."""

    @asynccontextmanager
    async def connect(address: str) -> AsyncIterator[GraphQLClient]:
        transport = httpx.ASGITransport(app=proxied_app, client=(address, 41000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http)

    return connect


async def session_address(gql: GraphQLClient, email: str, password: str, **headers: str) -> str:
    """Sign in (with `headers`) and read the new session's address back."""
    login = await gql.data(
        LOGIN, {"input": {"email": email, "password": password}}, headers=headers
    )
    token = login["login"]["accessToken"]
    sessions = await gql.data("{ mySessions { current ipAddress } }", token=token)
    [current] = [s for s in sessions["mySessions"] if s["current"]]
    address: str = current["ipAddress"]
    return address


async def test_a_forged_header_from_an_untrusted_peer_is_ignored(
    peer: Peer, sign_up: SignUp
) -> None:
    account = await sign_up()
    async with peer(CLIENT) as gql:
        seen = await session_address(
            gql, account.email, account.password, **{"x-forwarded-for": FORGED}
        )

    assert seen == CLIENT


async def test_the_suite_app_trusts_no_proxy(gql: GraphQLClient, sign_up: SignUp) -> None:
    # TRUSTED_PROXIES is empty by default: not even 127.0.0.1 is believed.
    account = await sign_up()
    seen = await session_address(
        gql, account.email, account.password, **{"x-forwarded-for": FORGED}
    )

    assert seen == "203.0.113.7"  # the suite client's own address


@pytest.mark.parametrize("proxy", [PROXY_V4, "10.0.0.200", PROXY_V6])
async def test_a_trusted_proxy_names_the_client(peer: Peer, sign_up: SignUp, proxy: str) -> None:
    account = await sign_up()
    async with peer(proxy) as gql:
        seen = await session_address(
            gql, account.email, account.password, **{"x-forwarded-for": CLIENT}
        )

    assert seen == CLIENT


async def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: Peer, sign_up: SignUp
) -> None:
    # The client wrote FORGED itself; the outer proxy appended CLIENT, the inner one its peer.
    account = await sign_up()
    async with peer(PROXY_V4) as gql:
        seen = await session_address(
            gql,
            account.email,
            account.password,
            **{"x-forwarded-for": f"{FORGED}, {CLIENT}, 10.0.0.9"},
        )

    assert seen == CLIENT


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("[2001:db8::7]:4711", "2001:db8::7", id="ipv6-with-port"),
        pytest.param("198.51.100.23:4711", CLIENT, id="ipv4-with-port"),
        pytest.param("unknown", PROXY_V4, id="garbage"),
        pytest.param("x" * 300, PROXY_V4, id="too-long-for-the-column"),
        pytest.param(f"{CLIENT}, not-an-address", PROXY_V4, id="garbage-nearest"),
    ],
)
async def test_forwarded_addresses_are_read_or_ignored(
    peer: Peer, sign_up: SignUp, header: str, expected: str
) -> None:
    account = await sign_up()
    async with peer(PROXY_V4) as gql:
        seen = await session_address(
            gql, account.email, account.password, **{"x-forwarded-for": header}
        )

    assert seen == expected


@pytest.mark.parametrize("proxies", [["10.0.0.300"], ["proxy.internal"], ["10.0.0.0/33"]])
def test_trusted_proxies_must_be_addresses(proxies: list[str]) -> None:
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies=proxies, _env_file=None)


async def test_catalog_serve_does_not_trust_loopback(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    # uvicorn alone would believe X-Forwarded-For from 127.0.0.1; `catalog serve` must not.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SECRET_KEY": settings.signing_key,
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "WARNING",
    }
    server = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(150):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            gql = GraphQLClient(http)
            data = await gql.data(
                REGISTER,
                {"input": {"email": "s@example.com", "name": "S", "password": STRONG_PASSWORD}},
                headers={"x-forwarded-for": FORGED},
            )
            token = data["register"]["accessToken"]
            sessions = await gql.data("{ mySessions { ipAddress } }", token=token)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)

    assert sessions == {"mySessions": [{"ipAddress": "127.0.0.1"}]}
