"""Field permissions in a plan, from the permission classes the executor runs.

A field with permission classes (Strawberry's `permission_classes`, read from the schema) is
compiled for a role class only when every class declares the user roles it lets through
(`roles`, as `schema.permissions.IsStaff` does) and every viewer of the role class is one of
them: the executor would then run the resolver for each of them. Otherwise (anonymous or
forbidden viewers, whose answer is an error, or a class with other logic) the operation goes
to the executor, which answers as always.
"""

from __future__ import annotations

from graphql import GraphQLField

from resolvers.compiler.mapping import Role

# Where Strawberry keeps its own definition of a GraphQL field.
STRAWBERRY_DEFINITION = "strawberry-definition"


def permitted(definition: GraphQLField, role: Role) -> bool:
    """Whether every viewer of `role` passes the field's permission classes."""
    field = (definition.extensions or {}).get(STRAWBERRY_DEFINITION)
    members = role.members
    for permission in getattr(field, "permission_classes", None) or ():
        roles = getattr(permission, "roles", None)
        if not isinstance(roles, frozenset) or not members or not members <= roles:
            return False
    return True
