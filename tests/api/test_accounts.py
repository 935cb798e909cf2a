"""Registration, sign-in, profile and password reset, over HTTP against real servers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from argon2 import PasswordHasher
from sqlalchemy import func, select

from app.settings import Settings
from db.emails import EmailStatus, OutboxEmail
from db.users import User
from resolvers.context import Services
from tests.support.graphql import LOGIN, REGISTER, STRONG_PASSWORD, GraphQLClient, SignUp

RunWorker = Callable[[], Awaitable[int]]


async def register(
    gql: GraphQLClient, email: str, name: str = "Ann", password: str = STRONG_PASSWORD
) -> dict:  # type: ignore[type-arg]
    data = await gql.data(REGISTER, {"input": {"email": email, "name": name, "password": password}})
    payload: dict = data["register"]  # type: ignore[type-arg]
    return payload


async def user_count(services: Services) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def test_register_returns_tokens_and_own_email(gql: GraphQLClient) -> None:
    payload = await register(gql, "Ann.Example@Example.COM")
    assert payload["errors"] == []
    assert payload["user"]["email"] == "Ann.Example@example.com"  # domain normalised
    assert payload["user"]["role"] == "CUSTOMER"
    assert payload["accessToken"] and payload["refreshToken"]
    me = await gql.as_user(payload["accessToken"]).data("{ me { id email name } }")
    assert me["me"]["id"] == payload["user"]["id"]


async def test_register_refuses_bad_input_and_writes_nothing(
    gql: GraphQLClient, services: Services
) -> None:
    cases = [
        ({"email": "not-an-email"}, "email", "INVALID_EMAIL"),
        ({"email": "a@" + "x" * 260 + ".com"}, "email", "INVALID_EMAIL"),
        ({"name": "   "}, "name", "INVALID_INPUT"),
        ({"name": "x" * 101}, "name", "INVALID_INPUT"),
        ({"name": "bad\x1bname"}, "name", "INVALID_INPUT"),
        ({"password": "short"}, "password", "WEAK_PASSWORD"),
        ({"password": "password123"}, "password", "WEAK_PASSWORD"),
        ({"password": "aaaaaaaaaaaa"}, "password", "WEAK_PASSWORD"),
        ({"password": "x1" * 65 + "y"}, "password", "PASSWORD_TOO_LONG"),
    ]
    for override, field, code in cases:
        values = {"email": "ok@example.com", "name": "Ann", "password": STRONG_PASSWORD, **override}
        data = await gql.data(REGISTER, {"input": values})
        payload = data["register"]
        assert payload["user"] is None and payload["accessToken"] is None, override
        assert {"field": field, "code": code} in [
            {"field": e["field"], "code": e["code"]} for e in payload["errors"]
        ], (override, payload["errors"])
        assert all(e["message"] for e in payload["errors"])
    assert await user_count(services) == 0


async def test_password_containing_the_email_is_refused(gql: GraphQLClient) -> None:
    payload = await register(gql, "margaret@example.com", password="margaret-is-my-secret")
    assert [e["code"] for e in payload["errors"]] == ["WEAK_PASSWORD"]


async def test_email_is_unique_case_insensitively(gql: GraphQLClient) -> None:
    assert (await register(gql, "dup@example.com"))["errors"] == []
    again = await register(gql, "DUP@Example.com")
    assert again["user"] is None
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("email", "EMAIL_TAKEN")]


async def test_concurrent_registrations_of_one_email_have_one_winner(
    gql: GraphQLClient, services: Services
) -> None:
    emails = ["race@example.com", "Race@example.com", "RACE@EXAMPLE.COM", "race@Example.com"]
    results = await asyncio.gather(*(register(gql, email) for email in emails))
    winners = [r for r in results if r["user"] is not None]
    losers = [r for r in results if r["user"] is None]
    assert len(winners) == 1
    assert all([e["code"] for e in r["errors"]] == ["EMAIL_TAKEN"] for r in losers)
    assert await user_count(services) == 1


async def test_login_same_answer_for_unknown_email_and_wrong_password(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up("login@example.com")
    wrong = (await gql.data(LOGIN, {"input": {"email": account.email, "password": "nope" * 4}}))[
        "login"
    ]
    unknown = (
        await gql.data(LOGIN, {"input": {"email": "ghost@example.com", "password": "nope" * 4}})
    )["login"]
    assert wrong == unknown
    assert wrong["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert wrong["accessToken"] is None
    too_long = (
        await gql.data(LOGIN, {"input": {"email": account.email, "password": "p" * 100_000}})
    )["login"]
    assert too_long["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_login_is_case_insensitive_and_issues_a_new_session(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up("case@example.com")
    data = await gql.data(
        LOGIN, {"input": {"email": "CASE@example.com", "password": account.password}}
    )
    payload = data["login"]
    assert payload["errors"] == [] and payload["user"]["email"] == "case@example.com"
    sessions = await gql.as_user(payload["accessToken"]).data("{ mySessions { id } }")
    assert len(sessions["mySessions"]) == 2  # the registration's and this one


async def test_login_rehashes_outdated_password_hashes(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up("rehash@example.com")
    weak_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    async with services.sessions() as session:
        user = (await session.execute(select(User).where(User.email == account.email))).scalar_one()
        user.password_hash = weak_hasher.hash(account.password)
        await session.commit()
    data = await gql.data(LOGIN, {"input": {"email": account.email, "password": account.password}})
    assert data["login"]["errors"] == []
    async with services.sessions() as session:
        stored = await session.scalar(select(User.password_hash).where(User.email == account.email))
    assert stored is not None and stored.startswith("$argon2id$")
    assert "m=8192" not in stored


async def test_update_me(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    me = gql.as_user(account.access_token)
    mutation = """
    mutation($n: String) { updateMe(input: {name: $n}) { user { name } errors { field code } } }
    """
    data = await me.data(mutation, {"n": "  Grace   Hopper "})
    assert data["updateMe"] == {"user": {"name": "Grace Hopper"}, "errors": []}
    data = await me.data(mutation, {"n": ""})
    assert data["updateMe"]["errors"] == [{"field": "name", "code": "INVALID_INPUT"}]
    assert (await me.data("{ me { name } }"))["me"]["name"] == "Grace Hopper"
    anonymous = await gql.post(mutation, {"n": "X"})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


RESET_REQUEST = (
    "mutation($e: String!) { requestPasswordReset(email: $e) { ok errors { field code } } }"
)
RESET = """
mutation($t: String!, $p: String!) {
  resetPassword(input: {token: $t, newPassword: $p}) { ok errors { field code } }
}
"""


async def sent_reset_token(services: Services, email: str) -> str:
    async with services.sessions() as session:
        body = await session.scalar(
            select(OutboxEmail.body)
            .where(OutboxEmail.to_address == email, OutboxEmail.kind == "password_reset")
            .order_by(OutboxEmail.id.desc())
        )
    assert body is not None
    match = re.search(r"code: (\S+)", body)
    assert match
    return match.group(1)


async def test_password_reset_end_to_end_through_the_worker(
    gql: GraphQLClient, sign_up: SignUp, services: Services, run_worker: RunWorker
) -> None:
    account = await sign_up("reset@example.com")
    unknown = await gql.data(RESET_REQUEST, {"e": "nobody@example.com"})
    known = await gql.data(RESET_REQUEST, {"e": account.email})
    assert unknown == known == {"requestPasswordReset": {"ok": True, "errors": []}}

    assert await run_worker() >= 2  # the welcome email and the reset email
    async with services.sessions() as session:
        emails = (
            (await session.execute(select(OutboxEmail).order_by(OutboxEmail.id))).scalars().all()
        )
    assert [(e.kind, e.to_address, e.status) for e in emails] == [
        ("welcome", account.email, EmailStatus.SENT),
        ("password_reset", account.email, EmailStatus.SENT),
    ]
    token = await sent_reset_token(services, account.email)

    weak = await gql.data(RESET, {"t": token, "p": "short"})
    assert weak["resetPassword"]["errors"] == [{"field": "newPassword", "code": "WEAK_PASSWORD"}]
    done = await gql.data(RESET, {"t": token, "p": "a brand new passphrase"})
    assert done["resetPassword"] == {"ok": True, "errors": []}
    # Single use, and every session ended.
    again = await gql.data(RESET, {"t": token, "p": "yet another passphrase"})
    assert again["resetPassword"]["errors"] == [{"field": "token", "code": "INVALID_TOKEN"}]
    stale = await gql.as_user(account.access_token).post("{ me { id } }")
    assert stale["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    old = await gql.data(LOGIN, {"input": {"email": account.email, "password": account.password}})
    assert old["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    new = await gql.data(
        LOGIN, {"input": {"email": account.email, "password": "a brand new passphrase"}}
    )
    assert new["login"]["errors"] == []


async def test_reset_tokens_expire_and_garbage_is_refused(
    gql: GraphQLClient, sign_up: SignUp, services: Services, run_worker: RunWorker
) -> None:
    account = await sign_up("expire@example.com")
    await gql.data(RESET_REQUEST, {"e": account.email})
    await run_worker()
    token = await sent_reset_token(services, account.email)
    async with services.sessions() as session:
        from sqlalchemy import text

        await session.execute(
            text("UPDATE password_reset_tokens SET expires_at = now() - interval '1 minute'")
        )
        await session.commit()
    for candidate in (token, "garbage", ""):
        data = await gql.data(RESET, {"t": candidate, "p": "a brand new passphrase"})
        assert data["resetPassword"]["errors"] == [{"field": "token", "code": "INVALID_TOKEN"}]


async def test_reset_requests_are_capped_per_hour(
    gql: GraphQLClient,
    sign_up: SignUp,
    services: Services,
    settings: Settings,
    run_worker: RunWorker,
) -> None:
    account = await sign_up("flood@example.com")
    for _ in range(6):
        data = await gql.data(RESET_REQUEST, {"e": account.email})
        assert data["requestPasswordReset"]["ok"] is True
    await run_worker()
    async with services.sessions() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxEmail.kind == "password_reset")
        )
    assert count == settings.password_resets_per_hour


async def test_reset_request_with_malformed_email_is_a_clear_error(gql: GraphQLClient) -> None:
    data = await gql.data(RESET_REQUEST, {"e": "not an email"})
    assert data["requestPasswordReset"] == {
        "ok": False,
        "errors": [{"field": "email", "code": "INVALID_EMAIL"}],
    }


async def test_repeated_failed_logins_are_throttled_per_account(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up("guessed@example.com")
    other = await sign_up("other@example.com")
    limit = services.config.login_failures_per_email
    for _ in range(limit):
        wrong = await gql.data(LOGIN, {"input": {"email": account.email, "password": "x" * 12}})
        assert wrong["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # Now even the right password is refused, for this account only, with a clear code.
    blocked = await gql.data(
        LOGIN, {"input": {"email": "GUESSED@example.com", "password": account.password}}
    )
    assert blocked["login"]["accessToken"] is None
    assert blocked["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    fine = await gql.data(LOGIN, {"input": {"email": other.email, "password": other.password}})
    assert fine["login"]["errors"] == []


async def test_a_successful_login_clears_the_failure_count(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up("forgetful@example.com")
    limit = services.config.login_failures_per_email
    for _ in range(limit - 1):
        await gql.data(LOGIN, {"input": {"email": account.email, "password": "x" * 12}})
    ok = await gql.data(LOGIN, {"input": {"email": account.email, "password": account.password}})
    assert ok["login"]["errors"] == []
    for _ in range(limit - 1):
        await gql.data(LOGIN, {"input": {"email": account.email, "password": "x" * 12}})
    again = await gql.data(LOGIN, {"input": {"email": account.email, "password": account.password}})
    assert again["login"]["errors"] == []
