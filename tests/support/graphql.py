"""Talking to the API as a frontend does: a GraphQL client over HTTP, and the documents
several suites share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

GRAPHQL_RESPONSE = "application/graphql-response+json"
STRONG_PASSWORD = "correct horse battery staple"


@dataclass
class GraphQLClient:
    """Posts operations the way a frontend does and returns the decoded response."""

    http: httpx.AsyncClient
    token: str | None = None
    last: httpx.Response | None = field(default=None, repr=False)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        sent = {"accept": GRAPHQL_RESPONSE, **(headers or {})}
        bearer = token if token is not None else self.token
        if bearer is not None:
            sent["authorization"] = f"Bearer {bearer}"
        self.last = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=sent
        )
        body: dict[str, Any] = self.last.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The `data` of a response that must have no errors."""
        body = await self.post(query, variables, **kw)
        assert "errors" not in body, body
        return body["data"]

    def as_user(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, token)


REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    user { id email name role }
    accessToken refreshToken
    errors { field code message }
  }
}
"""

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    user { id email role }
    accessToken refreshToken
    errors { field code message }
  }
}
"""


REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) {
    user { id email }
    accessToken refreshToken
    errors { field code message }
  }
}
"""

LOGOUT = """
mutation Logout($token: String!) {
  logout(refreshToken: $token) { ok errors { field code message } }
}
"""

REVOKE_SESSION = """
mutation Revoke($id: ID!) {
  revokeSession(id: $id) { ok errors { field code message } }
}
"""


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str


SignUp = Callable[..., Awaitable[Account]]


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """The response body less `extensions.cost`, which every executed operation reports."""
    extensions = dict(body.get("extensions") or {})
    cost = extensions.pop("cost")
    assert set(cost) == {"requested", "limit"}, cost
    rest = {key: value for key, value in body.items() if key != "extensions"}
    if extensions:
        rest["extensions"] = extensions
    return rest
