"""The executor and the compiler read one mapping (resolvers.rows, resolvers.relations,
resolvers.compiler.mapping): every relation the compiler writes is one the loaders serve, by
the same columns, order and visibility; every visibility predicate the compiler writes is the
executor's rule rendered for a real viewer of the plan's role; field permissions are the
permission classes' own. No database: the loaders are
built (they load nothing until asked) and the rules rendered as text."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLField, GraphQLObjectType, GraphQLString
from sqlalchemy import inspect, literal_column
from sqlalchemy.dialects import postgresql

from db.catalog import ProductStatus
from db.reviews import ReviewStatus
from db.users import Role as UserRole
from db.users import User
from resolvers import rows
from resolvers.compiler import role_of
from resolvers.compiler.build import enum_name
from resolvers.compiler.mapping import TYPES, Role, TypeMap
from resolvers.compiler.permissions import STRAWBERRY_DEFINITION, permitted
from resolvers.compiler.predicates import count_sql, render, visible_sql
from resolvers.loaders import Loaders, create_loaders
from resolvers.nodes import LOADERS
from resolvers.relations import RELATIONS, Relation
from resolvers.viewer import ANONYMOUS, Viewer
from schema.root import schema


def loaders() -> Loaders:
    # The loaders open a session only when they load: no database is reached here.
    return create_loaders(None, ANONYMOUS)  # type: ignore[arg-type]


def compiled_relations() -> list[tuple[TypeMap, str, Relation]]:
    return [(m, name, r) for m in TYPES.values() for name, r in m.relations.items()]


def primary_key(model: type[Any]) -> list[str]:
    return [column.name for column in inspect(model).primary_key]


@pytest.mark.parametrize("relation", RELATIONS.values(), ids=lambda r: f"{r.owner}.{r.field}")
def test_every_relation_loads_through_a_loader_built_from_its_join(relation: Relation) -> None:
    join, loader = relation.join, relation.loader(loaders())
    assert relation.connection == join.connection
    if join.connection:
        assert loader.reads is join  # the first pages: its rows, columns and order
    else:
        # A to-one join: the by-id loader of its rows, so by their primary key.
        assert loader.reads is join.rows
        assert [rows.sql_column(join.target_column)] == primary_key(join.rows.model)
    assert join.target_column.class_ is join.rows.model


@pytest.mark.parametrize(
    ("owner", "name", "relation"),
    compiled_relations(),
    ids=[f"{owner.name}.{name}" for owner, name, _ in compiled_relations()],
)
def test_every_compiled_relation_is_the_executors(
    owner: TypeMap, name: str, relation: Relation
) -> None:
    assert RELATIONS[(owner.name, name)] is relation
    join = relation.join
    assert join.owner_column.class_ is owner.rows.model
    # The compiler reads the target as its TypeMap says: the table the loader reads.
    assert TYPES[relation.target].table == join.rows.table


def test_every_node_type_the_compiler_answers_reads_its_by_id_loaders_rows() -> None:
    built = loaders()
    asked: list[str] = []

    class Recording:
        """The context's loaders, noting which one `node` loads through (and loading none)."""

        def __getattr__(self, loader_name: str) -> Any:
            asked.append(loader_name)
            return type("Stub", (), {"load": staticmethod(lambda key: None)})

    class Context:
        loaders = Recording()

    compiled = [name for name in TYPES if name in LOADERS]
    assert compiled == ["Product", "Category", "Review"]
    for type_name in compiled:
        LOADERS[type_name](Context(), 1)  # type: ignore[arg-type]
        loader = getattr(built, asked[-1])
        assert loader.reads is TYPES[type_name].rows, type_name


def test_every_count_the_compiler_writes_is_its_loaders_statement() -> None:
    assert TYPES["Category"].counts == {"productCount": rows.products_below}
    assert loaders().product_count_by_category.reads is rows.products_below


@pytest.mark.parametrize("user_role", [None, *UserRole])
def test_a_compiled_count_is_the_loaders_statement_rendered(user_role: UserRole | None) -> None:
    the_viewer, user = viewer(user_role)
    role = role_of(the_viewer)
    assert role is not None
    compiled = count_sql(rows.products_below, role, "t3.id", lambda: "42")
    statement = rows.products_below(literal_column("t3.id"), user)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    rendered = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    assert compiled == "(" + rendered.replace(" \n", " ") + ")"
    assert ("status = 'published'" in compiled) == (role is not Role.STAFF)


