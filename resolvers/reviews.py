"""Review resolvers: writing, editing, deleting and moderating reviews, and the review lists.

Each mutation validates its input first and returns typed `UserError`s without writing;
otherwise it writes in one transaction that also recomputes the product's rating
(`resolvers.ratings`: lock the product, write, refresh). Ids the caller may not act on are
NOT_FOUND, exactly like ids that never existed.

New and edited reviews go live (APPROVED) unless `moderation_hold` finds a link, shouting or a
banned word: those wait as PENDING, seen only by their author and staff, until a moderator
decides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Context
from db.reviews import Review, ReviewStatus
from db.users import User
from resolvers.loaders import NEWEST_REVIEWS
from resolvers.pagination import Page, PageArgs, SortKey, datetime_key, paginate
from resolvers.ratings import lock_product, refresh_rating
from schema.errors import ErrorCode, Forbidden, UserError, user_error

MIN_RATING = 1
MAX_RATING = 5
MAX_TITLE_LENGTH = 120
MAX_BODY_LENGTH = 5000
MAX_REASON_LENGTH = 500
SHOUTING_MIN_LETTERS = 12
SHOUTING_UPPER_SHARE = 0.7
DUPLICATE_REVIEW_CONSTRAINT = "uq_reviews_product_id_user_id"

OLDEST_REVIEWS: list[SortKey[Review]] = [
    datetime_key(Review.created_at, lambda r: r.created_at),
    SortKey(Review.id, lambda r: r.id),
]


@dataclass
class ReviewResult:
    review: Review | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass
class DeleteResult:
    deleted_id: int | None = None
    errors: list[UserError] = field(default_factory=list)


# --- the moderation heuristic -------------------------------------------------------------

# Top-level domains common in spam. English words that follow a missing space after a full
# stop ("fits.In", "it.Is") are left out so that typos are not taken for links.
_TLDS = (
    "com|net|org|info|biz|io|co|ly|app|dev|xyz|shop|store|online|site|top|club|"
    "uk|de|fr|nl|ru|cn|au|eu|ca|br|pl|es|jp|tk|gg|tv|cc|ws"
)
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_LINK = re.compile(
    rf"https?://|\bwww\.|\b{_LABEL}(?:\.{_LABEL})*\.(?:{_TLDS})\b",
    re.IGNORECASE,
)


def contains_link(text: str) -> bool:
    """http://, https://, www. or a bare domain such as example.com."""
    return _LINK.search(text) is not None


def is_shouting(text: str) -> bool:
    """At least 12 cased letters, at least 70% of them upper-case."""
    cased = [char for char in text if char.isupper() or char.islower()]
    if len(cased) < SHOUTING_MIN_LETTERS:
        return False
    upper = sum(1 for char in cased if char.isupper())
    return upper >= SHOUTING_UPPER_SHARE * len(cased)


