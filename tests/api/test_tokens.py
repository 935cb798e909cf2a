"""Access tokens over HTTP: what a frontend's `Authorization: Bearer …` header gets it.

Every forged or stale token must give `me` an UNAUTHENTICATED error, never a silent
anonymous `me: null`. Forgeries start from the claims of a real, live session so that the one
defect under test is the only reason for the refusal.
"""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import text

from app.settings import Settings
from resolvers.context import Services
from tests.support.graphql import (
    LOGIN,
    LOGOUT,
    REVOKE_SESSION,
    Account,
    GraphQLClient,
    SignUp,
    without_cost,
)

ME = "query Me { me { id email role } }"

REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) {
    user { id }
    accessToken refreshToken
    errors { field code message }
  }
}
"""


MY_SESSIONS = "query Sessions { mySessions { id current } }"


DEACTIVATE = """
mutation Deactivate($id: ID!) {
  deactivateUser(id: $id) { user { id isActive } errors { field code message } }
}
"""


# --- helpers ------------------------------------------------------------------------------


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def hmac_token(
    header: dict[str, Any], claims: dict[str, Any], key: str, digest: str = "sha256"
) -> str:
    """A JWT signed with HMAC whatever its header says (for algorithm-label tests)."""
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = hmac.new(key.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


async def unauthenticated_me(gql: GraphQLClient, **kw: Any) -> dict[str, Any]:
    """Ask for `me` and require the UNAUTHENTICATED error (not a silent `me: null`)."""
    body = await gql.post(ME, **kw)
    assert body.get("data") == {"me": None}, body
    errors = body.get("errors")
    assert errors, f"a refused token must not look anonymous: {body}"
    assert len(errors) == 1, body
    assert errors[0]["path"] == ["me"], body
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", body
    error: dict[str, Any] = errors[0]
    return error


async def me_of(gql: GraphQLClient, token: str) -> dict[str, Any]:
    me: dict[str, Any] = (await gql.data(ME, token=token))["me"]
    assert me is not None
    return me


# --- a valid token ------------------------------------------------------------------------


async def test_valid_token_gives_me(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up("valid@example.com")
    other = await sign_up("other@example.com")

    assert await me_of(gql, account.access_token) == {
        "id": account.id,
        "email": "valid@example.com",
        "role": "CUSTOMER",
    }
    assert (await me_of(gql, other.access_token))["id"] == other.id
    # The scheme name is case-insensitive (RFC 7235).
    body = await gql.post(ME, headers={"authorization": f"bearer {account.access_token}"})
    assert without_cost(body) == {
        "data": {"me": {"id": account.id, "email": account.email, "role": "CUSTOMER"}}
    }


async def test_no_header_is_anonymous_without_error(gql: GraphQLClient) -> None:
    assert without_cost(await gql.post(ME)) == {"data": {"me": None}}


async def test_access_token_claims(gql: GraphQLClient, sign_up: SignUp, settings: Settings) -> None:
    account = await sign_up("claims@example.com")
    claims = jwt.decode(
        account.access_token,
        settings.signing_key,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert set(claims) == {"sub", "sid", "iat", "exp", "jti", "iss", "aud"}
    assert jwt.get_unverified_header(account.access_token)["alg"] == "HS256"
    assert claims["iss"] == settings.jwt_issuer
    assert claims["aud"] == settings.jwt_audience
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60
    assert claims["jti"]
    uuid.UUID(claims["sid"])
    # `sub` is the numeric user id the global id encodes.
    assert base64.urlsafe_b64decode(account.id).decode() == f"User:{claims['sub']}"

    # A second login is a second session with its own token id.
    login = await gql.data(LOGIN, {"input": {"email": account.email, "password": account.password}})
    second = unverified_claims(login["login"]["accessToken"])
    assert second["sub"] == claims["sub"]
    assert second["sid"] != claims["sid"]
    assert second["jti"] != claims["jti"]


# --- refused tokens -----------------------------------------------------------------------


class Forge:
    """Builds bad tokens from a live account's real claims."""

    def __init__(self, account: Account, victim: Account, settings: Settings) -> None:
        self.account = account
        self.victim = victim
        self.key = settings.signing_key
        self.claims = jwt.decode(
            account.access_token,
            self.key,
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )

    def signed(self, **changes: Any) -> str:
        claims = {**self.claims, **changes}
        return jwt.encode({k: v for k, v in claims.items() if v is not None}, self.key, "HS256")

    def garbage(self) -> str:
        return "definitely-not-a-jwt"

    def three_garbage_segments(self) -> str:
        return "abc.def.ghi"

    def alg_none(self) -> str:
        return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(self.claims)}."

    def alg_none_with_signature(self) -> str:
        # "none" with the genuine signature still attached must not pass either.
        signature = self.account.access_token.rsplit(".", 1)[1]
        return (
            f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(self.claims)}.{signature}"
        )

    def other_key(self) -> str:
        return jwt.encode(self.claims, "another-key-that-is-also-long-enough-for-hs256", "HS256")

    def tampered_sub(self) -> str:
        # The victim's id in the payload, the account's genuine signature kept.
        header, _, signature = self.account.access_token.split(".")
        victim_sub = unverified_claims(self.victim.access_token)["sub"]
        return f"{header}.{b64url_json({**self.claims, 'sub': victim_sub})}.{signature}"

    def tampered_exp(self) -> str:
        header, _, signature = self.account.access_token.split(".")
        claims = {**self.claims, "exp": self.claims["exp"] + 3600}
        return f"{header}.{b64url_json(claims)}.{signature}"

    def wrong_audience(self) -> str:
        return self.signed(aud="some-other-api")

    def wrong_issuer(self) -> str:
        return self.signed(iss="https://evil.example.com")

    def missing_sid(self) -> str:
        return self.signed(sid=None)

    def missing_jti(self) -> str:
        return self.signed(jti=None)

    def missing_sub(self) -> str:
        return self.signed(sub=None)

    def missing_exp(self) -> str:
        return self.signed(exp=None)

    def malformed_sid(self) -> str:
        return self.signed(sid="not-a-uuid")

    def non_numeric_sub(self) -> str:
        return self.signed(sub="admin")

    def session_of_another_user(self) -> str:
        # Correctly signed, but the session named belongs to someone else.
        return self.signed(sid=unverified_claims(self.victim.access_token)["sid"])

    def unknown_session(self) -> str:
        return self.signed(sid=str(uuid.uuid4()))

    def issued_in_the_future(self) -> str:
        later = self.claims["iat"] + 3600
        return self.signed(iat=later, exp=later + 900)

    def not_yet_valid(self) -> str:
        return self.signed(nbf=self.claims["iat"] + 3600)

    def hs512(self) -> str:
        # Genuinely signed with the server's key, but HS512 is not the pinned algorithm.
        return hmac_token({"alg": "HS512", "typ": "JWT"}, self.claims, self.key, "sha512")

    def rs256_label(self) -> str:
        # HMAC with the server's key under an RS256 label: algorithm confusion.
        return hmac_token({"alg": "RS256", "typ": "JWT"}, self.claims, self.key)


