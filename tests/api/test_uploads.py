"""Uploads over the GraphQL multipart request spec: staff only, CSRF header, size cap, streamed."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import httpx
from sqlalchemy import func, select

from app.settings import Settings
from db.files import FileChunk, StoredFile
from db.users import Role
from resolvers.context import Services
from tests.support.apps import app_client
from tests.support.catalog import new_user

UPLOAD = "mutation Up($file: Upload!) { uploadFile(file: $file) { id name size contentType } }"
PREFLIGHT = {"GraphQL-Require-Preflight": "1"}


async def upload(
    http: httpx.AsyncClient,
    token: str | None,
    content: bytes,
    *,
    headers: dict[str, str] | None = None,
    name: str = "products.csv",
) -> httpx.Response:
    operations = {"query": UPLOAD, "variables": {"file": None}}
    sent = {"accept": "application/graphql-response+json", **(headers or {})}
    if token:
        sent["authorization"] = f"Bearer {token}"
    return await http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, content, "text/csv")},
        headers=sent,
    )


async def stored_counts(services: Services) -> tuple[int, int]:
    async with services.sessions() as session:
        files = (await session.execute(select(func.count()).select_from(StoredFile))).scalar()
        chunks = (await session.execute(select(func.count()).select_from(FileChunk))).scalar()
    return int(files or 0), int(chunks or 0)


async def test_staff_upload_a_file_streamed_into_the_store(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, token = await new_user(services, Role.STAFF)
    content = os.urandom(2_500_000)
    response = await upload(client, token, content, headers=PREFLIGHT)
    assert response.status_code == 200, response.text
    stored = response.json()["data"]["uploadFile"]
    assert (stored["name"], stored["size"], stored["contentType"]) == (
        "products.csv",
        len(content),
        "text/csv",
    )
    async with services.sessions() as session:
        row = (await session.execute(select(StoredFile))).scalar_one()
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    assert b"".join([c async for c in services.files.open(row.id)]) == content
    assert await stored_counts(services) == (1, 3)


async def test_customers_and_anonymous_callers_cannot_upload(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, token = await new_user(services, Role.CUSTOMER)
    for bearer, code in ((token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        response = await upload(client, bearer, b"sku\nA\n", headers=PREFLIGHT)
        body: dict[str, Any] = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert await stored_counts(services) == (0, 0)


async def test_a_multipart_request_without_a_preflight_header_is_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, token = await new_user(services, Role.STAFF)
    response = await upload(client, token, b"sku\nA\n")
    assert response.status_code == 400
    assert "GraphQL-Require-Preflight" in response.json()["errors"][0]["message"]
    assert await stored_counts(services) == (0, 0)
    apollo = await upload(client, token, b"sku\nA\n", headers={"Apollo-Require-Preflight": "1"})
    assert apollo.status_code == 200


async def test_an_oversized_upload_is_413_and_nothing_is_stored(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    _, token = await new_user(services, Role.STAFF)
    async with app_client(settings, max_upload_bytes=200_000) as small:
        response = await upload(small.http, token, b"x" * 300_000, headers=PREFLIGHT)
        assert response.status_code == 413
        assert "200000 bytes" in response.json()["errors"][0]["message"]

        # Streamed without a Content-Length: counted while it arrives.
        async def body() -> Any:
            boundary = b"--b\r\n"
            yield boundary + b'Content-Disposition: form-data; name="operations"\r\n\r\n'
            yield json.dumps({"query": UPLOAD, "variables": {"file": None}}).encode() + b"\r\n"
            yield boundary + b'Content-Disposition: form-data; name="map"\r\n\r\n'
            yield b'{"0": ["variables.file"]}\r\n'
            yield boundary + b'Content-Disposition: form-data; name="0"; filename="a.csv"\r\n'
            yield b"Content-Type: text/csv\r\n\r\n"
            for _ in range(30):
                yield b"y" * 10_000
            yield b"\r\n--b--\r\n"

        streamed = await small.http.post(
            "/graphql",
            content=body(),
            headers={
                "content-type": "multipart/form-data; boundary=b",
                "authorization": f"Bearer {token}",
                **PREFLIGHT,
            },
        )
        assert streamed.status_code == 413
    # A JSON body keeps the 1 MiB cap.
    big_json = await client.post(
        "/graphql",
        json={"query": "{ __typename }", "variables": {"x": "y" * 1_100_000}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert big_json.status_code == 413
    assert await stored_counts(services) == (0, 0)


async def test_malformed_multipart_requests_are_400(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, token = await new_user(services, Role.STAFF)
    headers = {"authorization": f"Bearer {token}", **PREFLIGHT}
    cases: list[dict[str, str]] = [
        {"operations": "not json", "map": "{}"},
        {"operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}), "map": "[]"},
        {
            "operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
            "map": json.dumps({"0": ["query"]}),
        },
    ]
    for data in cases:
        response = await client.post(
            "/graphql", data=data, files={"0": ("a.csv", b"a", "text/csv")}, headers=headers
        )
        assert response.status_code == 400, (data, response.text)
    assert await stored_counts(services) == (0, 0)
