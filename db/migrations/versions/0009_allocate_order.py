"""allocate_order(order_id): take an order's lines off the shelf, in product id order

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Checkout calls it as `SELECT allocate_order(<id>); COMMIT; BEGIN` in one message, so a hot
product's row lock is released by the server as soon as the transaction commits, without a
round trip to the (busy) application in between. It allocates each line of the order (written
earlier in the same transaction) with a conditional UPDATE, in product id order so that two
orders never deadlock, and only while the product is published and still matches the line's
snapshot (SKU, name, price, currency). A line that cannot be allocated raises one of three
SQLSTATEs (db.allocation), with DETAIL `<product id> <stock>`; the caller rolls back, so
nothing is written. products.stock_not_negative (a CHECK) still backs the rule.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALLOCATE_ORDER = """
CREATE FUNCTION allocate_order(wanted_order bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    line record;
    now_stock integer;
    now_status product_status;
BEGIN
    FOR line IN
        SELECT l.product_id, l.quantity, l.sku, l.name, l.unit_price, l.currency
        FROM order_lines AS l WHERE l.order_id = wanted_order ORDER BY l.product_id
    LOOP
        UPDATE products AS p SET stock = p.stock - line.quantity
        WHERE p.id = line.product_id AND p.stock >= line.quantity AND p.status = 'published'
          AND p.sku = line.sku AND p.name = line.name AND p.price = line.unit_price
          AND p.currency = line.currency;
        CONTINUE WHEN FOUND;
        -- Why not: the newest committed row (the UPDATE above waited for any lock on it).
        SELECT p.stock, p.status INTO now_stock, now_status
        FROM products AS p WHERE p.id = line.product_id;
        IF now_status IS DISTINCT FROM 'published' THEN
            RAISE EXCEPTION 'product % is not available', line.product_id
                USING ERRCODE = 'CA002', DETAIL = line.product_id || ' ' || coalesce(now_stock, 0);
        ELSIF now_stock < line.quantity THEN
            RAISE EXCEPTION 'product % is short of stock', line.product_id
                USING ERRCODE = 'CA001', DETAIL = line.product_id || ' ' || now_stock;
        ELSE
            RAISE EXCEPTION 'product % changed since the order was written', line.product_id
                USING ERRCODE = 'CA003', DETAIL = line.product_id || ' ' || now_stock;
        END IF;
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute(ALLOCATE_ORDER)


def downgrade() -> None:
    op.execute("DROP FUNCTION allocate_order(bigint)")
