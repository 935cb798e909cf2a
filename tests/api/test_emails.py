"""Email delivery: the outbox row, the arq job through Redis, retries and the lost-job sweep."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq import Retry
from sqlalchemy import select, text

from app.main import create_app
from app.settings import Settings
from db.emails import EmailStatus, OutboxEmail
from db.users import User
from resolvers.context import Services
from tests.support.graphql import REGISTER, STRONG_PASSWORD, GraphQLClient
from workers import emails
from workers.mailer import LogMailer, SmtpMailer
from workers.outbox import send_email_job_id

RunWorker = Callable[[], Awaitable[int]]


async def outbox(services: Services) -> list[OutboxEmail]:
    async with services.sessions() as session:
        rows = await session.execute(select(OutboxEmail).order_by(OutboxEmail.id))
        return list(rows.scalars().all())


@pytest.fixture
async def job_ctx(services: Services) -> dict[str, Any]:
    return {"sessions": services.sessions, "mailer": LogMailer(), "redis": services.redis}


async def test_registration_enqueues_a_welcome_email_the_worker_sends(
    gql: GraphQLClient, services: Services, run_worker: RunWorker, caplog: pytest.LogCaptureFixture
) -> None:
    await gql.data(
        REGISTER, {"input": {"email": "w@example.com", "name": "W", "password": STRONG_PASSWORD}}
    )
    [email] = await outbox(services)
    assert (email.kind, email.status) == ("welcome", EmailStatus.PENDING)
    assert await services.redis.exists(f"arq:job:{send_email_job_id(email.id)}")

    with caplog.at_level(logging.INFO, logger="catalog.mailer"):
        assert await run_worker() == 1
    [email] = await outbox(services)
    assert (email.status, email.transport, email.attempts) == (EmailStatus.SENT, "outbox", 1)
    assert email.sent_at is not None
    assert any("w@example.com" in record.getMessage() for record in caplog.records)


async def test_send_email_is_idempotent(
    gql: GraphQLClient, services: Services, job_ctx: dict[str, Any]
) -> None:
    await gql.data(
        REGISTER, {"input": {"email": "i@example.com", "name": "I", "password": STRONG_PASSWORD}}
    )
    [email] = await outbox(services)
    assert await emails.send_email(job_ctx, email.id) == "sent"
    assert await emails.send_email(job_ctx, email.id) == "already sent"
    assert await emails.send_email(job_ctx, 999_999) == "missing or being sent by another worker"
    [email] = await outbox(services)
    assert email.attempts == 1


async def test_transient_smtp_failures_retry_then_give_up(
    gql: GraphQLClient, services: Services, job_ctx: dict[str, Any]
) -> None:
    await gql.data(
        REGISTER, {"input": {"email": "f@example.com", "name": "F", "password": STRONG_PASSWORD}}
    )
    [email] = await outbox(services)
    # A real SMTP client against a port where nothing listens: connection refused.
    job_ctx["mailer"] = SmtpMailer(host="127.0.0.1", port=9, sender="a@example.com", timeout=2)
    for attempt in range(1, emails.MAX_ATTEMPTS):
        with pytest.raises(Retry):
            await emails.send_email(job_ctx, email.id)
        [row] = await outbox(services)
        assert (row.status, row.attempts) == (EmailStatus.PENDING, attempt)
        assert row.last_error and "Connection" in row.last_error
    assert await emails.send_email(job_ctx, email.id) == "failed"
    [row] = await outbox(services)
    assert (row.status, row.attempts) == (EmailStatus.FAILED, emails.MAX_ATTEMPTS)


async def test_email_promised_during_a_redis_outage_is_delivered_later(
    settings: Settings,
    services: Services,
    gql: GraphQLClient,
    job_ctx: dict[str, Any],
    run_worker: RunWorker,
) -> None:
    # An API process whose Redis is unreachable still registers users and keeps the email.
    down = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"}))
    async with down.router.lifespan_context(down):
        transport = httpx.ASGITransport(app=down)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            data = await GraphQLClient(http).data(
                REGISTER,
                {"input": {"email": "o@example.com", "name": "O", "password": STRONG_PASSWORD}},
            )
    assert data["register"]["errors"] == []
    [email] = await outbox(services)
    assert email.status is EmailStatus.PENDING
    assert not await services.redis.exists(f"arq:job:{send_email_job_id(email.id)}")

    # Too fresh for the sweep (its job may still be on its way), then old enough.
    assert await emails.sweep_outbox(job_ctx) == 0
    async with services.sessions() as session:
        await session.execute(
            text("UPDATE outbox_emails SET created_at = created_at - CAST(:age AS interval)"),
            {"age": emails.SWEEP_AFTER + timedelta(seconds=1)},
        )
        await session.commit()
    assert await emails.sweep_outbox(job_ctx) == 1
    assert await run_worker() == 1
    [email] = await outbox(services)
    assert email.status is EmailStatus.SENT
    async with services.sessions() as session:
        assert await session.scalar(select(User.email)) == "o@example.com"
