"""Mail transports: SMTP when configured, else the outbox table itself.

Emails carry live secrets (password reset links and codes): no transport ever writes a body, a
subject or a link to the log, only that an email went (its id, kind and recipient).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from db.emails import OutboxEmail

logger = logging.getLogger("catalog.mailer")


class Mailer(Protocol):
    @property
    def name(self) -> str: ...

    async def send(self, email: OutboxEmail) -> None: ...


@dataclass(frozen=True)
class LogMailer:
    """No SMTP (development, tests, MAIL_TRANSPORT=outbox): the message stays in the outbox
    table, where `catalog outbox` reads it; the log only says it was kept."""

    name: str = "outbox"

    async def send(self, email: OutboxEmail) -> None:
        logger.info(
            "email #%s (%s) to %s kept in the outbox table (read it with `catalog outbox`)",
            email.id,
            email.kind,
            email.to_address,
        )


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 20.0
    name: str = "smtp"

    async def send(self, email: OutboxEmail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = email.to_address
        message["Subject"] = email.subject
        message.set_content(email.body)
        await asyncio.to_thread(self._send_blocking, message)

    def _send_blocking(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            if self.starttls:
                client.starttls()
            if self.username and self.password:
                client.login(self.username, self.password)
            client.send_message(message)
