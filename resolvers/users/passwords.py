"""Password hashing (argon2id) and the strength rules every password-setting mutation shares."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
# Argon2 cost does not grow with length, but parsing and memory do: cap it so a 1 MiB
# "password" cannot be used to make the server work.
MAX_PASSWORD_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with argon2-cffi's current recommended parameters
# Verified against when the email is unknown, so a miss costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("dummy password used for constant-time misses")

_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "iloveyou",
        "letmein123",
        "welcome123",
        "admin12345",
        "abc1234567",
    }
)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why the password is unacceptable, or None. The message is safe to show to the user."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be at most {MAX_PASSWORD_LENGTH} characters."
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "Password is too easy to guess."
    personal = {email.split("@")[0].lower(), name.lower()} - {""}
    if any(len(part) >= 4 and part in lowered for part in personal):
        return "Password must not contain your name or email."
    return None


async def hash_password(password: str) -> str:
    # Hashing takes tens of milliseconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown user) still spend the same time."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    return await asyncio.to_thread(verify)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