@lru_cache(maxsize=8)
def _banned_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({word.strip() for word in words if word.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(word) for word in cleaned)
    # Whole words: no word character may touch the match on either side.
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def contains_banned_word(text: str, banned_words: Iterable[str]) -> bool:
    pattern = _banned_pattern(tuple(banned_words))
    return pattern is not None and pattern.search(text) is not None


def moderation_hold(title: str, body: str, banned_words: Sequence[str]) -> str | None:
    """Why a review must wait for a moderator, or None when it may go live at once."""
    texts = (title, body, f"{title} {body}")
    reasons = []
    if any(contains_link(text) for text in texts[:2]):
        reasons.append("contains a link")
    if any(is_shouting(text) for text in texts):
        reasons.append("written mostly in capitals")
    if any(contains_banned_word(text, banned_words) for text in texts[:2]):
        reasons.append("contains a blocked word")
    if not reasons:
        return None
    return "Held for moderation: " + "; ".join(reasons) + "."


# --- validation ---------------------------------------------------------------------------

# Line breaks and tabs are welcome in a body; other control and unassigned characters are not.
_BODY_WHITESPACE = frozenset("\n\t")


def _has_bad_characters(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(
        char not in allowed
        and (
            unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"}
            # Bidirectional overrides and isolates can disguise what a text says.
            or "\u202a" <= char <= "\u202e"
            or "\u2066" <= char <= "\u2069"
        )
        for char in text
    )


def clean_title(raw: str) -> str | None:
    title = raw.strip()
    if not title or len(title) > MAX_TITLE_LENGTH or _has_bad_characters(title):
        return None
    return title


def _clean_multiline(raw: str, max_length: int) -> str | None:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > max_length or _has_bad_characters(text, _BODY_WHITESPACE):
        return None
    return text


def clean_body(raw: str) -> str | None:
    return _clean_multiline(raw, MAX_BODY_LENGTH)


def _rating_errors(rating: int) -> list[UserError]:
    if MIN_RATING <= rating <= MAX_RATING:
        return []
    return [
        user_error(
            ErrorCode.INVALID_RATING,
            f"Rating must be a whole number of stars from {MIN_RATING} to {MAX_RATING}.",
            "rating",
        )
    ]


def _invalid_title() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT,
        f"Title must be 1 to {MAX_TITLE_LENGTH} printable characters.",
        "title",
    )


def _invalid_body() -> UserError:
    return user_error(
        ErrorCode.INVALID_INPUT,
        f"Review text must be at most {MAX_BODY_LENGTH} characters, without control characters.",
        "body",
    )


def _not_found(field_name: str, what: str = "review") -> UserError:
    return user_error(ErrorCode.NOT_FOUND, f"No such {what}.", field_name)


def _already_reviewed() -> UserError:
    return user_error(
        ErrorCode.ALREADY_REVIEWED,
        "You have already reviewed this product; edit your review instead.",
        "productId",
    )


def _is_duplicate_review(error: IntegrityError) -> bool:
    """Whether the error is the one-review-per-user-and-product unique index refusing a row."""
    original = error.orig
    if getattr(original, "sqlstate", None) != "23505":
        return False
    # The adapted DB-API error wraps asyncpg's, which names the constraint.
    constraint = getattr(getattr(original, "__cause__", None), "constraint_name", None)
    return constraint in (None, DUPLICATE_REVIEW_CONSTRAINT)


async def _locked_review(
    session: AsyncSession, review_id: int, *conditions: ColumnElement[bool]
) -> Review | None:
    """The review, locked along with its product (product first: see resolvers.ratings)."""
    product_id = (
        await session.execute(select(Review.product_id).where(Review.id == review_id, *conditions))
    ).scalar_one_or_none()
    if product_id is None:
        return None
    await lock_product(session, product_id)
    # Read again under the lock: the review may have changed or gone while we waited.
    return (
        await session.execute(
            select(Review).where(Review.id == review_id, *conditions).with_for_update()
        )
    ).scalar_one_or_none()


# --- mutations ----------------------------------------------------------------------------


async def add_review(
    ctx: Context, user: User, product_id: int | None, rating: int, title: str, body: str
) -> ReviewResult:
    if user.role.is_staff:
        raise Forbidden(
            "Staff accounts moderate reviews and cannot write them; use a customer account."
        )
    errors = _rating_errors(rating)
    cleaned_title = clean_title(title)
    if cleaned_title is None:
        errors.append(_invalid_title())
    cleaned_body = clean_body(body)
    if cleaned_body is None:
        errors.append(_invalid_body())
    if product_id is None:
        errors.append(_not_found("productId", "product"))
    if errors or cleaned_title is None or cleaned_body is None or product_id is None:
        return ReviewResult(errors=errors)

    hold = moderation_hold(cleaned_title, cleaned_body, ctx.settings.review_banned_words)
    async with ctx.sessions() as session:
        # Customers see published products only, so that is all they may review.
        if not await lock_product(session, product_id, published_only=True):
            return ReviewResult(errors=[_not_found("productId", "product")])
        review = Review(
            product_id=product_id,
            user_id=user.id,
            rating=rating,
            title=cleaned_title,
            body=cleaned_body,
            status=ReviewStatus.PENDING if hold else ReviewStatus.APPROVED,
            moderation_reason=hold,
        )
        session.add(review)
        try:
            await session.flush()
        except IntegrityError as error:
            # The unique index decides, so two concurrent requests cannot both add a review.
            if not _is_duplicate_review(error):
                raise
            await session.rollback()
            return ReviewResult(errors=[_already_reviewed()])
        await refresh_rating(session, product_id)
        await session.commit()
    return ReviewResult(review)


async def update_my_review(
    ctx: Context,
    user: User,
    review_id: int | None,
    *,
    rating: int | None,
    title: str | None,
    body: str | None,
) -> ReviewResult:
    errors = _rating_errors(rating) if rating is not None else []
    cleaned_title = clean_title(title) if title is not None else None
    if title is not None and cleaned_title is None:
        errors.append(_invalid_title())
    cleaned_body = clean_body(body) if body is not None else None
    if body is not None and cleaned_body is None:
        errors.append(_invalid_body())
    if review_id is None:
        errors.append(_not_found("id"))
    if errors or review_id is None:
        return ReviewResult(errors=errors)

    async with ctx.sessions() as session:
        review = await _locked_review(session, review_id, Review.user_id == user.id)
        if review is None:
            return ReviewResult(errors=[_not_found("id")])
        if rating is None and cleaned_title is None and cleaned_body is None:
            return ReviewResult(review)
        if rating is not None:
            review.rating = rating
        if cleaned_title is not None:
            review.title = cleaned_title
        if cleaned_body is not None:
            review.body = cleaned_body
        hold = moderation_hold(review.title, review.body, ctx.settings.review_banned_words)
        if hold:
            review.status, review.moderation_reason = ReviewStatus.PENDING, hold
        elif review.status is ReviewStatus.REJECTED:
            # An edit must not slip a rejected review past the moderator: it queues again.
            review.status = ReviewStatus.PENDING
            review.moderation_reason = "Edited after rejection: waiting for a moderator."
        else:
            review.status, review.moderation_reason = ReviewStatus.APPROVED, None
        await session.flush()
        await session.refresh(review)
        await refresh_rating(session, review.product_id)
        await session.commit()
    return ReviewResult(review)


async def delete_review(ctx: Context, user: User, review_id: int | None) -> DeleteResult:
    if review_id is None:
        return DeleteResult(errors=[_not_found("id")])
    # Authors delete their own reviews; staff delete any. Others' reviews are NOT_FOUND.
    conditions = [] if user.role.is_staff else [Review.user_id == user.id]
    async with ctx.sessions() as session:
        review = await _locked_review(session, review_id, *conditions)
        if review is None:
            return DeleteResult(errors=[_not_found("id")])
        await session.delete(review)
        await session.flush()
        await refresh_rating(session, review.product_id)
        await session.commit()
    return DeleteResult(deleted_id=review_id)


async def moderate_review(
    ctx: Context, review_id: int | None, status: ReviewStatus, reason: str | None
) -> ReviewResult:
    """Staff only (the schema checks): set a review's status, with a reason for the author."""
    errors: list[UserError] = []
    cleaned_reason = _clean_multiline(reason, MAX_REASON_LENGTH) if reason is not None else ""
    if cleaned_reason is None:
        errors.append(
            user_error(
                ErrorCode.INVALID_INPUT,
                f"Reason must be at most {MAX_REASON_LENGTH} characters, "
                "without control characters.",
                "reason",
            )
        )
    elif not cleaned_reason and status is ReviewStatus.REJECTED:
        errors.append(
            user_error(
                ErrorCode.INVALID_INPUT,
                "Say why the review is rejected: its author sees it.",
                "reason",
            )
        )
    if review_id is None:
        errors.append(_not_found("id"))
    if errors or review_id is None:
        return ReviewResult(errors=errors)

    async with ctx.sessions() as session:
        review = await _locked_review(session, review_id)
        if review is None:
            return ReviewResult(errors=[_not_found("id")])
        review.status = status
        review.moderation_reason = cleaned_reason or None
        await session.flush()
        await session.refresh(review)
        await refresh_rating(session, review.product_id)
        await session.commit()
    return ReviewResult(review)


# --- lists --------------------------------------------------------------------------------


async def reviews_to_moderate(ctx: Context, args: PageArgs, status: ReviewStatus) -> Page[Review]:
    """Reviews in `status`, oldest first: the moderation queue (staff only, the schema checks)."""
    statement = select(Review).where(Review.status == status)
    return await paginate(ctx.readers, statement, OLDEST_REVIEWS, args)


async def my_reviews(ctx: Context, user: User, args: PageArgs) -> Page[Review]:
    """The caller's reviews whatever their status, newest first."""
    statement = select(Review).where(Review.user_id == user.id)
    return await paginate(ctx.readers, statement, NEWEST_REVIEWS, args)
