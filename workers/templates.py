"""Email texts. Plain text only: no HTML to escape, nothing for a mail client to load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote


@dataclass(frozen=True)
class EmailText:
    kind: str
    subject: str
    body: str


@dataclass(frozen=True)
class OrderTotals:
    currency: str
    subtotal: Decimal
    shipping: Decimal
    total: Decimal


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


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"


def order_placed(
    name: str, number: int, lines: list[tuple[str, int, Decimal]], totals: OrderTotals
) -> EmailText:
    listed = "\n".join(
        f"  {quantity} x {title} at {_money(price, totals.currency)}"
        for title, quantity, price in lines
    )
    return EmailText(
        kind="order_placed",
        subject=f"Order {number} confirmed",
        body=(
            f"Hello {name},\n\nthank you for your order {number}:\n\n{listed}\n\n"
            f"Subtotal: {_money(totals.subtotal, totals.currency)}\n"
            f"Shipping: {_money(totals.shipping, totals.currency)}\n"
            f"Total: {_money(totals.total, totals.currency)}\n"
        ),
    )


def order_paid(name: str, number: int) -> EmailText:
    return EmailText(
        kind="order_paid",
        subject=f"Order {number}: payment received",
        body=f"Hello {name},\n\nwe received the payment for order {number}; it ships soon.\n",
    )


def order_fulfilled(name: str, number: int, tracking_number: str) -> EmailText:
    return EmailText(
        kind="order_fulfilled",
        subject=f"Order {number} has shipped",
        body=(
            f"Hello {name},\n\norder {number} is on its way.\nTracking number: {tracking_number}\n"
        ),
    )


def order_cancelled(name: str, number: int, reason: str) -> EmailText:
    because = f"\nReason: {reason}\n" if reason else ""
    return EmailText(
        kind="order_cancelled",
        subject=f"Order {number} was cancelled",
        body=f"Hello {name},\n\norder {number} was cancelled.\n{because}",
    )
