"""Email texts. Plain text only: no HTML to escape, nothing for a mail client to load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote


@dataclass(frozen=True)
class EmailText:
    kind: str
    subject: str
    body: str


def welcome(name: str, public_url: str) -> EmailText:
    return EmailText(
        kind="welcome",
        subject="Welcome to Catalog",
        body=f"Hello {name},\n\nyour account is ready. Sign in at {public_url}.\n",
    )


def password_reset(name: str, token: str, public_url: str, valid_for: timedelta) -> EmailText:
    minutes = int(valid_for.total_seconds() // 60)
    link = f"{public_url.rstrip('/')}/reset-password?token={quote(token)}"
    return EmailText(
        kind="password_reset",
        subject="Reset your Catalog password",
        body=(
            f"Hello {name},\n\nsomeone asked to reset the password of this account. "
            f"If it was you, open this link within {minutes} minutes:\n\n{link}\n\n"
            f"Or use this code: {token}\n\n"
            "If it was not you, ignore this email: your password stays as it is.\n"
        ),
    )
