"""Every model, imported in one place so metadata is complete (Alembic, tests)."""

from db.base import Base
from db.catalog import Category, Product, ProductStatus
from db.documents import TrustedDocument
from db.emails import EmailStatus, OutboxEmail
from db.orders import Cart, CartLine, IdempotencyKey, Order, OrderEvent, OrderLine, OrderStatus
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
    "Cart",
    "CartLine",
    "Category",
    "EmailStatus",
    "IdempotencyKey",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxEmail",
    "PasswordResetRequest",
    "PasswordResetToken",
    "Product",
    "ProductStatus",
    "RefreshToken",
    "Review",
    "ReviewStatus",
    "Role",
    "TrustedDocument",
    "User",
]
