"""Every model, imported in one place so metadata is complete (Alembic, tests)."""

from db.base import Base
from db.emails import EmailStatus, OutboxEmail
from db.users import AuthSession, PasswordResetToken, RefreshToken, Role, User

__all__ = [
    "AuthSession",
    "Base",
    "EmailStatus",
    "OutboxEmail",
    "PasswordResetToken",
    "RefreshToken",
    "Role",
    "User",
]
