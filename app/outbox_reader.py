"""`catalog outbox`: the latest emails of the outbox table, where the mailer keeps them.

Without SMTP (development, MAIL_TRANSPORT=outbox) this is how a password reset link is read:
the worker's log never shows an email's body.
"""

from __future__ import annotations

from sqlalchemy import func, select

from db.emails import OutboxEmail
from db.session import create_engine, create_session_factory


async def latest_emails(database_url: str, *, limit: int, to: str | None = None) -> str:
    """The `limit` latest emails (to `to` only, when given), newest last, as text."""
    engine = create_engine(database_url, pool_size=2)
    try:
        async with create_session_factory(engine)() as session:
            query = select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(limit)
            if to:
                query = query.where(func.lower(OutboxEmail.to_address) == to.strip().lower())
            emails = list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()
    if not emails:
        return "no emails in the outbox"
    blocks = [
        f"#{email.id} {email.created_at:%Y-%m-%d %H:%M:%S %Z} {email.status.value} "
        f"{email.kind} to {email.to_address}\nSubject: {email.subject}\n\n{email.body.rstrip()}\n"
        for email in reversed(emails)
    ]
    return ("\n" + "-" * 72 + "\n").join(blocks)