def rows_the_compiler_reads() -> list[rows.Rows[Any]]:
    found = [m.rows for m in TYPES.values()]
    found += [r.join.rows for _, _, r in compiled_relations()]
    return list(dict.fromkeys(found))


def viewer(user_role: UserRole | None) -> tuple[Viewer, User | None]:
    if user_role is None:
        return ANONYMOUS, None
    user = User(id=42, role=user_role, name="A", email="a@example.com")
    return Viewer(signed_in=user), user


@pytest.mark.parametrize(
    "rows_",
    rows_the_compiler_reads(),
    ids=lambda r: f"{r.table}-{r.visible.__name__ if r.visible else 'all'}",
)
@pytest.mark.parametrize("user_role", [None, *UserRole])
def test_the_compilers_visibility_is_the_executors_rule_rendered(
    rows_: rows.Rows[Any], user_role: UserRole | None
) -> None:
    the_viewer, user = viewer(user_role)
    role = role_of(the_viewer)
    assert role is not None
    compiled = visible_sql(rows_, role, "t7", lambda: "42")
    executors = render(rows_, user)  # the loader's condition, with the viewer's id 42
    expected = "true" if executors is None else executors.replace("visible_row.", "t7.")
    assert compiled == expected


def test_a_rule_reading_the_viewer_asks_for_the_plans_parameter() -> None:
    asked: list[str] = []

    def parameter() -> str:
        asked.append("viewer")
        return "$3::bigint"

    listed = visible_sql(rows.LISTED_REVIEWS, Role.CUSTOMER, "t2", parameter)
    assert listed == "(t2.status = 'approved' OR t2.user_id = $3::bigint)"
    assert asked == ["viewer"]
    assert visible_sql(rows.PRODUCTS, Role.ANONYMOUS, "t1", parameter) == (
        "t1.status = 'published'"
    )
    assert visible_sql(rows.PRODUCTS, Role.STAFF, "t1", parameter) == "true"
    assert visible_sql(rows.CATEGORIES, Role.ANONYMOUS, "t1", parameter) == "true"
    assert asked == ["viewer"]


# --- field permissions ---------------------------------------------------------------------------


def field_definition(type_name: str, field_name: str) -> GraphQLField:
    object_type = schema._schema.get_type(type_name)
    assert isinstance(object_type, GraphQLObjectType)
    definition: GraphQLField = object_type.fields[field_name]
    return definition


@pytest.mark.parametrize("user_role", [None, *UserRole])
def test_a_role_class_holds_exactly_the_users_role_of_puts_in_it(
    user_role: UserRole | None,
) -> None:
    role = role_of(viewer(user_role)[0])
    assert role is not None
    members = role.members
    assert (user_role in members) if user_role is not None else not members


def test_a_staff_only_field_is_compiled_for_staff_only() -> None:
    stock = field_definition("Product", "stock")
    assert [permitted(stock, role) for role in Role] == [False, False, True]
    # Fields without permission classes: for everyone.
    assert all(permitted(field_definition("Product", "status"), role) for role in Role)


def test_a_permission_the_compiler_cannot_read_is_never_compiled() -> None:
    class Unknown:  # no `roles`: some other logic the executor runs
        pass

    admins_only = type("AdminsOnly", (), {"roles": frozenset({UserRole.ADMIN})})
    for classes in ([Unknown], [admins_only]):
        definition = GraphQLField(
            GraphQLString,
            extensions={STRAWBERRY_DEFINITION: type("F", (), {"permission_classes": classes})},
        )
        assert not any(permitted(definition, role) for role in Role)


@pytest.mark.parametrize(
    ("type_name", "enum", "stored"),
    [("ProductStatus", ProductStatus, "draft"), ("ReviewStatus", ReviewStatus, "pending")],
)
def test_an_enum_is_written_by_the_name_the_executor_writes(
    type_name: str, enum: type[Enum], stored: str
) -> None:
    enum_type = schema._schema.get_type(type_name)
    assert isinstance(enum_type, GraphQLEnumType)
    sql = enum_name(enum_type, "t1.status")
    for member in enum:
        assert f"WHEN '{member.value}' THEN '{enum_type.serialize(member)}'" in sql
    assert f"WHEN '{stored}' THEN" in sql
