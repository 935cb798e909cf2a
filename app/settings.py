"""Configuration: one pydantic-settings class, read from the environment and an optional `.env`.

Every name here is documented in the README's configuration table. Production refuses to start
with a missing or weak secret; development generates one and keeps it under `.data/` so tokens
survive restarts.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import time
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.secret_strength import weakness_of

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_LENGTH = 32
# Pages of these origins may call the API in development (any port) when CORS_ORIGINS is unset.
DEVELOPMENT_CORS_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*")
_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}|\*))?")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "development"
    secret_key: SecretStr | None = None
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = PROJECT_ROOT / ".data"

    # PostgreSQL connections, per process
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)

    # Compiled queries: storefront reads answered by one SQL statement each (resolvers/compiler).
    compiled_queries: bool = True
    # The `x-catalog-path: compiled|executor` response header. Default: on in development,
    # off in production.
    answer_path_header: bool | None = None

    # HTTP surface
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    graphiql: bool | None = None  # default: on in development, off in production
    log_level: str = "INFO"
    # Origins whose pages may call the API from a browser (CORS). Default: none in
    # production; http://localhost and http://127.0.0.1 on any port in development.
    cors_origins: list[str] | None = None
    # Addresses of the reverse proxies whose X-Forwarded-For is believed (IPs or networks).
    trusted_proxies: list[str] = Field(default_factory=list)
    # Documents clients may send: "automatic" (any, with Apollo's automatic persisted
    # queries), "allowlist" (only those registered with `catalog documents register`; staff
    # may send any), "off" (any, no persisted queries).
    persisted_queries: Literal["automatic", "allowlist", "off"] = "automatic"
    apq_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    apq_max_entries: int = Field(default=10_000, ge=10)

    # Limits on a GraphQL document, checked before it runs
    max_document_length: int = Field(default=15_000, ge=100)
    max_query_depth: int = Field(default=10, ge=2)
    max_query_tokens: int = Field(default=1000, ge=50)
    max_aliases: int = Field(default=15, ge=0)
    max_directives: int = Field(default=10, ge=1)  # per position in the document
    max_query_cost: int = Field(default=5000, ge=1)
    document_cache_bytes: int = Field(default=16 * 1024 * 1024, ge=1024 * 1024)
    # Limits on running one
    execution_deadline_seconds: float = Field(default=10.0, gt=0)
    max_response_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Rate limit: a token bucket of query cost per user (per client address when anonymous),
    # shared by every process through Redis. Staff get `rate_limit_staff_factor` times more.
    rate_limit: bool = True
    rate_limit_burst: int = Field(default=20_000, ge=1)
    rate_limit_per_second: float = Field(default=200.0, gt=0)
    rate_limit_staff_factor: float = Field(default=10.0, ge=1)

    # Subscriptions (graphql-transport-ws on /graphql, see app/subscriptions.py)
    ws_max_connections: int = Field(default=5000, ge=1)  # per API process
    ws_max_subscriptions: int = Field(default=50, ge=1)  # per connection
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)  # one client message
    ws_keepalive_seconds: float = Field(default=15.0, gt=0)  # server pings this often
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0)  # for connection_init

    # Tokens
    jwt_issuer: str = "catalog-api"
    jwt_audience: str = "catalog-api"
    access_token_minutes: int = Field(default=15, ge=1, le=60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    password_reset_minutes: int = Field(default=60, ge=5, le=24 * 60)
    password_resets_per_hour: int = Field(default=3, ge=1)
    # A refresh token presented again within this many seconds of its use gets the same
    # successor (two tabs refreshing at once); after it, reuse ends the session.
    refresh_grace_seconds: int = Field(default=10, ge=0, le=120)
    # Failed sign-ins allowed per account (from addresses it has not signed in from before)
    # and per client address, within the window.
    login_failures_per_email: int = Field(default=10, ge=1)
    login_failures_per_address: int = Field(default=50, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    registrations_per_address_per_hour: int = Field(default=20, ge=1)

    # Email: SMTP when smtp_host is set. Without it, emails stay in the outbox table (read them
    # with `catalog outbox`): production refuses that unless MAIL_TRANSPORT=outbox says so.
    mail_transport: Literal["smtp", "outbox"] | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "Catalog <no-reply@catalog.local>"
    public_url: str = "http://127.0.0.1:8000"

    # Reviews: a new or edited review naming one of these (whole word, any case) waits for a
    # moderator instead of going live. A JSON list in the environment, e.g. '["spam", "casino"]'.
    review_banned_words: list[str] = Field(
        default_factory=lambda: ["viagra", "cialis", "casino", "porn", "xxx"]
    )

    # Checkout: shipping costs SHIPPING_FLAT_RATE per order, nothing from FREE_SHIPPING_OVER up
    # (amounts in the order's currency).
    shipping_flat_rate: Decimal = Field(
        default=Decimal("4.90"), ge=0, max_digits=12, decimal_places=2
    )
    free_shipping_over: Decimal = Field(
        default=Decimal("50.00"), ge=0, max_digits=12, decimal_places=2
    )
    # Jobs and files (README "Jobs"): uploads (multipart requests only; every other request
    # keeps MAX_BODY_BYTES), how long stored files are kept, and how jobs run.
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    file_retention_days: float = Field(default=7, gt=0)
    job_max_attempts: int = Field(default=5, ge=1, le=100)
    job_lease_seconds: float = Field(default=30, gt=0)
    job_heartbeat_seconds: float = Field(default=5, gt=0)
    job_retry_base_seconds: float = Field(default=5, ge=0)
    # Product import (README "Importing products"): product rows per file at most.
    max_import_rows: int = Field(default=1_000_000, ge=1)

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, value: list[str] | None) -> list[str] | None:
        for origin in value or []:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"CORS_ORIGINS: {origin!r} is not an origin such as https://shop.example.com "
                    "or http://localhost:* (scheme, host and optional port; no path, no slash)"
                )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                ) from None
        return [entry.strip() for entry in value]

    @model_validator(mode="after")
    def _refuse_unsafe_configuration(self) -> Settings:
        if self.mail_transport == "smtp" and not self.smtp_host:
            raise ValueError("MAIL_TRANSPORT=smtp needs SMTP_HOST")
        if self.environment != "production":
            return self
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if weakness := weakness_of(key, MIN_SECRET_LENGTH):
            raise ValueError(
                f"SECRET_KEY is refused in production: {weakness}; use a random string of at "
                f"least {MIN_SECRET_LENGTH} characters (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
        if not self.database_url or not self.redis_url:
            raise ValueError("DATABASE_URL and REDIS_URL must be set in production")
        if not self.smtp_host and self.mail_transport != "outbox":
            raise ValueError(
                "production needs a mail transport: set SMTP_HOST, or MAIL_TRANSPORT=outbox to "
                "keep emails (password reset links) in the outbox_emails table only"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def answer_path_header_enabled(self) -> bool:
        if self.answer_path_header is None:
            return not self.is_production
        return self.answer_path_header

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql

    @property
    def allowed_cors_origins(self) -> tuple[str, ...]:
        """CORS_ORIGINS, else none in production and the local origins in development."""
        if self.cors_origins is not None:
            return tuple(self.cors_origins)
        return () if self.is_production else DEVELOPMENT_CORS_ORIGINS

    @property
    def sends_smtp(self) -> bool:
        """Whether the worker delivers emails by SMTP (else they stay in the outbox table)."""
        return bool(self.smtp_host) and self.mail_transport != "outbox"

    @cached_property
    def signing_key(self) -> str:
        """The JWT key: the configured secret, else (development only) one kept under data_dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            # O_EXCL: of processes starting together (uvicorn workers), one writes the key and
            # every other reads that one, so all sign and verify with the same key.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):
                if stored := path.read_text().strip():
                    return stored
                time.sleep(0.01)  # the writer is between creating and writing the file
            raise RuntimeError(f"{path} is empty: delete it to make a new key") from None
        with os.fdopen(descriptor, "w") as file:
            file.write(key)
        return key


def get_settings() -> Settings:
    return Settings()
