"""Demo data for `make dev`, and account creation for `catalog users create`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from app.settings import Settings
from db.session import create_engine, create_session_factory
from db.users import Role, User, by_email
from resolvers.users.accounts import check_new_account, insert_account
from resolvers.users.passwords import hash_password

DEMO_ADMIN_EMAIL = "admin@example.com"


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


async def create_user(
    settings: Settings, email: str, name: str | None, password: str, role: str
) -> int:
    """Create an account with the checks registration applies; ValueError with a readable
    reason when the input is refused."""
    account = check_new_account(email, name or email.split("@")[0], password)
    if isinstance(account, list):
        raise ValueError("; ".join(error.message for error in account))
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        async with create_session_factory(engine)() as session:
            user = await insert_account(session, account, Role(role))
            if user is None:
                raise ValueError(f"{account.email} is already registered")
            await session.commit()
            return user.id
    finally:
        await engine.dispose()


async def seed_demo(settings: Settings) -> Credentials:
    """Create the demo admin once; its password is kept under .data/ so it can be shown again."""
    path = settings.data_dir / "demo-admin-password"
    if path.exists():
        return Credentials(DEMO_ADMIN_EMAIL, path.read_text().strip())
    password = secrets.token_urlsafe(12)
    try:
        await create_user(settings, DEMO_ADMIN_EMAIL, "Demo Admin", password, "admin")
    except ValueError:
        # The admin exists but its password file is gone: reset it so it can be printed.
        password = await _reset_password(settings, DEMO_ADMIN_EMAIL, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password)
    path.chmod(0o600)
    return Credentials(DEMO_ADMIN_EMAIL, password)


async def _reset_password(settings: Settings, email: str, password: str) -> str:
    assert settings.database_url is not None
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        async with create_session_factory(engine)() as session:
            user = (await session.execute(select(User).where(by_email(email)))).scalar_one()
            user.password_hash = await hash_password(password)
            await session.commit()
    finally:
        await engine.dispose()
    return password
