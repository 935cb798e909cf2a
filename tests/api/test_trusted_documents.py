"""Trusted documents (PERSISTED_QUERIES=allowlist): only registered documents run, but staff's.

Documents are registered with the real command (`catalog documents register FILE`), from both
manifest formats, then requested over HTTP from an allowlist app, by id or in full.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.cli import main
from app.main import create_app
from app.settings import Settings
from db.documents import TrustedDocument
from resolvers.context import Services
from tests.support.graphql import GRAPHQL_RESPONSE, SignUp, without_cost

LISTING = "query Listing($n: Int) { products(first: $n) { totalCount } }"
ME = "query Me { me { id } }"
LOGOUT_ALL = "mutation LogoutAll { logoutAll { ok } }"
UNREGISTERED = "query Other { __typename }"
CODEGEN_DOCUMENT = "query Typename { __typename }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def apollo_manifest(*operations: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256(body), "name": name, "type": kind, "body": body}
            for name, kind, body in operations
        ],
    }


APOLLO = apollo_manifest(("Listing", "query", LISTING), ("Me", "query", ME))
# GraphQL Code Generator's client preset: one with its default SHA-1 ids, one with SHA-256.
CODEGEN = {sha1(CODEGEN_DOCUMENT): CODEGEN_DOCUMENT, sha256(LOGOUT_ALL): LOGOUT_ALL}


class Registrar:
    """Runs `catalog documents register` against the suite's database."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp_path = tmp_path
        self.capsys = capsys

    async def __call__(self, manifest: Any, name: str = "manifest.json") -> tuple[int, str]:
        path = self.tmp_path / name
        path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
        self.capsys.readouterr()
        # The command runs its own event loop: off this one's thread.
        code = await asyncio.to_thread(main, ["documents", "register", str(path)])
        captured = self.capsys.readouterr()
        return code, captured.out + captured.err


