"""At most one of login, register, requestPasswordReset, changePassword and resetPassword per
request: aliases, repeats and fragments each count, and nothing runs when refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.users import User
from resolvers.context import Services
from tests.support.graphql import STRONG_PASSWORD, GraphQLClient, SignUp, without_cost

ANN = f'{{email: "ann@example.com", name: "Ann", password: "{STRONG_PASSWORD}"}}'
BOB = f'{{email: "bob@example.com", name: "Bob", password: "{STRONG_PASSWORD}"}}'
GUESS = '{email: "victim@example.com", password: "guess number one"}'
OTHER_GUESS = '{email: "victim@example.com", password: "guess number two"}'

REFUSED = [
    pytest.param(
        f"mutation {{ a: login(input: {GUESS}) {{ accessToken }}"
        f" b: login(input: {OTHER_GUESS}) {{ accessToken }} }}",
        "login (2 times)",
        id="aliased",
    ),
    pytest.param(
        f"mutation {{ login(input: {GUESS}) {{ accessToken }}"
        f" login(input: {GUESS}) {{ accessToken }} }}",
        "login (2 times)",
        id="repeated",
    ),
    pytest.param(
        f"mutation {{ r0: register(input: {ANN}) {{ accessToken }}"
        f" r1: register(input: {BOB}) {{ accessToken }} }}",
        "register (2 times)",
        id="registrations",
    ),
    pytest.param(
        f"mutation {{ register(input: {ANN}) {{ accessToken }}"
        ' requestPasswordReset(email: "ann@example.com") { ok } }',
        "register, requestPasswordReset",
        id="mixed",
    ),
    pytest.param(
        f"mutation {{ ...One ...Two }}"
        f" fragment One on Mutation {{ login(input: {GUESS}) {{ accessToken }} }}"
        f" fragment Two on Mutation {{ ...One }}",
        "login (2 times)",
        id="fragments",
    ),
    pytest.param(
        f"mutation {{ ... on Mutation {{ register(input: {ANN}) {{ accessToken }} }}"
        ' ... @include(if: true) { resetPassword(input: {token: "t", newPassword: "x"}) { ok } }'
        " }",
        "register, resetPassword",
        id="inline-fragments",
    ),
]


@pytest.mark.parametrize(("document", "found"), REFUSED)
async def test_more_than_one_auth_field_is_refused_and_nothing_runs(
    gql: GraphQLClient, services: Services, document: str, found: str
) -> None:
    body = await gql.post(document)
    assert gql.last is not None and gql.last.status_code == 400
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "at most one of login, register, requestPasswordReset" in error["message"]
    assert f"({found})" in error["message"]
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
    assert not await services.redis.keys("throttle:*")


async def test_one_auth_field_beside_other_mutations_runs(
    gql: GraphQLClient, sign_up: SignUp
) -> None:
    account = await sign_up("one@example.com")
    document = f"""
    mutation {{
      ...SignIn
      updateMe(input: {{name: "x"}}) {{ errors {{ code }} }}
      logout(refreshToken: "{account.refresh_token}") {{ ok }}
    }}
    fragment SignIn on Mutation {{
      login(input: {{email: "{account.email}", password: "{account.password}"}}) {{
        accessToken errors {{ code }}
      }}
    }}
    """
    body = await gql.post(document, token=account.access_token)
    assert "errors" not in body, body
    assert body["data"]["login"]["errors"] == []
    assert body["data"]["logout"] == {"ok": True}


async def test_each_operation_of_a_document_may_have_one(gql: GraphQLClient) -> None:
    # Only the operation the request names runs: one auth field in each is fine.
    document = (
        f"mutation A {{ register(input: {ANN}) {{ user {{ email }} errors {{ code }} }} }}"
        f" mutation B {{ register(input: {BOB}) {{ user {{ email }} errors {{ code }} }} }}"
    )
    response = await gql.http.post("/graphql", json={"query": document, "operationName": "B"})
    body = without_cost(response.json())
    assert body == {"data": {"register": {"user": {"email": "bob@example.com"}, "errors": []}}}, (
        body
    )
