"""Every model, imported in one place so metadata is complete (Alembic, tests)."""

from db.base import Base
from db.catalog import Category, Product, ProductStatus
from db.documents import TrustedDocument
from db.emails import EmailStatus, OutboxEmail
from db.files import FileChunk, StoredFile
from db.jobs import Job, JobError, JobKind, JobStatus
from db.reviews import Review, ReviewStatus
from db.users import (
    AuthSession,
    PasswordResetRequest,
    PasswordResetToken,
    RefreshToken,
    Role,
    User,
)

__all__ = [
    "AuthSession",
    "Base",
    "Category",
    "EmailStatus",
    "FileChunk",
    "Job",
    "JobError",
    "JobKind",
    "JobStatus",
    "OutboxEmail",
    "PasswordResetRequest",
    "PasswordResetToken",
    "Product",
    "ProductStatus",
    "RefreshToken",
    "Review",
    "ReviewStatus",
    "Role",
    "StoredFile",
    "TrustedDocument",
    "User",
]
