"""A graphql-transport-ws client over a real socket (the `websockets` library), as graphql-ws
in a browser would speak it (servers to talk to: tests.support.apps.catalog_servers)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.servers import Server

PROTOCOL = "graphql-transport-ws"
WAIT = 15.0  # seconds a test waits for a message it expects (generous: a shared machine)

PRODUCT_UPDATED = """
subscription Live($ids: [ID!]!) {
  productUpdated(ids: $ids) { id sku inStock status price { amount currency } }
}
"""
# What staff see: the stock count too.
STAFF_PRODUCT_UPDATED = """
subscription Stock($ids: [ID!]!) {
  productUpdated(ids: $ids) { id sku stock inStock status price { amount currency } }
}
"""


@dataclass
class WsClient:
    socket: ClientConnection

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(orjson.dumps(message).decode())

    async def receive(self, wait: float = WAIT) -> dict[str, Any]:
        """The next message other than the server's keep-alive pings."""
        while True:
            raw = await asyncio.wait_for(self.socket.recv(), wait)
            message: dict[str, Any] = orjson.loads(raw)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def init(self, token: str | None = None) -> dict[str, Any]:
        payload = {"authorization": f"Bearer {token}"} if token is not None else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    async def closed(self, wait: float = WAIT) -> tuple[int, str]:
        """(code, reason) once the server closes the connection; messages before are dropped."""
        try:
            while True:
                await asyncio.wait_for(self.socket.recv(), wait)
        except ConnectionClosed as error:
            frame = error.rcvd
        assert frame is not None, "closed without a close frame"
        return frame.code, frame.reason


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/graphql"


def open_ws(server: Server, origin: str | None = None, subprotocol: str = PROTOCOL) -> Any:
    """`async with open_ws(server) as socket`: a raw connection, before `connection_init`."""
    return connect(
        ws_url(server),
        subprotocols=[subprotocol],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        open_timeout=WAIT,
    )
