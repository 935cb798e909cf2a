"""The GraphQL faces of `resolvers.errors`: the `ErrorCode` enum and the `UserError` type.

Resolvers return plain `resolvers.errors.UserError` values; these declarations only say how a
client sees them.
"""

from __future__ import annotations

import strawberry

from resolvers.errors import ErrorCode

ErrorCodeEnum = strawberry.enum(ErrorCode, description="Why a mutation refused its input.")


@strawberry.type(
    name="UserError", description="A problem with a mutation's input, to show beside the field."
)
class UserErrorType:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: ErrorCodeEnum  # type: ignore[valid-type]
    message: str
