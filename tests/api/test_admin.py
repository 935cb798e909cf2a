"""Administration over HTTP: listing users with keyset cursors, roles, (de)activation, and who
may read which fields of a User."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import text

from db.users import Role, User
from resolvers.context import Services
from resolvers.errors import Unauthenticated
from schema.permissions import IsSelfOrStaff
from tests.support.graphql import (
    LOGIN,
    REGISTER,
    STRONG_PASSWORD,
    Account,
    GraphQLClient,
    SignUp,
    without_cost,
)

ME = "query Me { me { id email role isActive lastLoginAt } }"

USERS = """
query Users($first: Int, $after: String, $last: Int, $before: String, $search: String) {
  users(first: $first, after: $after, last: $last, before: $before, search: $search) {
    totalCount
    edges { cursor node { id email name role isActive } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

SET_ROLE = """
mutation SetRole($id: ID!, $role: Role!) {
  setUserRole(id: $id, role: $role) { user { id email role } errors { field code message } }
}
"""

DEACTIVATE = """
mutation Deactivate($id: ID!) {
  deactivateUser(id: $id) { user { id email isActive } errors { field code message } }
}
"""

ACTIVATE = """
mutation Activate($id: ID!) {
  activateUser(id: $id) { user { id email isActive } errors { field code message } }
}
"""

REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken errors { code } }
}
"""


# --- helpers ------------------------------------------------------------------------------


def global_id(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def register(gql: GraphQLClient, email: str, name: str) -> Account:
    payload = (
        await gql.data(
            REGISTER, {"input": {"email": email, "name": name, "password": STRONG_PASSWORD}}
        )
    )["register"]
    assert payload["errors"] == [], payload
    return Account(
        payload["user"]["id"],
        email,
        STRONG_PASSWORD,
        payload["accessToken"],
        payload["refreshToken"],
    )


async def users_page(admin: GraphQLClient, **args: Any) -> dict[str, Any]:
    page: dict[str, Any] = (await admin.data(USERS, args))["users"]
    return page


async def login_payload(gql: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    payload: dict[str, Any] = (
        await gql.data(LOGIN, {"input": {"email": email, "password": password}})
    )["login"]
    return payload


async def me(gql: GraphQLClient, token: str) -> dict[str, Any] | None:
    result: dict[str, Any] | None = (await gql.data(ME, token=token))["me"]
    return result


@dataclass(frozen=True)
class Listed:
    id: str
    email: str


async def seven_users(sign_up: SignUp, services: Services) -> tuple[Account, list[Listed]]:
    """An admin (through the API) and six customers (inserted directly: paging needs rows,
    not passwords, and hashing six passwords per test is slow). Seven users, oldest first."""
    admin = await sign_up("admin@example.com", role="admin")
    everyone = [Listed(admin.id, admin.email)]
    async with services.sessions() as session:
        for n in range(6):
            email = f"customer{n}@example.com"
            user_id = (
                await session.execute(
                    text(
                        "INSERT INTO users (email, name, password_hash)"
                        " VALUES (:email, :name, 'not-a-password-hash') RETURNING id"
                    ),
                    {"email": email, "name": f"Customer {n}"},
                )
            ).scalar_one()
            everyone.append(Listed(global_id("User", user_id), email))
        await session.commit()
    return admin, everyone


# --- listing users ------------------------------------------------------------------------


async def test_users_pages_forward_with_cursors(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    admin, everyone = await seven_users(sign_up, services)
    as_admin = gql.as_user(admin.access_token)

    seen: list[str] = []
    pages: list[tuple[int, bool, bool]] = []
    after: str | None = None
    while True:
        page = await users_page(as_admin, first=3, after=after)
        assert page["totalCount"] == 7
        edges = page["edges"]
        info = page["pageInfo"]
        pages.append((len(edges), info["hasNextPage"], info["hasPreviousPage"]))
        seen += [edge["node"]["id"] for edge in edges]
        assert info["startCursor"] == edges[0]["cursor"]
        assert info["endCursor"] == edges[-1]["cursor"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
        assert len(pages) < 5, "paging does not terminate"

    assert seen == [account.id for account in everyone]  # oldest first, no repeats or skips
    assert pages == [(3, True, False), (3, True, True), (1, False, True)]

    # A page that ends exactly at the last user has no next page.
    exact = await users_page(as_admin, first=7)
    assert len(exact["edges"]) == 7
    assert exact["pageInfo"]["hasNextPage"] is False
    # Paging past the end is empty, not an error.
    end = await users_page(as_admin, first=3, after=exact["pageInfo"]["endCursor"])
    assert end["edges"] == []
    assert end["pageInfo"]["hasNextPage"] is False
    assert end["totalCount"] == 7


async def test_users_pages_backwards(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    admin, everyone = await seven_users(sign_up, services)
    as_admin = gql.as_user(admin.access_token)

    seen: list[str] = []
    pages: list[tuple[int, bool]] = []
    before: str | None = None
    while True:
        page = await users_page(as_admin, last=3, before=before)
        assert page["totalCount"] == 7
        info = page["pageInfo"]
        pages.append((len(page["edges"]), info["hasPreviousPage"]))
        # Paging backwards from the end there is nothing after the first page.
        assert info["hasNextPage"] is (before is not None)
        # Each page is still in list order (oldest first) and comes before the previous one.
        seen = [edge["node"]["id"] for edge in page["edges"]] + seen
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
        assert len(pages) < 5, "paging does not terminate"

    assert seen == [account.id for account in everyone]
    assert pages == [(3, True), (3, True), (1, False)]


async def test_users_forward_and_backward_cursors_agree(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    admin, everyone = await seven_users(sign_up, services)
    as_admin = gql.as_user(admin.access_token)
    middle = await users_page(
        as_admin, first=3, after=(await users_page(as_admin, first=2))["pageInfo"]["endCursor"]
    )
    assert [e["node"]["id"] for e in middle["edges"]] == [a.id for a in everyone[2:5]]
    # Back from the middle page's start: the two before it.
    back = await users_page(as_admin, last=5, before=middle["pageInfo"]["startCursor"])
    assert [e["node"]["id"] for e in back["edges"]] == [a.id for a in everyone[:2]]
    assert back["pageInfo"]["hasPreviousPage"] is False


async def test_users_search(gql: GraphQLClient, sign_up: SignUp) -> None:
    admin = await sign_up("root@example.com", role="admin")
    alice = await register(gql, "Alice.Smith@Example.com", "Alice Wonderland")
    bob = await register(gql, "bob@example.com", "Bob ALICEson")
    percent = await register(gql, "percent%sign@example.com", "Hundred Percent")
    underscore = await register(gql, "under_score@example.com", "Snake Case")
    plain = await register(gql, "underXscore@example.com", "Wild 50 Card")
    as_admin = gql.as_user(admin.access_token)

    async def found(search: str) -> list[str]:
        page = await users_page(as_admin, search=search)
        assert page["totalCount"] == len(page["edges"])
        return [edge["node"]["id"] for edge in page["edges"]]

    # Email or name, case-insensitive, anywhere in the text.
    assert await found("alice") == [alice.id, bob.id]
    assert await found("SMITH@example") == [alice.id]
    assert await found("wonderLAND") == [alice.id]
    assert await found("  bob  ") == [bob.id]
    # LIKE wildcards are literal characters.
    assert await found("%") == [percent.id]
    assert await found("_") == [underscore.id]
    assert await found("under_score") == [underscore.id]
    assert await found("t%s") == [percent.id]
    assert await found("\\") == []
    assert await found("nobody") == []
    # An empty search lists everyone.
    assert len(await found("")) == 6
    assert plain.id in await found("underxscore")

    # Search and paging combine; totalCount counts the matches, not everyone.
    first = await users_page(as_admin, first=1, search="example.com")
    assert first["totalCount"] == 6
    assert first["pageInfo"]["hasNextPage"] is True
    second = await users_page(
        as_admin, first=1, after=first["pageInfo"]["endCursor"], search="ALICE"
    )
    assert [e["node"]["id"] for e in second["edges"]] == [alice.id]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"first": 101}, "at most 100"),
        ({"last": 101}, "at most 100"),
        ({"first": -1}, "negative"),
        ({"first": 2, "last": 2}, "either"),
        ({"after": "garbage!!"}, "not a valid cursor"),
        ({"before": "garbage"}, "not a valid cursor"),
        ({"after": base64.urlsafe_b64encode(b"[1,2]").decode()}, "not a valid cursor"),
    ],
)
async def test_users_bad_arguments(
    gql: GraphQLClient, sign_up: SignUp, args: dict[str, Any], message: str
) -> None:
    admin = await sign_up(role="admin")
    body = await gql.as_user(admin.access_token).post(USERS, args)
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert message in body["errors"][0]["message"]
    assert body["data"] is None


@pytest.mark.parametrize(
    "cursor_values",
    [["x"], [2**70], [1.5], [{"id": 1}]],
    ids=["string-for-an-int-key", "out-of-range-int", "float", "object"],
)
async def test_users_well_formed_cursor_with_wrong_types(
    gql: GraphQLClient, sign_up: SignUp, cursor_values: list[Any]
) -> None:
    admin = await sign_up(role="admin")
    cursor = base64.urlsafe_b64encode(json.dumps(cursor_values).encode()).decode()
    body = await gql.as_user(admin.access_token).post(USERS, {"after": cursor})
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_users_largest_page_is_allowed(gql: GraphQLClient, sign_up: SignUp) -> None:
    admin = await sign_up(role="admin")
    page = await users_page(gql.as_user(admin.access_token), first=100)
    assert [edge["node"]["id"] for edge in page["edges"]] == [admin.id]


async def test_users_is_for_admins_only(gql: GraphQLClient, sign_up: SignUp) -> None:
    customer = await sign_up()
    staff = await sign_up(role="staff")
    assert codes(await gql.as_user(customer.access_token).post(USERS, {})) == ["FORBIDDEN"]
    assert codes(await gql.as_user(staff.access_token).post(USERS, {})) == ["FORBIDDEN"]
    assert codes(await gql.post(USERS, {})) == ["UNAUTHENTICATED"]
    user_query = "query One($id: ID!) { user(id: $id) { id email } }"
    body = await gql.as_user(customer.access_token).post(user_query, {"id": staff.id})
    assert codes(body) == ["FORBIDDEN"]
    assert body["data"] == {"user": None}


# --- roles --------------------------------------------------------------------------------


async def test_set_user_role(gql: GraphQLClient, sign_up: SignUp) -> None:
    admin = await sign_up("admin@example.com", role="admin")
    customer = await sign_up("customer@example.com")
    as_admin = gql.as_user(admin.access_token)
    assert (await me(gql, customer.access_token) or {})["role"] == "CUSTOMER"

    result = await as_admin.data(SET_ROLE, {"id": customer.id, "role": "STAFF"})
    assert result["setUserRole"] == {
        "user": {"id": customer.id, "email": "customer@example.com", "role": "STAFF"},
        "errors": [],
    }
    # Visible on the very next request, with the same access token.
    assert (await me(gql, customer.access_token) or {})["role"] == "STAFF"

    result = await as_admin.data(SET_ROLE, {"id": customer.id, "role": "ADMIN"})
    assert result["setUserRole"]["errors"] == []
    assert (await me(gql, customer.access_token) or {})["role"] == "ADMIN"
    # The new admin can now list users.
    page = await users_page(gql.as_user(customer.access_token))
    assert page["totalCount"] == 2

    result = await as_admin.data(SET_ROLE, {"id": customer.id, "role": "CUSTOMER"})
    assert result["setUserRole"]["errors"] == []
    assert codes(await gql.as_user(customer.access_token).post(USERS, {})) == ["FORBIDDEN"]


async def test_set_user_role_refusals(gql: GraphQLClient, sign_up: SignUp) -> None:
    admin = await sign_up(role="admin")
    staff = await sign_up(role="staff")
    customer = await sign_up()
    as_admin = gql.as_user(admin.access_token)

    # Staff may not change roles, not even their own or a customer's.
    for target in (customer, staff):
        body = await gql.as_user(staff.access_token).post(
            SET_ROLE, {"id": target.id, "role": "ADMIN"}
        )
        assert codes(body) == ["FORBIDDEN"], body
    body = await gql.as_user(customer.access_token).post(
        SET_ROLE, {"id": customer.id, "role": "ADMIN"}
    )
    assert codes(body) == ["FORBIDDEN"]
    assert codes(await gql.post(SET_ROLE, {"id": customer.id, "role": "ADMIN"})) == [
        "UNAUTHENTICATED"
    ]

    result = await as_admin.data(SET_ROLE, {"id": admin.id, "role": "CUSTOMER"})
    assert result["setUserRole"] == {
        "user": None,
        "errors": [
            {
                "field": "id",
                "code": "CANNOT_MODIFY_SELF",
                "message": "You cannot change your own role.",
            }
        ],
    }
    for unknown in (global_id("User", 999999), global_id("Session", customer.id)):
        result = await as_admin.data(SET_ROLE, {"id": unknown, "role": "STAFF"})
        assert result["setUserRole"] == {
            "user": None,
            "errors": [{"field": "id", "code": "NOT_FOUND", "message": "No such user."}],
        }
    body = await as_admin.post(SET_ROLE, {"id": "%%%", "role": "STAFF"})
    assert codes(body) == ["BAD_USER_INPUT"], body

    # Nothing changed.
    assert (await me(gql, admin.access_token) or {})["role"] == "ADMIN"
    assert (await me(gql, staff.access_token) or {})["role"] == "STAFF"
    assert (await me(gql, customer.access_token) or {})["role"] == "CUSTOMER"


# --- deactivation -------------------------------------------------------------------------


async def test_deactivate_and_activate_user(gql: GraphQLClient, sign_up: SignUp) -> None:
    admin = await sign_up("admin@example.com", role="admin")
    customer = await sign_up("customer@example.com")
    bystander = await sign_up("bystander@example.com")
    as_admin = gql.as_user(admin.access_token)

    result = await as_admin.data(DEACTIVATE, {"id": customer.id})
    assert result["deactivateUser"] == {
        "user": {"id": customer.id, "email": "customer@example.com", "isActive": False},
        "errors": [],
    }

    # Sessions ended: the access token at once, the refresh token too.
    assert codes(await gql.post(ME, token=customer.access_token)) == ["UNAUTHENTICATED"]
    refresh = (await gql.data(REFRESH, {"token": customer.refresh_token}))["refreshToken"]
    assert refresh == {"accessToken": None, "errors": [{"code": "INVALID_TOKEN"}]}

    # Sign-in is blocked; only the right password learns that the account is disabled.
    disabled = await login_payload(gql, customer.email, customer.password)
    assert disabled["accessToken"] is None
    assert disabled["refreshToken"] is None
    assert disabled["user"] is None
    assert [e["code"] for e in disabled["errors"]] == ["ACCOUNT_DISABLED"]
    wrong = await login_payload(gql, customer.email, "not the password at all")
    assert wrong["accessToken"] is None
    assert [e["code"] for e in wrong["errors"]] == ["INVALID_CREDENTIALS"]

    # Listed as inactive; others unaffected.
    page = await users_page(as_admin, search="customer@")
    assert [e["node"]["isActive"] for e in page["edges"]] == [False]
    assert (await me(gql, bystander.access_token) or {})["id"] == bystander.id

    result = await as_admin.data(ACTIVATE, {"id": customer.id})
    assert result["activateUser"] == {
        "user": {"id": customer.id, "email": "customer@example.com", "isActive": True},
        "errors": [],
    }
    restored = await login_payload(gql, customer.email, customer.password)
    assert restored["errors"] == []
    assert (await me(gql, restored["accessToken"]) or {})["isActive"] is True
    # Reactivation does not revive the sessions that deactivation ended.
    assert codes(await gql.post(ME, token=customer.access_token)) == ["UNAUTHENTICATED"]


async def test_deactivation_refusals(gql: GraphQLClient, sign_up: SignUp) -> None:
    admin = await sign_up(role="admin")
    staff = await sign_up(role="staff")
    customer = await sign_up()
    as_admin = gql.as_user(admin.access_token)

    result = await as_admin.data(DEACTIVATE, {"id": admin.id})
    assert [(e["field"], e["code"]) for e in result["deactivateUser"]["errors"]] == [
        ("id", "CANNOT_MODIFY_SELF")
    ]
    result = await as_admin.data(DEACTIVATE, {"id": global_id("User", 424242)})
    assert [e["code"] for e in result["deactivateUser"]["errors"]] == ["NOT_FOUND"]
    result = await as_admin.data(ACTIVATE, {"id": global_id("User", 424242)})
    assert [e["code"] for e in result["activateUser"]["errors"]] == ["NOT_FOUND"]
    for caller in (staff, customer):
        body = await gql.as_user(caller.access_token).post(DEACTIVATE, {"id": customer.id})
        assert codes(body) == ["FORBIDDEN"], body
    assert codes(await gql.post(DEACTIVATE, {"id": customer.id})) == ["UNAUTHENTICATED"]

    # Everyone is still signed in.
    for account in (admin, staff, customer):
        assert (await me(gql, account.access_token) or {})["isActive"] is True


# --- field-level permissions --------------------------------------------------------------


async def test_own_private_fields_via_me(gql: GraphQLClient, sign_up: SignUp) -> None:
    customer = await sign_up("self@example.com")
    body = await gql.post(ME, token=customer.access_token)
    assert "errors" not in body, body
    assert body["data"]["me"]["email"] == "self@example.com"
    assert body["data"]["me"]["isActive"] is True


async def test_admin_reads_every_email_via_users(
    gql: GraphQLClient, sign_up: SignUp, services: Services
) -> None:
    admin, everyone = await seven_users(sign_up, services)
    body = await gql.as_user(admin.access_token).post(USERS, {"first": 10})
    assert "errors" not in body, body
    assert [e["node"]["email"] for e in body["data"]["users"]["edges"]] == [
        account.email for account in everyone
    ]
    one = await gql.as_user(admin.access_token).data(
        "query One($id: ID!) { user(id: $id) { email isActive } }", {"id": everyone[3].id}
    )
    assert one == {"user": {"email": everyone[3].email, "isActive": True}}


NODE_USER = """
query Node($id: ID!) { node(id: $id) { id ... on User { email isActive lastLoginAt } } }
"""


async def test_staff_read_any_users_email_via_node(gql: GraphQLClient, sign_up: SignUp) -> None:
    staff = await sign_up("staff@example.com", role="staff")
    customer = await sign_up("customer@example.com")
    for viewer in (staff, await sign_up("admin@example.com", role="admin")):
        body = await gql.post(NODE_USER, {"id": customer.id}, token=viewer.access_token)
        assert "errors" not in body, body
        node = body["data"]["node"]
        assert node["id"] == customer.id
        assert node["email"] == "customer@example.com"
        assert node["isActive"] is True


async def test_customer_cannot_read_another_users_email(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    staff = await sign_up("staff@example.com", role="staff")
    customer = await sign_up("customer@example.com")
    other = await sign_up("other@example.com")
    # Another user (customer or staff) is hidden from a customer and from anonymous callers.
    for target in (other, staff):
        for token in (customer.access_token, None):
            body = await gql.post(NODE_USER, {"id": target.id}, token=token)
            assert without_cost(body) == {"data": {"node": None}}, body
    # Their own record, email included, they may read.
    body = await gql.post(NODE_USER, {"id": customer.id}, token=customer.access_token)
    assert "errors" not in body, body
    assert body["data"]["node"]["email"] == "customer@example.com"


def _info(viewer: User | None, signed_in_user_id: int | None = None) -> Any:
    """The parts of a Strawberry Info the permission class reads."""
    return SimpleNamespace(
        context=SimpleNamespace(user=viewer, signed_in_user_id=signed_in_user_id)
    )


def _user(user_id: int, role: Role) -> User:
    return User(id=user_id, email=f"u{user_id}@example.com", name="U", role=role, is_active=True)


@pytest.mark.parametrize(
    ("viewer_role", "allowed"),
    [(Role.CUSTOMER, False), (Role.STAFF, True), (Role.ADMIN, True)],
)
def test_is_self_or_staff_for_another_user(viewer_role: Role, allowed: bool) -> None:
    # No HTTP path hands a customer another user's User (`node` hides it, `users` and `user`
    # are admin-only), so the field-level FORBIDDEN is checked on the permission itself.
    viewer = _user(1, viewer_role)
    other = _user(2, Role.CUSTOMER)
    assert IsSelfOrStaff().has_permission(other, _info(viewer)) is allowed
    # Everyone may read their own fields.
    assert IsSelfOrStaff().has_permission(viewer, _info(viewer)) is True


def test_is_self_or_staff_for_anonymous_callers() -> None:
    other = _user(2, Role.CUSTOMER)
    # Just signed in (login/register payload): their own fields are readable.
    assert IsSelfOrStaff().has_permission(other, _info(None, signed_in_user_id=2)) is True
    with pytest.raises(Unauthenticated):
        IsSelfOrStaff().has_permission(other, _info(None, signed_in_user_id=3))


async def test_login_payload_shows_the_signed_in_users_email(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    other = await sign_up("other@example.com")
    customer = await sign_up("nosy@example.com")
    query = "mutation L($input: LoginInput!) { login(input: $input) { user { id email } } }"
    variables = {"input": {"email": other.email, "password": other.password}}
    # Anonymous, or carrying someone else's token: the payload is the account that signed in.
    for token in (None, customer.access_token):
        body = await gql.post(query, variables, token=token)
        assert "errors" not in body, body
        assert body["data"]["login"]["user"] == {"id": other.id, "email": other.email}
