"""Carts and orders.

A cart is one per customer (its key is the customer's id), its lines name products and
quantities only: prices are always read from the products. An order snapshots what was bought
(SKU, name, unit price) so later catalog edits never change it; its lines keep the product's
id with ON DELETE RESTRICT, so an ordered product can be archived but never deleted. Stock is
allocated by conditional updates of `products.stock`, whose CHECK (stock >= 0) backs the rule
that nothing is ever oversold.

Idempotency keys live in their own table: (customer, key) is the primary key, so two
concurrent checkouts with one key serialize on it, and a key older than 24 hours is replaced
rather than refused (the order it led to stays).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column
from db.global_ids import GlobalId
from db.values import Money

# A checkout key is honoured this long; then it may be used for a new order (and is purged).
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)

# Human-readable order numbers: sequential, never reused, not the primary key.
ORDER_NUMBERS = Sequence("order_numbers", start=1000, metadata=Base.metadata)


class OrderStatus(enum.StrEnum):
    PLACED = "placed"
    PAID = "paid"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    return Enum(kind, name=name, values_callable=lambda e: [m.value for m in e])


class Cart(Base):
    __tablename__ = "carts"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class CartLine(GlobalId, Base):
    node_type = "CartLine"
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity BETWEEN 1 AND 999", name="quantity_range"),
        Index("ix_cart_lines_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.customer_id", ondelete="CASCADE"))
    # A product deleted (never ordered) leaves the carts it was in.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()


class Order(GlobalId, Base):
    node_type = "Order"
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("subtotal >= 0 AND shipping >= 0", name="amounts_not_negative"),
        CheckConstraint("total = subtotal + shipping", name="total_is_sum"),
        Index("ix_orders_customer_placed", "customer_id", "placed_at", "id"),
        Index("ix_orders_placed", "placed_at", "id"),
        Index("ix_orders_status_placed", "status", "placed_at", "id"),
    )
    # The number and times the database assigns come back with the INSERT (RETURNING).
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[int] = mapped_column(
        BigInteger, ORDER_NUMBERS, server_default=ORDER_NUMBERS.next_value(), unique=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[OrderStatus] = mapped_column(
        _enum(OrderStatus, "order_status"),
        default=OrderStatus.PLACED,
        server_default=OrderStatus.PLACED.value,
    )
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    shipping: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    placed_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def subtotal_money(self) -> Money:
        return Money(self.subtotal, self.currency)

    @property
    def shipping_money(self) -> Money:
        return Money(self.shipping, self.currency)

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity BETWEEN 1 AND 999", name="quantity_range"),
        Index("ix_order_lines_order", "order_id", "product_id"),
        # deleteProduct's "was it ever ordered?" and verified purchases.
        Index("ix_order_lines_product", "product_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer)

    @property
    def unit_money(self) -> Money:
        return Money(self.unit_price, self.currency)

    @property
    def line_money(self) -> Money:
        return Money(self.unit_price * self.quantity, self.currency)


class OrderEvent(Base):
    """One step of an order's life: who did it, when, and why (a cancellation's reason)."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "order_id", "at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    type: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    at: Mapped[datetime] = created_at_column()


class IdempotencyKey(Base):
    """A customer's checkout key: the hash of the cart it was first used with, and its order."""

    __tablename__ = "idempotency_keys"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    cart_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at_column()
