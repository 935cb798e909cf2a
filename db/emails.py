"""The email outbox: a row is written in the same transaction as the request that promises it.

The worker delivers it (SMTP, or the log in development) and marks it sent; a periodic sweep
re-enqueues rows whose job was lost (Redis outage, crashed worker), so no promised email is lost.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Identity, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxEmail(Base):
    __tablename__ = "outbox_emails"
    __table_args__ = (
        Index("ix_outbox_emails_pending", "created_at", postgresql_where="status = 'pending'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[EmailStatus] = mapped_column(
        Enum(EmailStatus, name="email_status", values_callable=lambda e: [m.value for m in e]),
        default=EmailStatus.PENDING,
        server_default=EmailStatus.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    transport: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None]
