"""Sessions and refresh tokens over HTTP: rotation, reuse detection, logout, revocation,
listing, and password changes that end other sessions."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from sqlalchemy import inspect, text

from db.users import User
from resolvers.context import Services
from resolvers.users.sessions import VIEWER_COLUMNS, authenticate
from tests.support.catalog import new_user
from tests.support.graphql import (
    LOGIN,
    LOGOUT,
    REFRESH,
    REVOKE_SESSION,
    Account,
    GraphQLClient,
    SignUp,
)

ME = "query Me { me { id } }"


LOGOUT_ALL = "mutation LogoutAll { logoutAll { ok errors { field code message } } }"

MY_SESSIONS = """
query Sessions {
  mySessions { id current createdAt lastUsedAt expiresAt userAgent ipAddress }
}
"""


CHANGE_PASSWORD = """
mutation Change($input: ChangePasswordInput!) {
  changePassword(input: $input) { user { id email } errors { field code message } }
}
"""

NEW_PASSWORD = "a brand new passphrase for testing"

INVALID_TOKEN = [
    {
        "field": "refreshToken",
        "code": "INVALID_TOKEN",
        "message": "This refresh token is invalid or has expired.",
    }
]


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str


# --- helpers ------------------------------------------------------------------------------


def sid_of(access_token: str) -> str:
    sid: str = jwt.decode(access_token, options={"verify_signature": False})["sid"]
    return sid


def session_global_id(sid: str) -> str:
    return base64.urlsafe_b64encode(f"Session:{sid}".encode()).decode()


async def login(
    gql: GraphQLClient, account: Account, password: str | None = None, user_agent: str = ""
) -> Tokens:
    headers = {"user-agent": user_agent} if user_agent else None
    payload = (
        await gql.data(
            LOGIN,
            {"input": {"email": account.email, "password": password or account.password}},
            headers=headers,
        )
    )["login"]
    assert payload["errors"] == [], payload
    return Tokens(payload["accessToken"], payload["refreshToken"])


async def login_errors(gql: GraphQLClient, email: str, password: str) -> list[dict[str, Any]]:
    payload = (await gql.data(LOGIN, {"input": {"email": email, "password": password}}))["login"]
    if payload["errors"]:
        assert payload["accessToken"] is None
        assert payload["refreshToken"] is None
    errors: list[dict[str, Any]] = payload["errors"]
    return errors


async def refresh(gql: GraphQLClient, token: str) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.data(REFRESH, {"token": token}))["refreshToken"]
    return payload


async def refreshed(gql: GraphQLClient, token: str) -> Tokens:
    payload = await refresh(gql, token)
    assert payload["errors"] == [], payload
    return Tokens(payload["accessToken"], payload["refreshToken"])


async def refused_refresh(gql: GraphQLClient, token: str) -> None:
    payload = await refresh(gql, token)
    assert payload == {
        "user": None,
        "accessToken": None,
        "refreshToken": None,
        "errors": INVALID_TOKEN,
    }


async def works(gql: GraphQLClient, access: str, user_id: str) -> None:
    assert (await gql.data(ME, token=access)) == {"me": {"id": user_id}}


async def unauthenticated(gql: GraphQLClient, query: str, access: str | None = None) -> None:
    body = await gql.post(query, token=access)
    codes = [error["extensions"]["code"] for error in body.get("errors", [])]
    assert codes == ["UNAUTHENTICATED"], body


async def state_of(services: Services) -> list[tuple[Any, ...]]:
    """Every session and refresh-token row, to prove a refusal changed nothing."""
    async with services.sessions() as session:
        sessions = (
            await session.execute(
                text(
                    "SELECT id::text, revoked_at, expires_at, last_used_at FROM auth_sessions"
                    " ORDER BY id"
                )
            )
        ).all()
        tokens = (
            await session.execute(
                text(
                    "SELECT id, session_id::text, used_at, expires_at FROM refresh_tokens"
                    " ORDER BY id"
                )
            )
        ).all()
    return [tuple(row) for row in [*sessions, *tokens]]


# --- refresh tokens -----------------------------------------------------------------------


async def test_refresh_rotates(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up("rotate@example.com")
    payload = await refresh(gql, account.refresh_token)
    assert payload["errors"] == []
    assert payload["user"] == {"id": account.id, "email": "rotate@example.com"}
    new = Tokens(payload["accessToken"], payload["refreshToken"])
    assert new.refresh != account.refresh_token
    assert new.access != account.access_token
    # Same session, new tokens; both access tokens of the session work.
    assert sid_of(new.access) == sid_of(account.access_token)
    await works(gql, new.access, account.id)
    await works(gql, account.access_token, account.id)
    # The new refresh token is good for one more rotation.
    newer = await refreshed(gql, new.refresh)
    assert newer.refresh not in (new.refresh, account.refresh_token)
    await works(gql, newer.access, account.id)
    # The old one no longer works.
    await refused_refresh(gql, account.refresh_token)


async def test_reusing_a_rotated_token_revokes_the_session(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    elsewhere = await login(gql, account)
    second = await refreshed(gql, account.refresh_token)
    third = await refreshed(gql, second.refresh)
    await works(gql, third.access, account.id)

    # A thief replays the first, already rotated, token.
    await refused_refresh(gql, account.refresh_token)

    # The whole session ended: its newest refresh token and all its access tokens.
    await refused_refresh(gql, third.refresh)
    for access in (account.access_token, second.access, third.access):
        await unauthenticated(gql, ME, access)
    # Another session of the same user is not the leaked family and keeps working.
    await works(gql, elsewhere.access, account.id)
    await refreshed(gql, elsewhere.refresh)


async def test_concurrent_refreshes_with_one_token_share_one_successor(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    # Two tabs whose access tokens expired together both refresh with the same token.
    account = await sign_up()
    payloads = await asyncio.gather(*(refresh(gql, account.refresh_token) for _ in range(4)))
    assert all(p["errors"] == [] for p in payloads), payloads
    successors = {p["refreshToken"] for p in payloads}
    assert len(successors) == 1 and account.refresh_token not in successors
    for payload in payloads:
        await works(gql, payload["accessToken"], account.id)
    # Exactly one new refresh token was issued, and the session goes on with it.
    async with services.sessions() as session:
        count = (await session.execute(text("SELECT count(*) FROM refresh_tokens"))).scalar_one()
    assert count == 2
    (successor,) = successors
    await works(gql, (await refreshed(gql, successor)).access, account.id)


async def test_a_repeat_within_the_grace_window_gets_the_same_pair_again(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    first = await refreshed(gql, account.refresh_token)
    again = await refreshed(gql, account.refresh_token)
    assert again.refresh == first.refresh
    await works(gql, again.access, account.id)
    # Once the successor has itself been exchanged, the old token is plain reuse.
    third = await refreshed(gql, first.refresh)
    await refused_refresh(gql, account.refresh_token)
    await refused_refresh(gql, third.refresh)
    await unauthenticated(gql, ME, third.access)


async def test_reuse_after_the_grace_window_revokes_the_session_and_its_successor(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    successor = await refreshed(gql, account.refresh_token)
    grace = services.config.refresh_grace_seconds
    async with services.sessions() as session:
        await session.execute(
            text(
                "UPDATE refresh_tokens SET used_at = used_at - make_interval(secs => :age)"
                " WHERE used_at IS NOT NULL"
            ),
            {"age": grace + 1},
        )
        await session.commit()
    await refused_refresh(gql, account.refresh_token)
    await refused_refresh(gql, successor.refresh)
    for access in (account.access_token, successor.access):
        await unauthenticated(gql, ME, access)


async def test_garbage_refresh_token_changes_nothing(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    before = await state_of(services)
    for garbage in ("garbage", "", "x" * 43, account.access_token, account.refresh_token + "x"):
        await refused_refresh(gql, garbage)
    assert await state_of(services) == before
    # The real token still rotates.
    await works(gql, (await refreshed(gql, account.refresh_token)).access, account.id)


async def test_expired_refresh_token(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    async with services.sessions() as session:
        await session.execute(
            text("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        )
        await session.commit()
    await refused_refresh(gql, account.refresh_token)


async def test_refresh_token_of_ended_session_is_refused(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    other = await login(gql, account)
    assert (await gql.data(LOGOUT_ALL, token=other.access))["logoutAll"]["ok"] is True
    # Neither the unused token of the signed-up session nor the other one rotates.
    await refused_refresh(gql, account.refresh_token)
    await refused_refresh(gql, other.refresh)


async def test_refresh_token_of_inactive_user_is_refused(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up("inactive@example.com")
    other = await sign_up("active@example.com")
    # Deactivated behind the API's back: sessions are still open, the user is not active.
    async with services.sessions() as session:
        await session.execute(
            text("UPDATE users SET is_active = false WHERE email = 'inactive@example.com'")
        )
        await session.commit()
    await refused_refresh(gql, account.refresh_token)
    await refreshed(gql, other.refresh_token)


async def test_only_a_sha256_of_the_refresh_token_is_stored(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    rotated = await refreshed(gql, account.refresh_token)
    async with services.sessions() as session:
        hashes = (
            await session.execute(text("SELECT token_hash FROM refresh_tokens ORDER BY id"))
        ).scalars()
        stored = [bytes(value) for value in hashes]
        dump = " ".join(
            (
                await session.execute(
                    text(
                        "SELECT string_agg(t::text, ' ') FROM refresh_tokens t"
                        " UNION ALL SELECT string_agg(s::text, ' ') FROM auth_sessions s"
                    )
                )
            ).scalars()
        )
    assert stored == [
        hashlib.sha256(account.refresh_token.encode()).digest(),
        hashlib.sha256(rotated.refresh.encode()).digest(),
    ]
    for raw in (account.refresh_token, rotated.refresh):
        assert raw not in dump
        assert raw.encode() not in stored
        # Enough entropy: 256 bits of URL-safe base64.
        assert len(raw) >= 43


# --- logout -------------------------------------------------------------------------------


async def test_logout_ends_that_session_only(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    phone = await login(gql, account)
    stranger = await sign_up()

    result = await gql.data(LOGOUT, {"token": account.refresh_token})
    assert result["logout"] == {"ok": True, "errors": []}

    await unauthenticated(gql, ME, account.access_token)
    await refused_refresh(gql, account.refresh_token)
    await works(gql, phone.access, account.id)
    await works(gql, (await refreshed(gql, phone.refresh)).access, account.id)
    await works(gql, stranger.access_token, stranger.id)


async def test_logout_with_unknown_refresh_token(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    before = await state_of(services)
    result = await gql.data(LOGOUT, {"token": "not-a-refresh-token"})
    assert result["logout"] == {"ok": False, "errors": INVALID_TOKEN}
    assert await state_of(services) == before
    await works(gql, account.access_token, account.id)


async def test_logout_all_ends_every_session_of_the_caller(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    phone = await login(gql, account)
    stranger = await sign_up()

    result = await gql.data(LOGOUT_ALL, token=phone.access)
    assert result["logoutAll"] == {"ok": True, "errors": []}

    for tokens in (Tokens(account.access_token, account.refresh_token), phone):
        await unauthenticated(gql, ME, tokens.access)
        await refused_refresh(gql, tokens.refresh)
    await works(gql, stranger.access_token, stranger.id)
    await refreshed(gql, stranger.refresh_token)


async def test_anonymous_session_operations_are_unauthenticated(gql: GraphQLClient) -> None:
    await unauthenticated(gql, MY_SESSIONS)
    await unauthenticated(gql, LOGOUT_ALL)
    body = await gql.post(REVOKE_SESSION, {"id": session_global_id("0" * 32)})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body
    body = await gql.post(
        CHANGE_PASSWORD, {"input": {"currentPassword": "x", "newPassword": NEW_PASSWORD}}
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], body


# --- listing and revoking sessions ---------------------------------------------------------


async def test_my_sessions(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    laptop = await login(gql, account, user_agent="Laptop Browser/1.0")
    phone = await login(gql, account, user_agent="Phone App/2.0")
    stranger = await sign_up()

    sessions = (await gql.data(MY_SESSIONS, token=laptop.access))["mySessions"]
    assert len(sessions) == 3
    assert len({s["id"] for s in sessions}) == 3
    by_agent = {s["userAgent"]: s for s in sessions}
    assert "Laptop Browser/1.0" in by_agent
    assert "Phone App/2.0" in by_agent
    assert [s["current"] for s in sessions].count(True) == 1
    assert by_agent["Laptop Browser/1.0"]["current"] is True
    assert by_agent["Phone App/2.0"]["current"] is False
    assert by_agent["Laptop Browser/1.0"]["id"] == session_global_id(sid_of(laptop.access))
    for session in sessions:
        created = datetime.fromisoformat(session["createdAt"])
        last_used = datetime.fromisoformat(session["lastUsedAt"])
        assert created.tzinfo is not None
        assert last_used >= created
        assert datetime.fromisoformat(session["expiresAt"]) > created
        assert session["ipAddress"] == "203.0.113.7"

    # Seen from the phone, only the phone's session is current.
    from_phone = (await gql.data(MY_SESSIONS, token=phone.access))["mySessions"]
    assert {s["userAgent"]: s["current"] for s in from_phone}["Phone App/2.0"] is True
    assert [s["current"] for s in from_phone].count(True) == 1

    # Revoked sessions are not listed; other users' sessions never are.
    await gql.data(LOGOUT, {"token": phone.refresh})
    remaining = (await gql.data(MY_SESSIONS, token=laptop.access))["mySessions"]
    assert {s["id"] for s in remaining} == {
        session_global_id(sid_of(account.access_token)),
        session_global_id(sid_of(laptop.access)),
    }
    theirs = (await gql.data(MY_SESSIONS, token=stranger.access_token))["mySessions"]
    assert [s["id"] for s in theirs] == [session_global_id(sid_of(stranger.access_token))]


async def test_my_sessions_is_most_recently_used_first(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    later = await login(gql, account, user_agent="Later/1.0")
    await refreshed(gql, account.refresh_token)  # the first session is now the most recent
    sessions = (await gql.data(MY_SESSIONS, token=later.access))["mySessions"]
    assert [s["id"] for s in sessions] == [
        session_global_id(sid_of(account.access_token)),
        session_global_id(sid_of(later.access)),
    ]
    last_used = [datetime.fromisoformat(s["lastUsedAt"]) for s in sessions]
    assert last_used[0] > last_used[1]


async def test_revoke_session(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    laptop = await login(gql, account)
    stranger = await sign_up()

    target = session_global_id(sid_of(account.access_token))
    result = await gql.data(REVOKE_SESSION, {"id": target}, token=laptop.access)
    assert result["revokeSession"] == {"ok": True, "errors": []}
    await unauthenticated(gql, ME, account.access_token)
    await refused_refresh(gql, account.refresh_token)
    await works(gql, laptop.access, account.id)

    # Revoking it again: it is no longer an open session.
    again = await gql.data(REVOKE_SESSION, {"id": target}, token=laptop.access)
    assert again["revokeSession"]["ok"] is False
    assert [e["code"] for e in again["revokeSession"]["errors"]] == ["NOT_FOUND"]

    # Someone else's session: NOT_FOUND, and it stays open.
    theirs = session_global_id(sid_of(stranger.access_token))
    result = await gql.data(REVOKE_SESSION, {"id": theirs}, token=laptop.access)
    assert result["revokeSession"] == {
        "ok": False,
        "errors": [{"field": "id", "code": "NOT_FOUND", "message": "No such open session."}],
    }
    await works(gql, stranger.access_token, stranger.id)
    await refreshed(gql, stranger.refresh_token)


async def test_revoke_session_with_a_malformed_id(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    for malformed in ("not-an-id!", "%%%", "U2Vzc2lvbg"):  # the last is "Session", no key
        body = await gql.post(REVOKE_SESSION, {"id": malformed}, token=account.access_token)
        assert body["data"] is None, body
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "not a valid id" in error["message"]
        assert error["path"] == ["revokeSession"]
    # Well-formed ids that name no session of mine: NOT_FOUND.
    for wrong in (
        session_global_id("not-a-uuid"),
        base64.urlsafe_b64encode(f"User:{sid_of(account.access_token)}".encode()).decode(),
    ):
        result = await gql.data(REVOKE_SESSION, {"id": wrong}, token=account.access_token)
        assert result["revokeSession"]["ok"] is False
        assert [e["code"] for e in result["revokeSession"]["errors"]] == ["NOT_FOUND"]
    await works(gql, account.access_token, account.id)


# --- changing the password ----------------------------------------------------------------


async def test_change_password_with_wrong_current_password(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    phone = await login(gql, account)
    before = await state_of(services)

    result = await gql.data(
        CHANGE_PASSWORD,
        {"input": {"currentPassword": "not my password", "newPassword": NEW_PASSWORD}},
        token=account.access_token,
    )
    assert result["changePassword"] == {
        "user": None,
        "errors": [
            {
                "field": "currentPassword",
                "code": "INVALID_CREDENTIALS",
                "message": "Current password is incorrect.",
            }
        ],
    }
    assert await state_of(services) == before
    await works(gql, phone.access, account.id)
    await login(gql, account)
    assert [e["code"] for e in await login_errors(gql, account.email, NEW_PASSWORD)] == [
        "INVALID_CREDENTIALS"
    ]


async def test_change_password_ends_other_sessions(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    phone = await login(gql, account)
    tablet = await login(gql, account)
    stranger = await sign_up()

    result = await gql.data(
        CHANGE_PASSWORD,
        {"input": {"currentPassword": account.password, "newPassword": NEW_PASSWORD}},
        token=phone.access,
    )
    assert result["changePassword"] == {
        "user": {"id": account.id, "email": account.email},
        "errors": [],
    }

    # The current session goes on, access and refresh.
    await works(gql, phone.access, account.id)
    await works(gql, (await refreshed(gql, phone.refresh)).access, account.id)
    # Every other session ended.
    for tokens in (Tokens(account.access_token, account.refresh_token), tablet):
        await unauthenticated(gql, ME, tokens.access)
        await refused_refresh(gql, tokens.refresh)
    # The new password signs in; the old one does not.
    await works(gql, (await login(gql, account, NEW_PASSWORD)).access, account.id)
    assert await login_errors(gql, account.email, account.password) == [
        {"field": None, "code": "INVALID_CREDENTIALS", "message": "Email or password is incorrect."}
    ]
    # Other users are untouched.
    await works(gql, stranger.access_token, stranger.id)


async def test_change_password_rejects_a_weak_new_password(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    phone = await login(gql, account)
    result = await gql.data(
        CHANGE_PASSWORD,
        {"input": {"currentPassword": account.password, "newPassword": "short"}},
        token=account.access_token,
    )
    payload = result["changePassword"]
    assert payload["user"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("newPassword", "WEAK_PASSWORD")
    ]
    await works(gql, phone.access, account.id)
    await login(gql, account)


def test_the_viewer_query_reads_every_column_of_a_user() -> None:
    """The viewer's user is made from VIEWER_SQL's row: a column it did not read would be
    missing from the object (and raise when a resolver reads it)."""
    assert tuple(column.key for column in User.__table__.columns) == VIEWER_COLUMNS


async def test_the_viewer_is_a_detached_user_like_a_loaded_one(services: Services) -> None:
    user, token = await new_user(services)
    viewer, _ = await authenticate(services.readers, services.signer, token)
    assert inspect(viewer).detached and inspect(viewer).identity == (user.id,)
    assert (viewer.id, viewer.email, viewer.role, viewer.is_active) == (
        user.id,
        user.email,
        user.role,
        True,
    )
    assert viewer.created_at == user.created_at and viewer.last_login_at is None
