"""The id policy: what a global id argument means for a request, the same for every field.

- An argument that is not a global id at all (not base64 of "Type:key") is the client's bug:
  a top-level BAD_USER_INPUT error, and nothing is read or written.
- A well-formed id that names no object of the expected type the caller may see (another
  type, a deleted row, a hidden product) is "not found": a `NOT_FOUND` error in a mutation's
  payload, null from a query, no rows from a filter.

The codec itself is `db.global_ids`.
"""

from __future__ import annotations

import re
import uuid

from db.global_ids import decode_global_id
from resolvers.errors import BadUserInput

# Keys are PostgreSQL bigints written as the encoder writes them: ASCII digits, no leading
# zeros (so each row has exactly one id), at most 18 of them.
MAX_KEY_DIGITS = 18
_INT_KEY = re.compile(rf"0|[1-9][0-9]{{0,{MAX_KEY_DIGITS - 1}}}")


def _decoded(global_id: str) -> tuple[str, str]:
    decoded = decode_global_id(global_id)
    if decoded is None:
        raise BadUserInput(f"{global_id!r} is not a valid id.")
    return decoded


def key_of(global_id: str, type_name: str) -> int | None:
    """The integer key of an id of `type_name`; None when it names anything else."""
    found_type, key = _decoded(global_id)
    if found_type != type_name:
        return None
    return _int_key(key)


def uuid_key_of(global_id: str, type_name: str) -> uuid.UUID | None:
    """The UUID key of an id of `type_name`; None when it names anything else."""
    found_type, key = _decoded(global_id)
    if found_type != type_name:
        return None
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        return None
    # One spelling per session, as the encoder writes it.
    return parsed if str(parsed) == key else None


def typed_key_of(global_id: str) -> tuple[str, int | None]:
    """(type name, integer key or None) of any id, for `node(id)`."""
    type_name, key = _decoded(global_id)
    return type_name, _int_key(key)


def _int_key(key: str) -> int | None:
    return int(key) if _INT_KEY.fullmatch(key) else None
