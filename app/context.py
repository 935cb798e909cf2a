"""Building a request's `Context` (`resolvers.context`): who is asking, from the bearer token."""

from __future__ import annotations

from resolvers.context import Context, Services
from resolvers.users.sessions import AuthFailure, authenticate
from resolvers.viewer import ANONYMOUS, Viewer


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header; "" for a header of another form."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def identify(services: Services, authorization: str | None) -> Viewer:
    """The viewer a request's Authorization header stands for (one SQL statement)."""
    token = bearer_token(authorization)
    if token is None:
        return ANONYMOUS
    try:
        user, session_id = await authenticate(services.readers, services.signer, token)
    except AuthFailure as failure:
        return Viewer(auth_error=str(failure))
    return Viewer(user, session_id)


async def build_context(
    services: Services,
    *,
    request_id: str,
    authorization: str | None,
    user_agent: str | None = None,
    client_ip: str | None = None,
    operation_name: str | None = None,
) -> Context:
    return Context(
        services=services,
        request_id=request_id,
        viewer=await identify(services, authorization),
        user_agent=user_agent[:512] if user_agent else None,
        client_ip=client_ip,
        operation_name=operation_name,
    )
