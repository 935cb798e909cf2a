"""The per-request context: services, dataloaders and the caller resolved from their token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import strawberry
from arq.connections import ArqRedis

from app.settings import Settings
from db.session import SessionFactory
from db.users import User
from resolvers.auth import AuthFailure, authenticate
from resolvers.loaders import Loaders, create_loaders
from resolvers.tokens import TokenSigner
from schema.errors import Unauthenticated


@dataclass(frozen=True)
class Services:
    """Long-lived dependencies built once per process by the app's lifespan."""

    settings: Settings
    sessions: SessionFactory
    # Autocommit sessions for reads (lists, lookups, loaders): fewer round trips.
    readers: SessionFactory
    queue: ArqRedis
    signer: TokenSigner


@dataclass
class Context:
    services: Services
    request_id: str
    user_agent: str | None = None
    client_ip: str | None = None
    session_id: uuid.UUID | None = None
    auth_error: str | None = None
    # The `operationName` the client sent, if any (see schema.extensions.OperationChoice).
    operation_name: str | None = None
    # Set by register/login/refresh: the account this request just signed in as.
    signed_in_user_id: int | None = None
    _user: User | None = field(default=None, repr=False)
    loaders: Loaders = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Loaders read the viewer lazily: visibility rules depend on who is asking.
        self.loaders = create_loaders(self.services.readers, lambda: self.user)

    @property
    def user(self) -> User | None:
        """The caller; raises UNAUTHENTICATED if the request carried a bad token."""
        if self.auth_error is not None:
            raise Unauthenticated(self.auth_error)
        return self._user

    @property
    def sessions(self) -> SessionFactory:
        return self.services.sessions

    @property
    def readers(self) -> SessionFactory:
        return self.services.readers

    @property
    def settings(self) -> Settings:
        return self.services.settings


Info = strawberry.Info[Context, None]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; "" for a header of another form."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def build_context(
    services: Services,
    *,
    request_id: str,
    authorization: str | None,
    user_agent: str | None = None,
    client_ip: str | None = None,
) -> Context:
    context = Context(
        services=services,
        request_id=request_id,
        user_agent=user_agent[:512] if user_agent else None,
        client_ip=client_ip,
    )
    token = bearer_token(authorization)
    if token is None:
        return context
    try:
        user, session_id = await authenticate(services.readers, services.signer, token)
    except AuthFailure as failure:
        context.auth_error = str(failure)
        return context
    context._user = user
    context.session_id = session_id
    return context