@pytest.fixture
def register(
    settings: Settings,
    client: httpx.AsyncClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Registrar:
    assert settings.secret_key is not None
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    monkeypatch.setenv("SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    return Registrar(tmp_path, capsys)


@pytest.fixture
async def allowlist(
    settings: Settings, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings.model_copy(update={"persisted_queries": "allowlist"}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def send(
    http: httpx.AsyncClient,
    *,
    query: str | None = None,
    hash_of: str | None = None,
    token: str | None = None,
    accept: str = GRAPHQL_RESPONSE,
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = dict(extra)
    if query is not None:
        body["query"] = query
    if hash_of is not None:
        body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": hash_of}}
    headers = {"accept": accept}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await http.post("/graphql", json=body, headers=headers)


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


async def registered(services: Services) -> int:
    async with services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(TrustedDocument)) or 0)


async def test_register_both_formats_idempotently(register: Registrar, services: Services) -> None:
    apollo = await register(APOLLO, "apollo.json")
    codegen = await register(CODEGEN, "persisted-documents.json")
    again = await register(APOLLO, "apollo.json")

    assert apollo[0] == codegen[0] == again[0] == 0
    assert "2 document(s) (apollo-persisted-query-manifest): 2 registered, 0 already" in apollo[1]
    assert "2 document(s) (graphql-codegen-persisted-documents): 2 registered" in codegen[1]
    assert "0 registered, 2 already registered" in again[1]
    assert await registered(services) == 4


async def test_registered_documents_run_by_id(
    register: Registrar, allowlist: httpx.AsyncClient
) -> None:
    await register(APOLLO)
    await register(CODEGEN)

    listing = await send(allowlist, hash_of=sha256(LISTING), variables={"n": 5})
    codegen = await send(allowlist, hash_of=sha1(CODEGEN_DOCUMENT))
    over_get = await allowlist.get(
        "/graphql",
        params={
            "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256(ME)}})
        },
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert without_cost(listing.json()) == {"data": {"products": {"totalCount": 0}}}
    assert without_cost(codegen.json()) == {"data": {"__typename": "Query"}}
    assert without_cost(over_get.json()) == {"data": {"me": None}}


async def test_the_full_text_of_a_registered_document_runs(
    register: Registrar, allowlist: httpx.AsyncClient
) -> None:
    await register(APOLLO)

    plain = await send(allowlist, query=LISTING, variables={"n": 1})
    with_hash = await send(allowlist, query=ME, hash_of=sha256(ME))

    assert without_cost(plain.json()) == {"data": {"products": {"totalCount": 0}}}
    assert without_cost(with_hash.json()) == {"data": {"me": None}}


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 404), ("application/json", 200)])
async def test_an_unknown_id_is_refused(
    register: Registrar, allowlist: httpx.AsyncClient, accept: str, status: int
) -> None:
    await register(APOLLO)

    response = await send(allowlist, hash_of=sha256(UNREGISTERED), accept=accept)

    assert response.status_code == status
    assert codes(response) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert "not found in the persisted query list" in response.json()["errors"][0]["message"]
    assert "data" not in response.json()


async def test_an_unregistered_text_is_refused(
    register: Registrar, allowlist: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await register(APOLLO)
    customer = await sign_up()

    anonymous = await send(allowlist, query=UNREGISTERED)
    signed_in = await send(allowlist, query=UNREGISTERED, token=customer.access_token)
    apq_style = await send(allowlist, query=UNREGISTERED, hash_of=sha256(UNREGISTERED))

    for response in (anonymous, signed_in, apq_style):
        assert response.status_code == 403
        assert codes(response) == ["QUERY_NOT_IN_SAFELIST"]
        assert "data" not in response.json()


async def test_staff_may_send_any_document(
    register: Registrar, allowlist: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await register(APOLLO)
    staff = await sign_up(role="staff")

    text = await send(allowlist, query=UNREGISTERED, token=staff.access_token)
    # Apollo's link first sends the hash alone: staff are asked for the text, not refused.
    hashed = await send(allowlist, hash_of=sha256(UNREGISTERED), token=staff.access_token)

    assert without_cost(text.json()) == {"data": {"__typename": "Query"}}
    assert codes(hashed) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_registration_counts_at_once(
    register: Registrar, allowlist: httpx.AsyncClient
) -> None:
    before = await send(allowlist, hash_of=sha256(ME))
    await register(APOLLO)
    after = await send(allowlist, hash_of=sha256(ME))

    assert codes(before) == ["PERSISTED_QUERY_NOT_IN_LIST"]
    assert without_cost(after.json()) == {"data": {"me": None}}


async def test_a_registered_mutation_still_needs_post(
    register: Registrar, allowlist: httpx.AsyncClient
) -> None:
    await register(CODEGEN)
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(LOGOUT_ALL)}}

    response = await allowlist.get(
        "/graphql",
        params={"extensions": json.dumps(extensions)},
        headers={"accept": GRAPHQL_RESPONSE},
    )

    assert response.status_code == 405


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        pytest.param({"0" * 64: ME}, "the id is not the hash of the document", id="wrong-sha256"),
        pytest.param({"0" * 40: ME}, "the id is not the hash of the document", id="wrong-sha1"),
        pytest.param(
            {sha256("{ nosuch }"): "{ nosuch }"}, "Cannot query field 'nosuch'", id="invalid"
        ),
        pytest.param({sha256("{ me "): "{ me "}, "Syntax Error", id="syntax"),
        pytest.param(
            apollo_manifest(("Me", "mutation", ME)), "the manifest says 'mutation'", id="type"
        ),
        pytest.param(apollo_manifest(("You", "query", ME)), "the manifest says 'You'", id="name"),
        pytest.param({sha256(ME + ME): ME + ME}, "exactly one operation", id="two-operations"),
        pytest.param({"format": "something-else"}, "not a manifest", id="format"),
        pytest.param("[1, 2", "cannot read JSON", id="not-json"),
        pytest.param({}, "no documents", id="empty"),
    ],
)
async def test_a_manifest_with_a_problem_registers_nothing(
    register: Registrar, services: Services, manifest: Any, problem: str
) -> None:
    # Every manifest here also holds a valid document: all or nothing.
    if isinstance(manifest, dict) and "format" not in manifest and manifest:
        manifest = {**manifest, sha256(LISTING): LISTING}

    code, output = await register(manifest)

    assert code == 2
    assert "nothing registered" in output
    assert problem in output
    assert "Traceback" not in output
    assert await registered(services) == 0


async def test_an_id_cannot_name_another_document(register: Registrar, services: Services) -> None:
    assert (await register({"custom-id-1": ME}))[0] == 0

    code, output = await register({"custom-id-1": LISTING})

    assert code == 2
    assert "already registered with another document: custom-id-1" in output
    assert await registered(services) == 1


async def test_custom_ids_are_reported_as_unverifiable(
    register: Registrar, allowlist: httpx.AsyncClient
) -> None:
    code, output = await register({"listing-v1": LISTING})
    response = await send(allowlist, hash_of="listing-v1", variables={"n": 1})

    assert code == 0
    assert "1 with ids of the manifest's own" in output
    assert without_cost(response.json()) == {"data": {"products": {"totalCount": 0}}}
