"""Opaque secrets (refresh and password-reset tokens) and what the database stores instead.

Both the resolvers (sessions, reset) and the worker (which issues reset tokens) use these, so
they live at the bottom layer. Only the SHA-256 of a secret is ever stored.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    """An opaque random token: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def secret_digest(token: str) -> bytes:
    """What the database stores instead of the token. Tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
