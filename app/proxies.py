"""The client's address: the peer's, or what a trusted reverse proxy says in X-Forwarded-For.

Throttles and sessions key on the client address, so it must not be forgeable: a header is
believed only when the peer is one of TRUSTED_PROXIES (addresses or networks, IPv4 or IPv6).
Each proxy appends the address it received the request from, so the list is read from the
right, skipping trusted proxies; the first address that is not one is the client. Anything
unreadable on the way leaves the last trusted hop as the client: a client can always write
garbage at the left of the header, but never push its way past the proxies that appended to it.

This runs in the app (not in uvicorn, whose own proxy handling is off in `catalog serve`) so it
is the same in every deployment and testable in-process.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# More hops than this in one header is not a real proxy chain: read no further.
MAX_HOPS = 20


def parse_address(text: str) -> Address | None:
    """An address from a forwarded-for entry: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80` or `::1`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client reaching an IPv6 socket appears as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """Rewrites `scope["client"]` (and the scheme) from the forwarding headers of trusted peers."""

    def __init__(self, app: ASGIApp, proxies: Iterable[str]) -> None:
        self.app = app
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(proxy, strict=False) for proxy in proxies
        )

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client_address(self, peer: Address, forwarded_for: list[str]) -> Address:
        """The client a chain of proxies starting at `peer` forwarded the request for."""
        client = peer
        hops = [hop for header in forwarded_for for hop in header.split(",")]
        for hop in reversed(hops[-MAX_HOPS:]):
            if not self.trusts(client):
                break
            address = parse_address(hop)
            if address is None:
                break
            client = address
        return client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            peer_host = (scope.get("client") or (None, 0))[0]
            peer = parse_address(peer_host) if peer_host else None
            if peer is not None and self.trusts(peer):
                forwarded_for: list[str] = []
                proto = None
                for name, value in scope["headers"]:
                    if name == b"x-forwarded-for":
                        forwarded_for.append(value.decode("latin-1"))
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").strip().lower()
                client = self.client_address(peer, forwarded_for)
                if client != peer:
                    scope["client"] = (str(client), 0)
                if proto in ("http", "https") and scope["type"] == "http":
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
