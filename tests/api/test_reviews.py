"""Reviews over HTTP: writing, editing, deleting and moderating them, who sees which, and the
product rating, which must stay exact after every kind of write, concurrent ones included."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import text

from app.settings import Settings
from resolvers.context import Services
from resolvers.reviews.screening import (
    contains_banned_word,
    contains_link,
    is_shouting,
    moderation_hold,
)
from tests.support.catalog import Catalog, build_catalog
from tests.support.graphql import GraphQLClient, SignUp

ADD = """
mutation Add($input: AddReviewInput!) {
  addReview(input: $input) {
    review {
      id rating title body status moderationReason
      author { name }
      product { id }
    }
    errors { field code message }
  }
}
"""

UPDATE = """
mutation Update($id: ID!, $input: UpdateReviewInput!) {
  updateMyReview(id: $id, input: $input) {
    review { id rating title body status moderationReason }
    errors { field code message }
  }
}
"""

DELETE = """
mutation Delete($id: ID!) {
  deleteReview(id: $id) { deletedId errors { field code message } }
}
"""

MODERATE = """
mutation Moderate($id: ID!, $status: ReviewStatus!, $reason: String) {
  moderateReview(id: $id, status: $status, reason: $reason) {
    review { id status moderationReason }
    errors { field code message }
  }
}
"""

TO_MODERATE = """
query Queue($first: Int, $after: String, $status: ReviewStatus) {
  reviewsToModerate(first: $first, after: $after, status: $status) {
    totalCount
    edges { cursor node { id title status moderationReason product { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TO_MODERATE_DEFAULT = """
query Queue { reviewsToModerate { edges { node { id status } } } }
"""

MY_REVIEWS = """
query Mine($first: Int, $after: String) {
  myReviews(first: $first, after: $after) {
    totalCount
    edges { node { id title status moderationReason product { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

PRODUCT = """
query Product($id: ID!) {
  product(id: $id) {
    rating { average count histogram { stars count } }
    reviews(first: 100) {
      totalCount
      edges { node { id title status moderationReason author { name } } }
    }
  }
}
"""

NODE = "query Node($id: ID!) { node(id: $id) { id ... on Review { status } } }"

AUTHOR_EMAIL = """
query Product($id: ID!) {
  product(id: $id) { reviews { edges { node { author { name email } } } } }
}
"""

GOOD = {"rating": 4, "title": "Does the job", "body": "Solid and quiet."}


# --- helpers ------------------------------------------------------------------------------


def global_id(type_name: str, key: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def key_of(gid: str) -> int:
    return int(base64.urlsafe_b64decode(gid).decode().split(":", 1)[1])


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def error_pairs(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    assert all(error["message"] for error in payload["errors"]), payload
    return [(error["field"], error["code"]) for error in payload["errors"]]


@dataclass
class World:
    catalog: Catalog
    published: str  # global id of a published product (already reviewed by r0..r3)
    other: str  # another published product
    draft: str  # a draft product

    @property
    def published_key(self) -> int:
        return key_of(self.published)


@pytest.fixture
async def world(gql: GraphQLClient, services: Services) -> World:
    catalog = await build_catalog(services)
    products = catalog.products
    # build_catalog: every 6th product (index 0, 6) is a draft.
    return World(
        catalog,
        published=global_id("Product", products[1].id),
        other=global_id("Product", products[2].id),
        draft=global_id("Product", products[0].id),
    )


Customer = Callable[[], Awaitable[GraphQLClient]]


@pytest.fixture
def customer(gql: GraphQLClient, sign_up: SignUp) -> Customer:
    """A client signed in as a fresh customer (build_catalog's reviewers cannot sign in)."""

    async def create() -> GraphQLClient:
        return gql.as_user((await sign_up()).access_token)

    return create


async def add(client: GraphQLClient, product: str, **overrides: Any) -> dict[str, Any]:
    data = await client.data(ADD, {"input": {"productId": product, **GOOD, **overrides}})
    payload: dict[str, Any] = data["addReview"]
    return payload


async def add_ok(client: GraphQLClient, product: str, **overrides: Any) -> dict[str, Any]:
    payload = await add(client, product, **overrides)
    assert payload["errors"] == [], payload
    review: dict[str, Any] = payload["review"]
    return review


async def moderate(
    staff: GraphQLClient, review_id: str, status: str, reason: str | None = None
) -> dict[str, Any]:
    data = await staff.data(MODERATE, {"id": review_id, "status": status, "reason": reason})
    payload: dict[str, Any] = data["moderateReview"]
    return payload


async def sql_rating(services: Services, product_key: int) -> dict[str, Any]:
    """The aggregate recomputed from the reviews table, and what the product row stores."""
    async with services.sessions() as session:
        row = (
            await session.execute(
                text(
                    """
                    SELECT count(*) AS n, coalesce(sum(rating), 0) AS s,
                      count(*) FILTER (WHERE rating = 1) AS h1,
                      count(*) FILTER (WHERE rating = 2) AS h2,
                      count(*) FILTER (WHERE rating = 3) AS h3,
                      count(*) FILTER (WHERE rating = 4) AS h4,
                      count(*) FILTER (WHERE rating = 5) AS h5
                    FROM reviews WHERE product_id = :p AND status = 'approved'
                    """
                ),
                {"p": product_key},
            )
        ).one()
        stored = (
            await session.execute(
                text(
                    "SELECT rating_count, rating_sum, rating_average, rating_histogram "
                    "FROM products WHERE id = :p"
                ),
                {"p": product_key},
            )
        ).one()
    n, s = int(row.n), int(row.s)
    average = (Decimal(s) / n).quantize(Decimal("0.01"), ROUND_HALF_UP) if n else Decimal("0")
    return {
        "count": n,
        "sum": s,
        "average": average,
        "histogram": [int(row.h1), int(row.h2), int(row.h3), int(row.h4), int(row.h5)],
        "stored": (
            stored.rating_count,
            stored.rating_sum,
            stored.rating_average,
            list(stored.rating_histogram),
        ),
    }


async def assert_rating_exact(
    gql: GraphQLClient, services: Services, product: str
) -> dict[str, Any]:
    """`product { rating }` over HTTP equals a recomputation in SQL; returns the recomputation."""
    expected = await sql_rating(services, key_of(product))
    data = await gql.as_user(None).data(PRODUCT, {"id": product})
    rating = data["product"]["rating"]
    assert rating == {
        "average": float(expected["average"]),
        "count": expected["count"],
        "histogram": [
            {"stars": stars, "count": count}
            for stars, count in enumerate(expected["histogram"], start=1)
        ],
    }
    assert expected["stored"] == (
        expected["count"],
        expected["sum"],
        expected["average"],
        expected["histogram"],
    )
    return expected


async def public_review_ids(client: GraphQLClient, product: str) -> set[str]:
    """The ids of the reviews listed under the product for the client's user."""
    data = await client.data(PRODUCT, {"id": product})
    return {edge["node"]["id"] for edge in data["product"]["reviews"]["edges"]}


async def review_count(services: Services) -> int:
    async with services.sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM reviews"))).scalar_one())


# --- adding -------------------------------------------------------------------------------


async def test_add_review(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    before = await assert_rating_exact(gql, services, world.published)
    ann = await customer()
    review = await add_ok(
        ann, world.published, rating=5, title="  Great stand  ", body="\n Sturdy.\r\nRecommended. "
    )
    assert review == {
        "id": review["id"],
        "rating": 5,
        "title": "Great stand",
        "body": "Sturdy.\nRecommended.",
        "status": "APPROVED",
        "moderationReason": None,
        "author": {"name": "Test User"},
        "product": {"id": world.published},
    }
    after = await assert_rating_exact(gql, services, world.published)
    assert (after["count"], after["sum"]) == (before["count"] + 1, before["sum"] + 5)
    assert review["id"] in await public_review_ids(gql, world.published)


async def test_body_is_optional_and_limits_are_inclusive(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, world: World
) -> None:
    ann = await customer()
    data = await ann.data(
        'mutation($p: ID!) { addReview(input: {productId: $p, rating: 1, title: "Meh"}) '
        "{ review { body rating } errors { code } } }",
        {"p": world.published},
    )
    assert data["addReview"] == {"review": {"body": "", "rating": 1}, "errors": []}
    bob = await customer()
    review = await add_ok(bob, world.published, title="t" * 120, body="b" * 5000)
    assert (len(review["title"]), len(review["body"])) == (120, 5000)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"rating": 0}, [("rating", "INVALID_RATING")], id="rating-0"),
        pytest.param({"rating": 6}, [("rating", "INVALID_RATING")], id="rating-6"),
        pytest.param({"rating": -3}, [("rating", "INVALID_RATING")], id="rating-negative"),
        pytest.param({"title": ""}, [("title", "INVALID_INPUT")], id="title-empty"),
        pytest.param({"title": " \t "}, [("title", "INVALID_INPUT")], id="title-blank"),
        pytest.param({"title": "t" * 121}, [("title", "INVALID_INPUT")], id="title-too-long"),
        pytest.param({"title": "esc\x1b"}, [("title", "INVALID_INPUT")], id="title-control"),
        pytest.param({"title": "evil\u202etxt"}, [("title", "INVALID_INPUT")], id="title-bidi"),
        pytest.param({"body": "b" * 5001}, [("body", "INVALID_INPUT")], id="body-too-long"),
        pytest.param({"body": "bell\x07"}, [("body", "INVALID_INPUT")], id="body-control"),
        pytest.param(
            {"productId": global_id("Category", 1)}, [("productId", "NOT_FOUND")], id="other-type"
        ),
        pytest.param(
            {"productId": global_id("Product", 999999)},
            [("productId", "NOT_FOUND")],
            id="unknown-product",
        ),
        pytest.param({"productId": "DRAFT"}, [("productId", "NOT_FOUND")], id="draft-product"),
        pytest.param(
            {"rating": 9, "title": "", "body": "b" * 5001, "productId": global_id("User", 1)},
            [
                ("rating", "INVALID_RATING"),
                ("title", "INVALID_INPUT"),
                ("body", "INVALID_INPUT"),
                ("productId", "NOT_FOUND"),
            ],
            id="everything-wrong",
        ),
    ],
)
async def test_add_review_validation(
    gql: GraphQLClient,
    sign_up: SignUp,
    customer: Customer,
    services: Services,
    world: World,
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    if overrides.get("productId") == "DRAFT":
        overrides = {**overrides, "productId": world.draft}
    ann = await customer()
    before = await review_count(services)
    rating_before = await assert_rating_exact(gql, services, world.published)
    payload = await add(ann, world.published, **overrides)
    assert payload["review"] is None
    assert error_pairs(payload) == expected
    assert await review_count(services) == before
    assert await assert_rating_exact(gql, services, world.published) == rating_before


async def test_a_fractional_rating_is_refused_before_execution(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, world: World
) -> None:
    ann = await customer()
    body = await ann.post(ADD, {"input": {"productId": world.published, **GOOD, "rating": 4.5}})
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_one_review_per_product(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    ann = await customer()
    await add_ok(ann, world.published)
    again = await add(ann, world.published, rating=1, title="Changed my mind")
    assert again["review"] is None
    assert error_pairs(again) == [("productId", "ALREADY_REVIEWED")]
    # Other products are fine.
    await add_ok(ann, world.other)
    mine = (await ann.data(MY_REVIEWS))["myReviews"]
    assert mine["totalCount"] == 2
    await assert_rating_exact(gql, services, world.published)


async def test_concurrent_duplicate_reviews_have_one_winner(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    ann = await customer()
    before = await assert_rating_exact(gql, services, world.published)
    results = await asyncio.gather(
        *(add(ann, world.published, rating=1 + i % 5, title=f"Take {i}") for i in range(6))
    )
    winners = [r for r in results if r["review"] is not None]
    losers = [r for r in results if r["review"] is None]
    assert len(winners) == 1
    assert all(error_pairs(r) == [("productId", "ALREADY_REVIEWED")] for r in losers)
    assert (await ann.data(MY_REVIEWS))["myReviews"]["totalCount"] == 1
    after = await assert_rating_exact(gql, services, world.published)
    assert after["count"] == before["count"] + 1
    assert after["sum"] == before["sum"] + winners[0]["review"]["rating"]


async def test_concurrent_reviews_by_many_users_keep_the_rating_exact(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    before = await assert_rating_exact(gql, services, world.published)
    clients = [await customer() for _ in range(10)]
    ratings = [1 + i % 5 for i in range(len(clients))]
    results = await asyncio.gather(
        *(
            add(client, world.published, rating=rating, title=f"Reviewer {i}")
            for i, (client, rating) in enumerate(zip(clients, ratings, strict=True))
        )
    )
    assert all(r["errors"] == [] and r["review"]["status"] == "APPROVED" for r in results)
    after = await assert_rating_exact(gql, services, world.published)
    assert after["count"] == before["count"] + len(clients)
    assert after["sum"] == before["sum"] + sum(ratings)
    assert [a - b for a, b in zip(after["histogram"], before["histogram"], strict=True)] == [
        2,
        2,
        2,
        2,
        2,
    ]


async def test_concurrent_mixed_writes_keep_the_rating_exact(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    writers = [await customer() for _ in range(8)]
    reviews = [await add_ok(w, world.published, rating=3) for w in writers[:6]]
    held = await add_ok(writers[6], world.published, title="See www.example.com", rating=5)
    assert held["status"] == "PENDING"
    await asyncio.gather(
        writers[0].post(UPDATE, {"id": reviews[0]["id"], "input": {"rating": 5}}),
        writers[1].post(UPDATE, {"id": reviews[1]["id"], "input": {"rating": 1}}),
        writers[2].post(DELETE, {"id": reviews[2]["id"]}),
        staff.post(DELETE, {"id": reviews[3]["id"]}),
        staff.post(MODERATE, {"id": reviews[4]["id"], "status": "REJECTED", "reason": "Spam"}),
        staff.post(MODERATE, {"id": held["id"], "status": "APPROVED"}),
        writers[7].post(ADD, {"input": {"productId": world.published, **GOOD, "rating": 2}}),
        writers[5].post(UPDATE, {"id": reviews[5]["id"], "input": {"title": "SHOUTING LOUDLY"}}),
    )
    after = await assert_rating_exact(gql, services, world.published)
    statuses = {
        edge["node"]["id"]: edge["node"]["status"]
        for edge in (await staff.data(TO_MODERATE, {"status": "APPROVED", "first": 100}))[
            "reviewsToModerate"
        ]["edges"]
    }
    assert held["id"] in statuses
    assert reviews[4]["id"] not in statuses and reviews[5]["id"] not in statuses
    assert after["count"] == len(statuses.keys() & await public_review_ids(gql, world.published))


async def test_staff_cannot_write_reviews(
    gql: GraphQLClient, sign_up: SignUp, services: Services, world: World
) -> None:
    before = await review_count(services)
    for role in ("staff", "admin"):
        account = await sign_up(role=role)
        body = await gql.post(
            ADD, {"input": {"productId": world.published, **GOOD}}, token=account.access_token
        )
        assert codes(body) == ["FORBIDDEN"]
        assert "moderate" in body["errors"][0]["message"]
    assert await review_count(services) == before


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(ADD, {"input": {"productId": "x", **GOOD}}, id="addReview"),
        pytest.param(UPDATE, {"id": "x", "input": {"rating": 3}}, id="updateMyReview"),
        pytest.param(DELETE, {"id": "x"}, id="deleteReview"),
        pytest.param(MODERATE, {"id": "x", "status": "APPROVED"}, id="moderateReview"),
        pytest.param(TO_MODERATE, {}, id="reviewsToModerate"),
        pytest.param(MY_REVIEWS, {}, id="myReviews"),
    ],
)
async def test_anonymous_callers_must_sign_in(
    gql: GraphQLClient, query: str, variables: dict[str, Any]
) -> None:
    body = await gql.post(query, variables)
    assert codes(body) == ["UNAUTHENTICATED"]


async def test_author_exposes_name_only(gql: GraphQLClient, sign_up: SignUp, world: World) -> None:
    body = await gql.post(AUTHOR_EMAIL, {"id": world.published})
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert gql.last is not None and gql.last.status_code == 400
    assert "data" not in body
    data = await gql.data(PRODUCT, {"id": world.published})
    names = {edge["node"]["author"]["name"] for edge in data["product"]["reviews"]["edges"]}
    assert names == {"Reviewer 0", "Reviewer 2", "Reviewer 3"}


# --- the moderation heuristic -------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"body": "More at http://example.org/x"}, "link", id="http"),
        pytest.param({"body": "Buy at HTTPS://shop.example"}, "link", id="https"),
        pytest.param({"title": "Visit www.cheap-stands"}, "link", id="www"),
        pytest.param({"body": "Cheaper on example.com today"}, "link", id="bare-domain"),
        pytest.param({"body": "mail me: deals@stands.co.uk"}, "link", id="email-domain"),
        pytest.param({"title": "THIS IS THE BEST STAND EVER"}, "capitals", id="shouting-title"),
        pytest.param(
            {"body": "ABSOLUTELY TERRIBLE, do NOT BUY THIS!!!"}, "capitals", id="shouting-body"
        ),
        pytest.param({"body": "Better than any Casino night"}, "blocked word", id="banned"),
        pytest.param({"title": "VIAGRA"}, "blocked word", id="banned-upper"),
    ],
)
async def test_suspicious_reviews_are_held(
    gql: GraphQLClient,
    sign_up: SignUp,
    customer: Customer,
    services: Services,
    world: World,
    overrides: dict[str, Any],
    reason: str,
) -> None:
    before = await assert_rating_exact(gql, services, world.published)
    ann = await customer()
    review = await add_ok(ann, world.published, **overrides)
    assert review["status"] == "PENDING"
    assert reason in review["moderationReason"]
    # It does not count, and only its author sees it.
    assert await assert_rating_exact(gql, services, world.published) == before
    assert review["id"] not in await public_review_ids(gql, world.published)
    bob = await customer()
    assert review["id"] not in await public_review_ids(bob, world.published)
    assert (await gql.data(NODE, {"id": review["id"]}))["node"] is None
    author_view = await ann.data(PRODUCT, {"id": world.published})
    mine = [
        edge["node"]
        for edge in author_view["product"]["reviews"]["edges"]
        if edge["node"]["id"] == review["id"]
    ]
    assert mine == [
        {
            "id": review["id"],
            "title": review["title"],
            "status": "PENDING",
            "moderationReason": review["moderationReason"],
            "author": {"name": "Test User"},
        }
    ]
    my_reviews = (await ann.data(MY_REVIEWS))["myReviews"]["edges"]
    assert [(e["node"]["id"], e["node"]["status"]) for e in my_reviews] == [
        (review["id"], "PENDING")
    ]


@pytest.mark.parametrize(
    "content",
    [
        "Works great, e.g. for laptops.",
        "Fits the 3.5mm jack, v2.0 firmware.",
        "I.e. good value. Ends here.Good",
        "USB-C and HDMI ports, OK.",
        "Casinos and pornography are words that contain banned ones.",
        "Classification: excellent",
        "Made in the USA by ACME",
        "",
    ],
)
def test_ordinary_text_is_not_held(content: str) -> None:
    assert (
        moderation_hold("A fine stand", content, Settings(_env_file=None).review_banned_words)
        is None
    )


@pytest.mark.parametrize(
    ("text_", "link", "shouting"),
    [
        ("see https://x.io", True, False),
        ("go to Example.COM now", True, False),
        ("www.", True, False),
        ("example.comfortable", False, False),
        ("ABCDEFGHIJK!", False, False),  # 11 letters: too short to shout
        ("ABCDEFGHIJKL", False, True),
        ("ABCDEFGHIjkl", False, True),  # 9 of 12 = 75% upper
        ("ABCDEFGHijkl", False, False),  # 8 of 12 = 67% upper
        ("ÄÖÜÉÈÀÇÑØÅÆŒ", False, True),
        ("長い日本語のレビューです。とても良い商品", False, False),
    ],
)
def test_heuristic_rules(text_: str, link: bool, shouting: bool) -> None:
    assert contains_link(text_) is link
    assert is_shouting(text_) is shouting


def test_banned_words_match_whole_words_in_any_case() -> None:
    words = ["spam", "free money"]
    assert contains_banned_word("Total SPAM.", words)
    assert contains_banned_word("get Free  Money? no: free money!", words)
    assert not contains_banned_word("spammer", words)
    assert not contains_banned_word("antispam", words)
    assert not contains_banned_word("anything", [])
    assert not contains_banned_word("anything", ["", "  "])


def test_banned_words_are_configurable_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEW_BANNED_WORDS", '["knockoff", "fake brand"]')
    settings = Settings(_env_file=None)
    assert settings.review_banned_words == ["knockoff", "fake brand"]
    assert moderation_hold("A knockoff", "", settings.review_banned_words) is not None
    assert moderation_hold("A real brand", "", settings.review_banned_words) is None
    monkeypatch.delenv("REVIEW_BANNED_WORDS")
    assert "viagra" in Settings(_env_file=None).review_banned_words


# --- moderation ---------------------------------------------------------------------------


async def test_moderation_queue_and_approval(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    # build_catalog holds reviewer 1's review of every product as pending.
    seeded = (await staff.data(TO_MODERATE, {"first": 100}))["reviewsToModerate"]
    seeded_ids = [edge["node"]["id"] for edge in seeded["edges"]]
    assert seeded["totalCount"] == len(world.catalog.products)
    ann, bob = await customer(), await customer()
    first = await add_ok(ann, world.published, title="Look at www.example.com", rating=5)
    second = await add_ok(bob, world.published, title="ALL CAPS REVIEW HERE", rating=1)
    queue = (await staff.data(TO_MODERATE, {"first": 100}))["reviewsToModerate"]
    # Oldest first: the new ones come last.
    assert [edge["node"]["id"] for edge in queue["edges"]] == [
        *seeded_ids,
        first["id"],
        second["id"],
    ]
    assert queue["edges"][-1]["node"]["product"] == {"id": world.published}
    assert queue["edges"][-1]["node"]["moderationReason"].startswith("Held for moderation")
    default = (await staff.data(TO_MODERATE_DEFAULT))["reviewsToModerate"]["edges"]
    assert [edge["node"]["id"] for edge in default] == [
        edge["node"]["id"] for edge in queue["edges"]
    ][:20]
    # Pages: first 2, then the rest after the cursor.
    page = (await staff.data(TO_MODERATE, {"first": 2}))["reviewsToModerate"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await staff.data(TO_MODERATE, {"first": 100, "after": page["pageInfo"]["endCursor"]}))[
        "reviewsToModerate"
    ]
    assert [e["node"]["id"] for e in page["edges"] + rest["edges"]] == [
        e["node"]["id"] for e in queue["edges"]
    ]

    before = await assert_rating_exact(gql, services, world.published)
    approved = await moderate(staff, first["id"], "APPROVED")
    assert approved == {
        "review": {"id": first["id"], "status": "APPROVED", "moderationReason": None},
        "errors": [],
    }
    after = await assert_rating_exact(gql, services, world.published)
    assert (after["count"], after["sum"]) == (before["count"] + 1, before["sum"] + 5)
    assert first["id"] in await public_review_ids(gql, world.published)
    remaining = (await staff.data(TO_MODERATE, {"first": 100}))["reviewsToModerate"]["edges"]
    assert first["id"] not in {edge["node"]["id"] for edge in remaining}
    by_status = (await staff.data(TO_MODERATE, {"first": 100, "status": "APPROVED"}))[
        "reviewsToModerate"
    ]["edges"]
    assert first["id"] in {edge["node"]["id"] for edge in by_status}

    # Back to pending: it stops counting again.
    await moderate(staff, first["id"], "PENDING")
    assert await assert_rating_exact(gql, services, world.published) == before


async def test_rejection_needs_a_reason_the_author_can_read(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    staff_account = await sign_up(role="staff")
    staff = gql.as_user(staff_account.access_token)
    ann = await customer()
    review = await add_ok(ann, world.published, rating=1)
    before = await assert_rating_exact(gql, services, world.published)

    for reason in (None, "", "   "):
        refused = await moderate(staff, review["id"], "REJECTED", reason)
        assert refused["review"] is None
        assert error_pairs(refused) == [("reason", "INVALID_INPUT")]
    too_long = await moderate(staff, review["id"], "REJECTED", "r" * 501)
    assert error_pairs(too_long) == [("reason", "INVALID_INPUT")]
    assert await assert_rating_exact(gql, services, world.published) == before

    rejected = await moderate(staff, review["id"], "REJECTED", "  Off-topic: about shipping.  ")
    assert rejected["review"] == {
        "id": review["id"],
        "status": "REJECTED",
        "moderationReason": "Off-topic: about shipping.",
    }
    assert (await moderate(staff, review["id"], "REJECTED", "r" * 500))["errors"] == []
    after = await assert_rating_exact(gql, services, world.published)
    assert (after["count"], after["sum"]) == (before["count"] - 1, before["sum"] - 1)
    assert review["id"] not in await public_review_ids(gql, world.published)

    # Author and staff read the reason; another customer sees the review nowhere.
    mine = (await ann.data(MY_REVIEWS))["myReviews"]["edges"][0]["node"]
    assert (mine["status"], mine["moderationReason"]) == ("REJECTED", "r" * 500)
    bob = await customer()
    assert review["id"] not in await public_review_ids(bob, world.published)
    assert (await bob.data(NODE, {"id": review["id"]}))["node"] is None
    staff_view = (await staff.data(TO_MODERATE, {"status": "REJECTED"}))["reviewsToModerate"]
    assert staff_view["edges"][0]["node"]["moderationReason"] == "r" * 500


async def test_moderation_reason_is_hidden_from_other_customers(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, world: World
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    ann = await customer()
    review = await add_ok(ann, world.published)
    await moderate(staff, review["id"], "APPROVED", "Checked by hand.")
    bob = await customer()
    for viewer, expected in ((gql, None), (bob, None), (ann, "Checked by hand.")):
        data = await viewer.data(PRODUCT, {"id": world.published})
        reasons = {
            e["node"]["id"]: e["node"]["moderationReason"]
            for e in data["product"]["reviews"]["edges"]
        }
        assert reasons[review["id"]] == expected


@pytest.mark.parametrize(
    "bad_id",
    [global_id("Product", 1), global_id("Review", 999999), global_id("Review", "x")],
)
async def test_moderating_an_unknown_review_is_not_found(
    gql: GraphQLClient, sign_up: SignUp, world: World, bad_id: str
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    payload = await moderate(staff, bad_id, "APPROVED")
    assert payload["review"] is None
    assert error_pairs(payload) == [("id", "NOT_FOUND")]


async def test_customers_cannot_moderate(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    ann = await customer()
    review = await add_ok(ann, world.published, title="Go to www.example.com")
    body = await ann.post(MODERATE, {"id": review["id"], "status": "APPROVED"})
    assert codes(body) == ["FORBIDDEN"]
    assert codes(await ann.post(TO_MODERATE, {})) == ["FORBIDDEN"]
    mine = (await ann.data(MY_REVIEWS))["myReviews"]["edges"][0]["node"]
    assert mine["status"] == "PENDING"


# --- editing ------------------------------------------------------------------------------


async def test_edit_my_review(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    ann = await customer()
    review = await add_ok(ann, world.published, rating=2)
    before = await assert_rating_exact(gql, services, world.published)

    data = await ann.data(UPDATE, {"id": review["id"], "input": {"rating": 5}})
    assert data["updateMyReview"]["errors"] == []
    edited = data["updateMyReview"]["review"]
    assert (edited["rating"], edited["title"], edited["body"], edited["status"]) == (
        5,
        GOOD["title"],
        GOOD["body"],
        "APPROVED",
    )
    after = await assert_rating_exact(gql, services, world.published)
    assert (after["count"], after["sum"]) == (before["count"], before["sum"] + 3)

    data = await ann.data(
        UPDATE, {"id": review["id"], "input": {"title": " New title ", "body": ""}}
    )
    assert data["updateMyReview"]["review"]["title"] == "New title"
    assert data["updateMyReview"]["review"]["body"] == ""
    assert data["updateMyReview"]["review"]["rating"] == 5

    # Nothing to change: the review comes back as it is.
    data = await ann.data(UPDATE, {"id": review["id"], "input": {}})
    assert data["updateMyReview"]["review"]["title"] == "New title"
    await assert_rating_exact(gql, services, world.published)


async def test_an_edit_is_checked_again(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    ann = await customer()
    review = await add_ok(ann, world.published, rating=4)
    before = await assert_rating_exact(gql, services, world.published)

    held = (await ann.data(UPDATE, {"id": review["id"], "input": {"body": "see example.com"}}))[
        "updateMyReview"
    ]["review"]
    assert held["status"] == "PENDING" and "link" in held["moderationReason"]
    after = await assert_rating_exact(gql, services, world.published)
    assert (after["count"], after["sum"]) == (before["count"] - 1, before["sum"] - 4)
    assert review["id"] not in await public_review_ids(gql, world.published)

    cleaned = (await ann.data(UPDATE, {"id": review["id"], "input": {"body": "No link now."}}))[
        "updateMyReview"
    ]["review"]
    assert (cleaned["status"], cleaned["moderationReason"]) == ("APPROVED", None)
    assert await assert_rating_exact(gql, services, world.published) == before

    # A rejected review does not go live by being edited: it waits for a moderator again.
    await moderate(staff, review["id"], "REJECTED", "Not about the product.")
    requeued = (await ann.data(UPDATE, {"id": review["id"], "input": {"body": "About it."}}))[
        "updateMyReview"
    ]["review"]
    assert requeued["status"] == "PENDING"
    queue = (await staff.data(TO_MODERATE, {"first": 100}))["reviewsToModerate"]["edges"]
    assert review["id"] in {edge["node"]["id"] for edge in queue}
    after = await assert_rating_exact(gql, services, world.published)
    assert after["count"] == before["count"] - 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"rating": 0}, [("rating", "INVALID_RATING")], id="rating-0"),
        pytest.param({"rating": 6}, [("rating", "INVALID_RATING")], id="rating-6"),
        pytest.param({"title": ""}, [("title", "INVALID_INPUT")], id="title-empty"),
        pytest.param({"title": "   "}, [("title", "INVALID_INPUT")], id="title-blank"),
        pytest.param({"title": "x" * 121}, [("title", "INVALID_INPUT")], id="title-too-long"),
        pytest.param({"body": "x" * 5001}, [("body", "INVALID_INPUT")], id="body-too-long"),
        pytest.param(
            {"rating": 7, "title": "", "body": "\x1b[31m"},
            [("rating", "INVALID_RATING"), ("title", "INVALID_INPUT"), ("body", "INVALID_INPUT")],
            id="everything-wrong",
        ),
    ],
)
async def test_edit_validation(
    gql: GraphQLClient,
    sign_up: SignUp,
    customer: Customer,
    services: Services,
    world: World,
    change: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    ann = await customer()
    review = await add_ok(ann, world.published)
    before = await assert_rating_exact(gql, services, world.published)
    payload = (await ann.data(UPDATE, {"id": review["id"], "input": change}))["updateMyReview"]
    assert payload["review"] is None
    assert error_pairs(payload) == expected
    mine = (await ann.data(MY_REVIEWS))["myReviews"]["edges"][0]["node"]
    assert mine["title"] == GOOD["title"]
    assert await assert_rating_exact(gql, services, world.published) == before


async def test_only_the_author_edits_a_review(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    ann, bob = await customer(), await customer()
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    review = await add_ok(ann, world.published)
    for intruder in (bob, staff):
        payload = (await intruder.data(UPDATE, {"id": review["id"], "input": {"rating": 1}}))[
            "updateMyReview"
        ]
        assert payload["review"] is None
        assert error_pairs(payload) == [("id", "NOT_FOUND")]
    for bad_id in (global_id("Product", 1), global_id("Review", 10**9)):
        payload = (await ann.data(UPDATE, {"id": bad_id, "input": {"rating": 1}}))["updateMyReview"]
        assert error_pairs(payload) == [("id", "NOT_FOUND")]
    mine = (await ann.data(MY_REVIEWS))["myReviews"]["edges"][0]["node"]
    assert mine["id"] == review["id"]
    await assert_rating_exact(gql, services, world.published)


# --- deleting -----------------------------------------------------------------------------


async def test_delete_my_review(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    ann = await customer()
    before = await assert_rating_exact(gql, services, world.published)
    review = await add_ok(ann, world.published, rating=3)
    data = await ann.data(DELETE, {"id": review["id"]})
    assert data["deleteReview"] == {"deletedId": review["id"], "errors": []}
    assert await assert_rating_exact(gql, services, world.published) == before
    assert (await ann.data(MY_REVIEWS))["myReviews"]["totalCount"] == 0
    again = (await ann.data(DELETE, {"id": review["id"]}))["deleteReview"]
    assert again["deletedId"] is None
    assert error_pairs(again) == [("id", "NOT_FOUND")]
    # The slot is free again.
    await add_ok(ann, world.published)


async def test_deleting_someone_elses_review(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    ann, bob = await customer(), await customer()
    review = await add_ok(ann, world.published, rating=5)
    held = await add_ok(ann, world.other, title="Visit www.example.com")
    for target in (review["id"], held["id"]):
        refused = (await bob.data(DELETE, {"id": target}))["deleteReview"]
        assert refused["deletedId"] is None
        assert error_pairs(refused) == [("id", "NOT_FOUND")]
    assert (await ann.data(MY_REVIEWS))["myReviews"]["totalCount"] == 2

    before = await assert_rating_exact(gql, services, world.published)
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    for target in (review["id"], held["id"]):
        data = await staff.data(DELETE, {"id": target})
        assert data["deleteReview"] == {"deletedId": target, "errors": []}
    after = await assert_rating_exact(gql, services, world.published)
    assert (after["count"], after["sum"]) == (before["count"] - 1, before["sum"] - 5)
    await assert_rating_exact(gql, services, world.other)
    assert (await ann.data(MY_REVIEWS))["myReviews"]["totalCount"] == 0
    # Staff may also delete the seeded reviews of other customers.
    seeded = (await staff.data(TO_MODERATE, {"first": 1}))["reviewsToModerate"]["edges"][0]
    assert (await staff.data(DELETE, {"id": seeded["node"]["id"]}))["deleteReview"]["errors"] == []


async def test_deleting_every_review_zeroes_the_rating(
    gql: GraphQLClient, sign_up: SignUp, services: Services, world: World
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    async with services.sessions() as session:
        ids = (
            await session.execute(
                text("SELECT id FROM reviews WHERE product_id = :p"), {"p": world.published_key}
            )
        ).scalars()
        review_ids = [global_id("Review", key) for key in ids]
    assert review_ids
    for review_id in review_ids:
        assert (await staff.data(DELETE, {"id": review_id}))["deleteReview"]["errors"] == []
    rating = await assert_rating_exact(gql, services, world.published)
    assert (rating["count"], rating["sum"], rating["average"], rating["histogram"]) == (
        0,
        0,
        Decimal("0"),
        [0, 0, 0, 0, 0],
    )


async def test_average_is_rounded_to_two_places(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, services: Services, world: World
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    async with services.sessions() as session:
        ids = (
            await session.execute(
                text("SELECT id FROM reviews WHERE product_id = :p"), {"p": world.published_key}
            )
        ).scalars()
        review_ids = [global_id("Review", key) for key in ids]
    for review_id in review_ids:
        await staff.post(DELETE, {"id": review_id})
    for rating in (5, 4, 4):
        await add_ok(await customer(), world.published, rating=rating)
    data = await gql.data(PRODUCT, {"id": world.published})
    assert data["product"]["rating"]["average"] == 4.33
    await assert_rating_exact(gql, services, world.published)


# --- lists --------------------------------------------------------------------------------


async def test_my_reviews(
    gql: GraphQLClient, sign_up: SignUp, customer: Customer, world: World
) -> None:
    ann = await customer()
    first = await add_ok(ann, world.published)
    second = await add_ok(ann, world.other, body="Link: www.example.com")
    page = (await ann.data(MY_REVIEWS, {"first": 1}))["myReviews"]
    assert page["totalCount"] == 2
    assert [e["node"]["id"] for e in page["edges"]] == [second["id"]]  # newest first
    assert page["edges"][0]["node"]["status"] == "PENDING"
    assert page["edges"][0]["node"]["product"] == {"id": world.other}
    rest = (await ann.data(MY_REVIEWS, {"after": page["pageInfo"]["endCursor"]}))["myReviews"]
    assert [e["node"]["id"] for e in rest["edges"]] == [first["id"]]
    assert rest["pageInfo"]["hasNextPage"] is False
    bob = await customer()
    assert (await bob.data(MY_REVIEWS))["myReviews"]["totalCount"] == 0


@pytest.mark.parametrize("query", [TO_MODERATE, MY_REVIEWS])
async def test_review_lists_refuse_bad_page_arguments(
    gql: GraphQLClient, sign_up: SignUp, query: str
) -> None:
    staff = gql.as_user((await sign_up(role="staff")).access_token)
    assert codes(await staff.post(query, {"after": "%%%not-a-cursor"})) == ["BAD_USER_INPUT"]
    assert codes(await staff.post(query, {"first": 101})) == ["BAD_USER_INPUT"]
    assert codes(await staff.post(query, {"first": -1})) == ["BAD_USER_INPUT"]
