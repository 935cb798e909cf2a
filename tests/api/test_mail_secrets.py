"""Secrets never reach a log: password reset links stay in the outbox table (or go by SMTP), in
every environment; production refuses to start without a mail transport it was told about.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from app.cli import main
from app.main import create_app
from app.settings import Settings
from app.worker import build_worker, mailer_from_settings
from db.emails import EmailStatus, OutboxEmail
from resolvers.context import Services
from tests.support.graphql import REGISTER, STRONG_PASSWORD, GraphQLClient

RESET_REQUEST = "mutation($e: String!) { requestPasswordReset(email: $e) { ok } }"
URLS = {"database_url": "postgresql://u@127.0.0.1:1/db", "redis_url": "redis://127.0.0.1:1/0"}


def environment_settings(settings: Settings, environment: str) -> Settings:
    assert settings.secret_key is not None
    return Settings(
        environment=environment,
        secret_key=settings.secret_key,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        data_dir=settings.data_dir,
        mail_transport="outbox" if environment == "production" else None,
        _env_file=None,
    )


async def reset_email(services: Services, to: str) -> OutboxEmail:
    async with services.sessions() as session:
        email = await session.scalar(
            select(OutboxEmail).where(
                OutboxEmail.to_address == to, OutboxEmail.kind == "password_reset"
            )
        )
    assert email is not None
    return email


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_reset_links_never_reach_the_log(
    settings: Settings,
    client: httpx.AsyncClient,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    environment: str,
) -> None:
    configured = environment_settings(settings, environment)
    application = create_app(configured)
    email = f"{environment}@example.com"
    caplog.set_level(logging.DEBUG)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            gql = GraphQLClient(http)
            await gql.data(
                REGISTER, {"input": {"email": email, "name": "N", "password": STRONG_PASSWORD}}
            )
            await gql.data(RESET_REQUEST, {"e": email})
    worker = build_worker(
        configured, burst=True, poll_delay=0.05, handle_signals=False, cron_jobs=[]
    )
    try:
        await worker.main()
    finally:
        await worker.close()

    sent = await reset_email(services, email)
    [token] = re.findall(r"code: (\S+)", sent.body)
    assert sent.status is EmailStatus.SENT
    assert sent.transport == "outbox"
    log = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert token not in log
    assert "reset-password" not in log
    assert sent.subject not in log
    # What the log does say: that the email was kept, and for whom.
    assert f"email #{sent.id} (password_reset) to {email} kept in the outbox table" in log


async def test_catalog_outbox_prints_the_latest_emails(
    settings: Settings,
    gql: GraphQLClient,
    services: Services,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    run_worker: Callable[[], Awaitable[int]],
) -> None:
    await gql.data(
        REGISTER, {"input": {"email": "o@example.com", "name": "O", "password": STRONG_PASSWORD}}
    )
    await gql.data(RESET_REQUEST, {"e": "o@example.com"})
    await run_worker()  # the worker looks the account up and writes the reset email
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    capsys.readouterr()

    code = await asyncio.to_thread(main, ["outbox", "--to", "O@example.com", "--limit", "1"])

    sent = await reset_email(services, "o@example.com")
    printed = capsys.readouterr().out
    assert code == 0
    assert f"#{sent.id} " in printed
    assert "password_reset to o@example.com" in printed
    assert sent.body.strip() in printed  # the link a developer follows
    assert "welcome" not in printed  # --limit 1: the latest only


def strong(**overrides: object) -> Settings:
    return Settings(
        environment="production",
        secret_key=SecretStr(secrets.token_urlsafe(48)),
        _env_file=None,
        **{**URLS, **overrides},  # type: ignore[arg-type]
    )


def test_production_refuses_to_start_without_a_mail_transport() -> None:
    with pytest.raises(ValidationError, match="SMTP_HOST, or MAIL_TRANSPORT=outbox"):
        strong()


def test_production_takes_smtp_or_the_outbox_table() -> None:
    assert strong(smtp_host="smtp.example.com").sends_smtp
    assert not strong(mail_transport="outbox").sends_smtp
    # MAIL_TRANSPORT=outbox wins over a configured SMTP server: the table is the transport.
    outbox = strong(mail_transport="outbox", smtp_host="smtp.example.com")
    assert mailer_from_settings(outbox).name == "outbox"
    assert mailer_from_settings(strong(smtp_host="smtp.example.com")).name == "smtp"


@pytest.mark.parametrize("environment", ["development", "production"])
def test_smtp_without_a_host_is_refused_everywhere(environment: str) -> None:
    with pytest.raises(ValidationError, match="MAIL_TRANSPORT=smtp needs SMTP_HOST"):
        Settings(
            environment=environment,
            secret_key=SecretStr(secrets.token_urlsafe(48)),
            mail_transport="smtp",
            _env_file=None,
            **URLS,  # type: ignore[arg-type]
        )


def test_the_command_line_refuses_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("DATABASE_URL", URLS["database_url"])
    monkeypatch.setenv("REDIS_URL", URLS["redis_url"])
    for name in ("SMTP_HOST", "MAIL_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)

    assert main(["worker", "--burst"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "configuration refused" in error
    assert "MAIL_TRANSPORT=outbox" in error


def test_a_weak_secret_is_refused_by_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "ab" * 20)
    monkeypatch.setenv("MAIL_TRANSPORT", "outbox")
    monkeypatch.setenv("DATABASE_URL", URLS["database_url"])
    monkeypatch.setenv("REDIS_URL", URLS["redis_url"])

    assert main(["serve", "--port", "1"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "SECRET_KEY is refused in production: it is too predictable" in error
    assert "ab" * 3 not in error  # the refused key is not echoed
