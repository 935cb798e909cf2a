"""The seeded customers and their reviews.

Reviews spread over products by a power law (a few products have hundreds, most a handful or
none), ratings are skewed positive, and each user reviews a product at most once.
"""

from __future__ import annotations

import itertools
import math
from random import Random
from typing import Any

from app.seed.generate_products import Products
from app.seed.parameters import (
    PENDING_SHARE,
    RATING_WEIGHTS,
    REJECTED_SHARE,
    ZIPF_EXPONENT,
    seeded_email,
    ts,
)
from app.seed.progress import Progress
from app.seed.vocabulary_people import (
    FIRST_NAMES,
    LAST_NAMES,
    MODERATION_REASONS,
    REVIEW_ASIDES,
    REVIEW_SENTENCES,
    REVIEW_TITLES,
)


def build_users(
    rng: Random, total: int, first_id: int, password_hash: str, start: int, end: int
) -> tuple[list[tuple[Any, ...]], list[int]]:
    created = sorted(rng.randrange(start, end) for _ in range(total))
    rows: list[tuple[Any, ...]] = []
    for index, created_at in enumerate(created):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = seeded_email(index + 1)
        at = ts(created_at)
        rows.append((first_id + index, email, name, password_hash, "customer", True, at, at, None))
    return rows, created


def _review_counts(rng: Random, weights: list[float], total: int, cap: int) -> list[int]:
    """Draw `total` reviews over products by weight, at most `cap` (one per user) each."""
    counts = [0] * len(weights)
    remaining = total
    live = [index for index, weight in enumerate(weights) if weight > 0]
    for _ in range(50):
        live = [index for index in live if counts[index] < cap]
        if remaining == 0 or not live:
            break
        cumulative = list(itertools.accumulate(weights[index] for index in live))
        overflow = 0
        for index in rng.choices(live, cum_weights=cumulative, k=remaining):
            if counts[index] < cap:
                counts[index] += 1
            else:
                overflow += 1
        remaining = overflow
    # Only when asked for nearly every (product, user) pair: fill what is left in order.
    for index in range(len(counts)):
        if remaining == 0:
            break
        if weights[index] > 0:
            room = min(cap - counts[index], remaining)
            counts[index] += room
            remaining -= room
    return counts


def build_reviews(
    rng: Random,
    progress: Progress,
    products: Products,
    user_created: list[int],
    first_user_id: int,
    total: int,
    end: int,
) -> list[tuple[Any, ...]]:
    users = len(user_created)
    reviewable = [status != "draft" for status in products.statuses]
    if sum(reviewable) * users < total:
        # Too few published products for the request: let drafts have reviews too.
        reviewable = [True] * len(reviewable)
    order = [index for index, ok in enumerate(reviewable) if ok]
    rng.shuffle(order)
    offset = 1 + len(products.statuses) / 700
    weights = [0.0] * len(reviewable)
    for rank, index in enumerate(order, start=1):
        weights[index] = 1.0 / (rank + offset) ** ZIPF_EXPONENT
    counts = _review_counts(rng, weights, total, users)

    drafted: list[tuple[Any, ...]] = []
    stars = (1, 2, 3, 4, 5)
    with progress.phase("reviews (generate)", len(counts)) as bar:
        for index, count in enumerate(counts):
            bar.advance()
            if count == 0:
                continue
            # Each product has its own quality, so averages spread instead of all being ~4.
            quality = rng.gauss(0.0, 0.3)
            cumulative = list(
                itertools.accumulate(
                    weight * math.exp(quality * (star - 3))
                    for weight, star in zip(RATING_WEIGHTS, stars, strict=True)
                )
            )
            noun = products.nouns[index].lower()
            for user, rating in zip(
                rng.sample(range(users), count),
                rng.choices(stars, cum_weights=cumulative, k=count),
                strict=True,
            ):
                # After both the product and the account existed, before the reference date.
                low = max(products.created[index], user_created[user]) + 3600
                created_at = rng.randrange(low, end)
                roll = rng.random()
                status = "approved"
                reason = None
                if roll < PENDING_SHARE:
                    status = "pending"
                elif roll < PENDING_SHARE + REJECTED_SHARE:
                    status = "rejected"
                    reason = rng.choice(MODERATION_REASONS)
                sentences = rng.sample(REVIEW_SENTENCES[rating - 1], rng.randint(1, 3))
                if rng.random() < 0.3:
                    sentences.append(
                        rng.choice(REVIEW_ASIDES).format(
                            days=rng.randint(2, 9), months=rng.randint(2, 18)
                        )
                    )
                drafted.append(
                    (
                        created_at,
                        index + 1,
                        first_user_id + user,
                        rating,
                        rng.choice(REVIEW_TITLES[rating - 1]),
                        " ".join(sentences).format(noun=noun),
                        status,
                        reason,
                    )
                )
    # Ids in creation order, as a live shop would have assigned them. (product, user) is
    # unique, so the sort never compares past the third field.
    drafted.sort()
    return [
        (number, product, user, rating, title, body, status, reason, ts(at), ts(at))
        for number, (at, product, user, rating, title, body, status, reason) in enumerate(
            drafted, start=1
        )
    ]
