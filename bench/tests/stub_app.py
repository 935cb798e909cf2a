"""A stub GraphQL endpoint for testing the wrk driver: checks what wrk sends, and answers in
turn with data, with GraphQL errors, and with a 500."""

from __future__ import annotations

import itertools
import json

from bench.reference import Receive, Scope, Send, read_body, respond

counter = itertools.count()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/readyz":
        await respond(send, 200, b"{}")
        return
    headers = dict(scope["headers"])
    body = await read_body(receive) or b""
    well_formed = (
        scope["method"] == "POST"
        and headers.get(b"content-type") == b"application/json"
        and headers.get(b"accept") == b"application/graphql-response+json"
        and "query" in json.loads(body)
    )
    if not well_formed:
        await respond(send, 400, b'{"errors": [{"message": "malformed"}]}')
        return
    turn = next(counter) % 3
    if turn == 0:
        await respond(send, 200, b'{"data": {"x": "an \\"errors\\": lookalike"}}')
    elif turn == 1:
        await respond(send, 200, b'{"data": null, "errors": [{"message": "boom"}]}')
    else:
        await respond(send, 500, b"oops")