FORGERIES: list[Callable[[Forge], str]] = [
    Forge.garbage,
    Forge.three_garbage_segments,
    Forge.alg_none,
    Forge.alg_none_with_signature,
    Forge.other_key,
    Forge.tampered_sub,
    Forge.tampered_exp,
    Forge.wrong_audience,
    Forge.wrong_issuer,
    Forge.missing_sid,
    Forge.missing_jti,
    Forge.missing_sub,
    Forge.missing_exp,
    Forge.malformed_sid,
    Forge.non_numeric_sub,
    Forge.session_of_another_user,
    Forge.unknown_session,
    Forge.issued_in_the_future,
    Forge.not_yet_valid,
    Forge.hs512,
    Forge.rs256_label,
]


def refusal_problem(body: dict[str, Any]) -> str | None:
    """Why a response to `me` is not a proper UNAUTHENTICATED refusal (None when it is)."""
    errors = body.get("errors") or []
    if body.get("data") != {"me": None}:
        return f"the token was accepted: {body}"
    if [(e.get("path"), e.get("extensions", {}).get("code")) for e in errors] != [
        (["me"], "UNAUTHENTICATED")
    ]:
        return f"not one UNAUTHENTICATED error at `me`: {body}"
    if "expired" in errors[0]["message"].lower():
        return f"a forgery is not an expired token: {body}"
    return None


async def test_forged_tokens_are_unauthenticated(
    gql: GraphQLClient, sign_up: SignUp, settings: Settings
) -> None:
    # One pair of accounts for every forgery (each sign-up hashes a password).
    account = await sign_up("holder@example.com")
    victim = await sign_up("victim@example.com")
    forge = Forge(account, victim, settings)

    problems: dict[str, str] = {}
    for make in FORGERIES:
        problem = refusal_problem(await gql.post(ME, token=make(forge)))
        if problem:
            problems[make.__name__] = problem
    assert problems == {}
    # The genuine tokens still work: only the forgeries were refused.
    assert (await me_of(gql, account.access_token))["id"] == account.id
    assert (await me_of(gql, victim.access_token))["id"] == victim.id


@pytest.mark.parametrize(
    "authorization",
    ["Basic abc", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "garbage"],
)
async def test_non_bearer_authorization_is_unauthenticated(
    gql: GraphQLClient, authorization: str
) -> None:
    await unauthenticated_me(gql, headers={"authorization": authorization})


