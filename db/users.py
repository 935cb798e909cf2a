"""Accounts: users, their sessions (one refresh-token family each), password-reset tokens and
the reset requests the worker carries out."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Enum,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    String,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column
from db.global_ids import GlobalId


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self in (Role.STAFF, Role.ADMIN)


class User(GlobalId, Base):
    node_type = "User"
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e]),
        default=Role.CUSTOMER,
        server_default=Role.CUSTOMER.value,
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    last_login_at: Mapped[datetime | None]


# Case-insensitive uniqueness lives in the database so concurrent sign-ups cannot both win.
Index("uq_users_email_lower", func.lower(User.email), unique=True)


def by_email(email: str) -> ColumnElement[bool]:
    """The condition finding a user by email, whatever its case (uses the index above)."""
    return func.lower(User.email) == email.lower()


class AuthSession(Base):
    """A login: the access tokens it issues carry its id, so revoking it ends them too."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id_active", "user_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip_address: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    """One issued refresh token of a session. Only its SHA-256 is stored."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    # Set when the token is exchanged; presenting it again is reuse and revokes the session.
    used_at: Mapped[datetime | None]


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PasswordResetRequest(Base):
    """A request for a reset email, recorded as asked whether or not the address has an
    account: the worker looks the account up (workers.password_resets)."""

    __tablename__ = "password_reset_requests"
    __table_args__ = (
        Index(
            "ix_password_reset_requests_pending",
            "created_at",
            postgresql_where="processed_at IS NULL",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = created_at_column()
    processed_at: Mapped[datetime | None]
