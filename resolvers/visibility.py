"""Who may see which rows: declared once, as SQL conditions, for every query and loader.

Lists, `node()`, dataloaders and (later) compiled queries all read these, so a rule cannot be
applied in one place and forgotten in another.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from db.catalog import Product, ProductStatus
from db.orders import Order
from db.reviews import Review, ReviewStatus
from db.users import User


def is_staff(viewer: User | None) -> bool:
    return viewer is not None and viewer.role.is_staff


def visible_products(viewer: User | None) -> ColumnElement[bool]:
    """Staff see every product; everyone else only published ones."""
    if is_staff(viewer):
        return true()
    return Product.status == ProductStatus.PUBLISHED


def visible_reviews(viewer: User | None) -> ColumnElement[bool]:
    """Reviews of visible products: approved ones, the viewer's own; staff see all."""
    if is_staff(viewer):
        return true()
    of_visible_product = (
        select(Product.id).where(Product.id == Review.product_id, visible_products(viewer)).exists()
    )
    return and_(listed_reviews(viewer), of_visible_product)


def listed_reviews(viewer: User | None) -> ColumnElement[bool]:
    """Reviews shown under a product: approved ones, plus the viewer's own whatever its status.

    Staff moderate through their own query, so product pages look the same to them.
    """
    approved = Review.status == ReviewStatus.APPROVED
    if viewer is None:
        return approved
    return or_(approved, Review.user_id == viewer.id)


def visible_orders(viewer: User | None) -> ColumnElement[bool]:
    """Staff see every order; a customer their own; nobody else any."""
    if is_staff(viewer):
        return true()
    if viewer is None:
        return false()
    return Order.customer_id == viewer.id