async def test_non_bearer_scheme_with_a_valid_token_is_refused(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up()
    await unauthenticated_me(gql, headers={"authorization": f"Basic {account.access_token}"})


async def test_bad_token_is_unauthenticated_on_protected_fields_too(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    body = await gql.post(MY_SESSIONS, token="garbage")
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_expired_token_says_it_expired(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    claims = unverified_claims(account.access_token)
    issued_at = datetime.now(UTC) - timedelta(minutes=16)
    expired = services.signer.issue(int(claims["sub"]), uuid.UUID(claims["sid"]), now=issued_at)

    error = await unauthenticated_me(gql, token=expired)
    assert "expired" in error["message"].lower()

    # Issued 14 minutes ago: still valid (no off-by-one on the lifetime).
    fresh = services.signer.issue(
        int(claims["sub"]), uuid.UUID(claims["sid"]), now=datetime.now(UTC) - timedelta(minutes=14)
    )
    assert (await me_of(gql, fresh))["id"] == account.id


async def test_expired_token_signed_with_pyjwt(
    gql: GraphQLClient, sign_up: SignUp, settings: Settings
) -> None:
    account = await sign_up()
    claims = unverified_claims(account.access_token)
    now = int(datetime.now(UTC).timestamp())
    expired = jwt.encode(
        {**claims, "iat": now - 3600, "exp": now - 60}, settings.signing_key, "HS256"
    )
    error = await unauthenticated_me(gql, token=expired)
    assert "expired" in error["message"].lower()


# --- tokens of ended sessions -------------------------------------------------------------


async def test_token_of_logged_out_session(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    assert (await me_of(gql, account.access_token))["id"] == account.id

    result = await gql.data(LOGOUT, {"token": account.refresh_token})
    assert result["logout"] == {"ok": True, "errors": []}

    error = await unauthenticated_me(gql, token=account.access_token)
    assert "expired" not in error["message"].lower()


async def test_token_of_deactivated_user_stops_on_next_request(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    admin = await sign_up("admin@example.com", role="admin")
    account = await sign_up("customer@example.com")
    assert (await me_of(gql, account.access_token))["id"] == account.id

    result = await gql.data(DEACTIVATE, {"id": account.id}, token=admin.access_token)
    assert result["deactivateUser"] == {
        "user": {"id": account.id, "isActive": False},
        "errors": [],
    }

    await unauthenticated_me(gql, token=account.access_token)
    # The admin is unaffected.
    assert (await me_of(gql, admin.access_token))["id"] == admin.id


async def test_token_of_user_deactivated_in_the_database(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    """The user's `is_active` is checked on every request, not only via ended sessions."""
    account = await sign_up("inactive@example.com")
    other = await sign_up("active@example.com")
    async with services.sessions() as session:
        await session.execute(
            text("UPDATE users SET is_active = false WHERE email = 'inactive@example.com'")
        )
        await session.commit()
    await unauthenticated_me(gql, token=account.access_token)
    assert (await me_of(gql, other.access_token))["id"] == other.id


async def test_token_of_revoked_session(gql: GraphQLClient, sign_up: SignUp) -> None:
    account = await sign_up()
    login = await gql.data(LOGIN, {"input": {"email": account.email, "password": account.password}})
    laptop = login["login"]["accessToken"]

    sessions = (await gql.data(MY_SESSIONS, token=laptop))["mySessions"]
    assert len(sessions) == 2
    (other,) = [s for s in sessions if not s["current"]]

    result = await gql.data(REVOKE_SESSION, {"id": other["id"]}, token=laptop)
    assert result["revokeSession"] == {"ok": True, "errors": []}

    await unauthenticated_me(gql, token=account.access_token)
    assert (await me_of(gql, laptop))["id"] == account.id


async def test_token_of_expired_session(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    async with services.sessions() as session:
        await session.execute(
            text("UPDATE auth_sessions SET expires_at = now() - interval '1 second'")
        )
        await session.commit()
    await unauthenticated_me(gql, token=account.access_token)


# --- mutations that need no user ignore a stale header ------------------------------------


async def test_login_with_expired_bearer_token_succeeds(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    claims = unverified_claims(account.access_token)
    expired = services.signer.issue(
        int(claims["sub"]), uuid.UUID(claims["sid"]), now=datetime.now(UTC) - timedelta(hours=1)
    )

    body = await gql.post(
        LOGIN, {"input": {"email": account.email, "password": account.password}}, token=expired
    )
    assert "errors" not in body, body
    login = body["data"]["login"]
    assert login["errors"] == []
    assert login["user"] == {"id": account.id, "email": account.email, "role": "CUSTOMER"}
    assert (await me_of(gql, login["accessToken"]))["id"] == account.id


async def test_refresh_with_stale_bearer_token_succeeds(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    account = await sign_up()
    claims = unverified_claims(account.access_token)
    expired = services.signer.issue(
        int(claims["sub"]), uuid.UUID(claims["sid"]), now=datetime.now(UTC) - timedelta(hours=1)
    )
    for stale in (expired, "garbage"):
        body = await gql.post(REFRESH, {"token": account.refresh_token}, token=stale)
        assert "errors" not in body, body
        refreshed = body["data"]["refreshToken"]
        assert refreshed["errors"] == []
        assert refreshed["user"] == {"id": account.id}
        assert (await me_of(gql, refreshed["accessToken"]))["id"] == account.id
        account = Account(
            account.id,
            account.email,
            account.password,
            refreshed["accessToken"],
            refreshed["refreshToken"],
        )
