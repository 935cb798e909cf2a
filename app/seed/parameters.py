"""The dataset's fixed parameters: its time base, its shape and the seeded accounts.

Together with the seed these decide every row, so none of them may depend on the machine or
the moment: timestamps count from `REFERENCE_DATE`, not from now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SEED_PASSWORD = "seed-password-123"
SEED_EMAIL_DOMAIN = "seed.example.com"
# Not "now": timestamps must not depend on when the seed runs, or two runs would differ.
REFERENCE_DATE = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY = timedelta(days=730)

MIN_PRICE_CENTS = 199
MAX_PRICE_CENTS = 299_900
OUT_OF_STOCK_SHARE = 0.08
MID_LEVEL_PRODUCT_SHARE = 0.05  # products filed under a subcategory rather than a leaf
PRODUCT_STATUSES = ("published", "draft", "archived")
PRODUCT_STATUS_WEIGHTS = (90, 7, 3)
PENDING_SHARE = 0.03
REJECTED_SHARE = 0.01
# Share of reviews per star, index 0 = one star: skewed positive as real shops are.
RATING_WEIGHTS = (8.0, 7.0, 12.0, 28.0, 45.0)
# Zipf-Mandelbrot exponent for reviews per product: 1 / (rank + offset) ** exponent. The
# offset keeps the head from saturating (every user reviewing the top product).
ZIPF_EXPONENT = 1.2


def ts(seconds: int) -> datetime:
    """Unix seconds as the aware UTC datetime a timestamp column takes."""
    return datetime.fromtimestamp(seconds, UTC)


def seeded_email(number: int) -> str:
    """The email of the `number`-th seeded user, counting from 1: user00001@seed.example.com."""
    return f"user{number:05d}@{SEED_EMAIL_DOMAIN}"
