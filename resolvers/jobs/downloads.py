"""Signed download links for stored files: `/files/<token>`, one file, 15 minutes.

The token is `<file id>.<expiry (unix seconds)>.<HMAC-SHA256>` keyed with the token signing
key (the one secret of the deployment, domain-separated by a prefix), so anyone holding a link
may download that one file until it expires, and nobody can forge or widen one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

_TOKEN = re.compile(r"([1-9][0-9]{0,17})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})")


class BadDownloadToken(Exception):
    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _mac(key: str, file_id: int, expires: int) -> str:
    digest = hmac.new(
        key.encode(), f"file-download:{file_id}:{expires}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def download_token(
    key: str, file_id: int, lifetime: timedelta, *, now: datetime | None = None
) -> str:
    expires = int(((now or datetime.now(UTC)) + lifetime).timestamp())
    return f"{file_id}.{expires}.{_mac(key, file_id, expires)}"


def download_path(key: str, file_id: int, lifetime: timedelta) -> str:
    return f"/files/{download_token(key, file_id, lifetime)}"


def verify_download_token(key: str, token: str, *, now: datetime | None = None) -> int:
    """The file id a token names; BadDownloadToken if it is forged, malformed or expired."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise BadDownloadToken("This download link is not valid.")
    file_id, expires, mac = int(match[1]), int(match[2]), match[3]
    if not hmac.compare_digest(mac, _mac(key, file_id, expires)):
        raise BadDownloadToken("This download link is not valid.")
    if (now or datetime.now(UTC)).timestamp() >= expires:
        raise BadDownloadToken(
            "This download link has expired: ask for the job again.", expired=True
        )
    return file_id
