"""Relay global ids: the opaque `ID` of every object a client can refetch with `node(id)`.

An id is URL-safe base64 of "Type:key". Encoding and decoding live side by side here; what an
id that cannot be used means for a request (the id policy) is `resolvers.ids`.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar


def encode_global_id(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def decode_global_id(global_id: str) -> tuple[str, str] | None:
    """(type name, key) of a global id; None when it is not one."""
    try:
        # validate: characters outside the alphabet are an error, not silently skipped.
        raw = base64.b64decode(global_id.encode("ascii"), altchars=b"-_", validate=True)
        decoded = raw.decode()
    except (ValueError, UnicodeError, binascii.Error):
        return None
    type_name, colon, key = decoded.partition(":")
    if not colon or not type_name:
        return None
    return type_name, key


class GlobalId:
    """Mixin for models exposed as a GraphQL Node: `global_id` from the type name and key.

    A property rather than a field resolver: the executor reads an attribute several times
    faster, and a listing reads one per row.
    """

    node_type: ClassVar[str]
    id: int

    @property
    def global_id(self) -> str:
        return encode_global_id(self.node_type, self.id)
