"""The auth throttles over HTTP against real PostgreSQL and Redis: parallel guesses, owners
and attackers at different client addresses, registrations per address, wrong current
passwords, HTTP 429 with Retry-After, and the per-process fallback when Redis is away."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from db.users import User
from resolvers.context import Services
from tests.support.database import StatementCounter
from tests.support.graphql import (
    GRAPHQL_RESPONSE,
    LOGIN,
    REGISTER,
    STRONG_PASSWORD,
    GraphQLClient,
    SignUp,
)

WRONG = "not the password at all"
# Small limits, so the tests need few argon2 hashes: failures per account and per address.
PER_ACCOUNT, PER_ADDRESS, REGISTRATIONS = 3, 5, 3

ClientAt = Callable[[str], AbstractAsyncContextManager["Caller"]]


@dataclass
class Answer:
    status: int
    retry_after: str | None
    payload: dict[str, Any]

    @property
    def code(self) -> str | None:
        errors = self.payload["errors"]
        return str(errors[0]["code"]) if errors else None


@dataclass
class Caller:
    """A frontend at one client address."""

    http: httpx.AsyncClient

    async def call(self, query: str, variables: dict[str, Any], token: str | None = None) -> Answer:
        headers = {"accept": GRAPHQL_RESPONSE}
        if token:
            headers["authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        body = response.json()
        assert "errors" not in body, body
        (payload,) = body["data"].values()
        return Answer(response.status_code, response.headers.get("retry-after"), payload)

    async def login(self, email: str, password: str) -> Answer:
        return await self.call(LOGIN, {"input": {"email": email, "password": password}})

    async def register(self, email: str, password: str = STRONG_PASSWORD) -> Answer:
        values = {"email": email, "name": "Reg", "password": password}
        return await self.call(REGISTER, {"input": values})


def callers_of(application: Starlette) -> ClientAt:
    @asynccontextmanager
    async def at(address: str) -> AsyncIterator[Caller]:
        transport = httpx.ASGITransport(app=application, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Caller(http)

    return at


@pytest.fixture(scope="module")
async def small_app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(
        settings.model_copy(
            update={
                "login_failures_per_email": PER_ACCOUNT,
                "login_failures_per_address": PER_ADDRESS,
                "registrations_per_address_per_hour": REGISTRATIONS,
            }
        )
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def client_at(small_app: Starlette, gql: GraphQLClient) -> ClientAt:
    """Callers of the small-limits app at chosen addresses (`gql`: from empty tables and Redis)."""
    return callers_of(small_app)


def assert_throttled(answer: Answer, max_wait: int) -> None:
    assert answer.code == "TOO_MANY_ATTEMPTS", answer
    assert answer.payload.get("accessToken") is None
    assert answer.status == 429
    assert answer.retry_after is not None and 1 <= int(answer.retry_after) <= max_wait


# --- sign-in ------------------------------------------------------------------------------


async def test_100_parallel_wrong_logins_get_at_most_the_limit_of_checks(
    app: Starlette,
    gql: GraphQLClient,
    sign_up: SignUp,
    services: Services,
    count_statements: StatementCounter,
) -> None:
    account = await sign_up("target@example.com")
    limit = services.config.login_failures_per_email
    window = services.config.login_failure_window_seconds
    count_statements.statements.clear()
    async with callers_of(app)("192.0.2.66") as attacker:
        answers = await asyncio.gather(*(attacker.login(account.email, WRONG) for _ in range(100)))
    codes = Counter(answer.code for answer in answers)
    assert codes == {"INVALID_CREDENTIALS": limit, "TOO_MANY_ATTEMPTS": 100 - limit}
    for answer in answers:
        if answer.code == "TOO_MANY_ATTEMPTS":
            assert_throttled(answer, window)
        else:
            assert (answer.status, answer.retry_after) == (200, None)
    # Only the admitted attempts looked the account up (and verified a password).
    lookups = [s for s in count_statements.statements if "FROM users" in s]
    assert len(lookups) == limit
    # Clients of plain application/json get 200, with Retry-After all the same.
    response = await gql.http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": account.email, "password": WRONG}}},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200 and response.headers["retry-after"]
    assert response.json()["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"


async def test_the_owner_signs_in_from_a_known_address_while_attackers_are_refused(
    client_at: ClientAt, sign_up: SignUp
) -> None:
    owner = await sign_up("owner@example.com")
    async with client_at("198.51.100.20") as home:
        assert (await home.login(owner.email, owner.password)).code is None
        # Attackers from several addresses spend the account's failures between them.
        spent = 0
        for n in range(1, 5):
            async with client_at(f"192.0.2.{n}") as attacker:
                for _ in range(2):
                    answer = await attacker.login(owner.email, WRONG)
                    spent += answer.code == "INVALID_CREDENTIALS"
        assert spent == PER_ACCOUNT
        async with client_at("192.0.2.99") as fresh_attacker:
            assert_throttled(await fresh_attacker.login(owner.email, WRONG), 900)
            # Even the right password is refused from there: the account is at its limit.
            assert_throttled(await fresh_attacker.login(owner.email, owner.password), 900)
        # The owner, at home, is not locked out; signing in does not reset the account.
        assert (await home.login(owner.email, owner.password)).code is None
        async with client_at("192.0.2.1") as attacker:
            assert_throttled(await attacker.login(owner.email, WRONG), 900)
        # From an address the owner never used, the account's limit applies to the owner too.
        async with client_at("203.0.113.200") as cafe:
            assert_throttled(await cafe.login(owner.email, owner.password), 900)


async def test_a_noisy_address_does_not_shut_out_colleagues_who_signed_in_from_it(
    client_at: ClientAt, sign_up: SignUp
) -> None:
    colleague = await sign_up("colleague@example.com")
    newcomer = await sign_up("newcomer@example.com")
    async with client_at("192.0.2.10") as office:
        assert (await office.login(colleague.email, colleague.password)).code is None
        # Someone in the office guesses at many accounts until the address is at its limit.
        for n in range(PER_ADDRESS):
            assert (await office.login(f"victim{n}@example.com", WRONG)).code == (
                "INVALID_CREDENTIALS"
            )
        assert_throttled(await office.login("victim-next@example.com", WRONG), 900)
        assert_throttled(await office.login(newcomer.email, newcomer.password), 900)
        # The colleague has signed in from here before and still can.
        assert (await office.login(colleague.email, colleague.password)).code is None
    async with client_at("192.0.2.11") as elsewhere:
        assert (await elsewhere.login(newcomer.email, newcomer.password)).code is None


async def test_a_known_address_is_still_limited_by_its_own_failures(
    client_at: ClientAt, sign_up: SignUp
) -> None:
    owner = await sign_up("typos@example.com")
    async with client_at("198.51.100.30") as home:
        assert (await home.login(owner.email, owner.password)).code is None
        for _ in range(PER_ACCOUNT):
            assert (await home.login(owner.email, WRONG)).code == "INVALID_CREDENTIALS"
        assert_throttled(await home.login(owner.email, owner.password), 900)


# --- registration -------------------------------------------------------------------------


async def test_registrations_are_limited_per_address(
    client_at: ClientAt, services: Services
) -> None:
    async with client_at("192.0.2.50") as signups:
        # Refused input is not counted: nothing was hashed.
        assert (await signups.register("weak@example.com", "short")).code == "WEAK_PASSWORD"
        for n in range(REGISTRATIONS):
            assert (await signups.register(f"new{n}@example.com")).code is None
        refused = await signups.register("one-more@example.com")
        assert_throttled(refused, 3600)
        assert int(refused.retry_after or 0) > 3500
    async with client_at("192.0.2.51") as neighbour:
        assert (await neighbour.register("neighbour@example.com")).code is None
    async with services.sessions() as session:
        emails = set((await session.execute(select(User.email))).scalars())
    assert "one-more@example.com" not in emails
    assert len(emails) == REGISTRATIONS + 1


# --- the current password -----------------------------------------------------------------

CHANGE_PASSWORD = """
mutation Change($input: ChangePasswordInput!) {
  changePassword(input: $input) { user { id } errors { field code message } }
}
"""


async def test_wrong_current_passwords_are_limited_per_account(
    client_at: ClientAt, sign_up: SignUp
) -> None:
    account = await sign_up("changer@example.com")
    new = "an entirely new passphrase"
    async with client_at("192.0.2.70") as thief:

        async def change(current: str) -> Answer:
            variables = {"input": {"currentPassword": current, "newPassword": new}}
            return await thief.call(CHANGE_PASSWORD, variables, token=account.access_token)

        # A right guess is no failure, and does not use up the limit.
        for _ in range(PER_ACCOUNT):
            assert (await change(WRONG)).code == "INVALID_CREDENTIALS"
        assert_throttled(await change(account.password), 900)
        assert_throttled(await change(WRONG), 900)
    async with client_at("192.0.2.71") as owner:
        assert (await owner.login(account.email, account.password)).code is None


async def test_a_right_current_password_is_not_counted(
    client_at: ClientAt, sign_up: SignUp
) -> None:
    account = await sign_up("steady@example.com")
    passwords = [account.password, *(f"passphrase number {n}" for n in range(PER_ACCOUNT + 1))]
    async with client_at("192.0.2.72") as owner:
        for current, new in itertools.pairwise(passwords):
            variables = {"input": {"currentPassword": current, "newPassword": new}}
            answer = await owner.call(CHANGE_PASSWORD, variables, token=account.access_token)
            assert answer.code is None, answer


# --- Redis unreachable --------------------------------------------------------------------


async def test_sign_in_is_limited_per_process_while_redis_is_unreachable(
    settings: Settings,
    gql: GraphQLClient,
    sign_up: SignUp,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = await sign_up("outage@example.com")
    down = create_app(
        settings.model_copy(
            update={"redis_url": "redis://127.0.0.1:9/0", "login_failures_per_email": PER_ACCOUNT}
        )
    )
    with caplog.at_level(logging.INFO, logger="catalog.throttle"):
        async with down.router.lifespan_context(down):
            at = callers_of(down)
            async with at("192.0.2.81") as owner, at("192.0.2.80") as attacker:
                assert (await owner.login(account.email, account.password)).code is None
                answers = [await attacker.login(account.email, WRONG) for _ in range(6)]
                right = await attacker.login(account.email, account.password)
                # The same rules: the owner's known address is not locked out.
                assert (await owner.login(account.email, account.password)).code is None
    assert [a.code for a in answers] == ["INVALID_CREDENTIALS"] * PER_ACCOUNT + [
        "TOO_MANY_ATTEMPTS"
    ] * (6 - PER_ACCOUNT)
    assert_throttled(answers[-1], 900)
    assert_throttled(right, 900)
    # Logged once, not per request.
    fallbacks = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(fallbacks) == 1
    # Nothing was counted in Redis, which that process could not reach.
    assert not await services.redis.keys("throttle:sign-in:*")
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
