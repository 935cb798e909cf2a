"""Access tokens (short-lived JWTs), and the keyed derivation of refresh-token successors.

Random secrets and their stored digests live in `db.secrets` (the worker issues some too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


class InvalidAccessToken(Exception):
    """The token is malformed, forged, expired or for another audience."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class TokenSigner:
    key: str
    issuer: str
    audience: str
    lifetime: timedelta

    def issue(self, user_id: int, session_id: uuid.UUID, *, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": now,
            "exp": now + self.lifetime,
            "jti": secrets.token_urlsafe(12),
            "iss": self.issuer,
            "aud": self.audience,
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        try:
            # The algorithm list is pinned: "alg: none" and RS/HS confusion are rejected here.
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["sub", "sid", "exp", "iat", "jti", "iss", "aud"]},
            )
            return AccessClaims(
                user_id=int(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidAccessToken(str(error), expired=True) from error
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as error:
            # AttributeError/TypeError: claims of the wrong type (e.g. a numeric `sid`).
            raise InvalidAccessToken(str(error)) from error

    def refresh_successor(self, presented: str) -> str:
        """The refresh token that replaces `presented` when it is exchanged.

        Derived, not random: a second exchange of the same token within the grace window (two
        tabs refreshing at once) can recompute it and find its stored hash, so no secret is kept
        anywhere. Without the signing key it is as unpredictable as a random token.
        """
        mac = hmac.new(
            self.key.encode(),
            b"refresh:" + presented.encode("utf-8", "surrogatepass"),
            hashlib.sha256,
        )
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
