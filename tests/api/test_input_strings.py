"""Strings no store can take (NUL, lone surrogates) are BAD_USER_INPUT on every string argument
of the schema, as a variable and as a literal, with no traceback in the log.

The arguments are generated from the schema's introspection: every argument, and every field
of an input object or list inside one, whose type takes a string (String, ID and the custom
scalars). The characters travel as JSON escapes (`\\u0000`, `\\ud800`), the only way to send a
lone surrogate; a literal also gets NUL as a GraphQL escape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import introspection_from_schema
from starlette.applications import Starlette

from schema.root import schema
from tests.support.graphql import GRAPHQL_RESPONSE

INTROSPECTION: dict[str, Any] = dict(introspection_from_schema(schema._schema)["__schema"])
TYPES: dict[str, dict[str, Any]] = {t["name"]: dict(t) for t in INTROSPECTION["types"]}
NOT_STRINGS = {"Int", "Float", "Boolean"}
BAD = {"nul": "a\x00b", "surrogate": "a\ud800b"}
# The arguments the issue found failing with a 500 and a traceback.
REPORTED = {
    "query.product(slug)",
    "query.category(slug)",
    "query.users(search)",
    "mutation.login(input.email)",
    "mutation.login(input.password)",
}

TypeRef = dict[str, Any]
Path = tuple[str | int, ...]


class Enum(str):
    """An enum value: a bare name in a literal, a string in JSON."""


@dataclass(frozen=True)
class Target:
    root: str  # "query" or "mutation"
    field: dict[str, Any]
    argument: str
    path: Path  # inside the argument's value
    scalar: str

    @property
    def name(self) -> str:
        inner = ".".join(str(step) for step in (self.argument, *self.path))
        return f"{self.root}.{self.field['name']}({inner})"


def _named(ref: TypeRef) -> TypeRef:
    while ref["ofType"] is not None:
        ref = ref["ofType"]
    return ref


def _unwrap_non_null(ref: TypeRef) -> TypeRef:
    return ref["ofType"] if ref["kind"] == "NON_NULL" else ref


def _string_paths(ref: TypeRef, depth: int = 0) -> Iterator[tuple[Path, str]]:
    """(path, scalar) of every place inside a value of type `ref` that takes a string."""
    ref = _unwrap_non_null(ref)
    if ref["kind"] == "LIST":
        for path, scalar in _string_paths(ref["ofType"], depth + 1):
            yield (0, *path), scalar
    elif ref["kind"] == "SCALAR" and ref["name"] not in NOT_STRINGS:
        yield (), ref["name"]
    elif ref["kind"] == "INPUT_OBJECT" and depth < 5:
        for field in TYPES[ref["name"]]["inputFields"]:
            for path, scalar in _string_paths(field["type"], depth + 1):
                yield (field["name"], *path), scalar


def targets() -> list[Target]:
    found = []
    for root in ("query", "mutation"):
        root_type = TYPES[INTROSPECTION[f"{root}Type"]["name"]]
        for field in root_type["fields"]:
            for argument in field["args"]:
                for path, scalar in _string_paths(argument["type"]):
                    found.append(Target(root, field, argument["name"], path, scalar))
    return found


def placeholder(ref: TypeRef, path: Path | None, bad: str) -> Any:
    """A value of type `ref`: the bad string at `path` (None: nowhere), required parts filled."""
    ref = _unwrap_non_null(ref)
    if ref["kind"] == "LIST":
        return [placeholder(ref["ofType"], path[1:] if path else None, bad)]
    if ref["kind"] == "ENUM":
        return Enum(TYPES[ref["name"]]["enumValues"][0]["name"])
    if ref["kind"] == "INPUT_OBJECT":
        value = {}
        for field in TYPES[ref["name"]]["inputFields"]:
            on_path = path is not None and len(path) > 0 and path[0] == field["name"]
            required = field["type"]["kind"] == "NON_NULL" and field["defaultValue"] is None
            if on_path or required:
                value[field["name"]] = placeholder(
                    field["type"], path[1:] if on_path and path else None, bad
                )
        return value
    scalar = ref["name"]
    text = bad if path == () else "x"
    return {
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "Decimal": "1" if path != () else bad,
        "JSON": {"k": text},
    }.get(scalar, text)


def literal(value: Any, escape_nul: bool = False) -> str:
    """`value` as a GraphQL literal; strings keep their characters as they are (or NUL as the
    GraphQL escape `\\u0000`)."""
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + (quoted.replace("\x00", "\\u0000") if escape_nul else quoted) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(literal(item, escape_nul) for item in value) + "]"
    fields = ", ".join(f"{key}: {literal(item, escape_nul)}" for key, item in value.items())
    return "{" + fields + "}"


def _type_syntax(ref: TypeRef) -> str:
    if ref["kind"] == "NON_NULL":
        return _type_syntax(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return "[" + _type_syntax(ref["ofType"]) + "]"
    return str(ref["name"])


def _selection(field: dict[str, Any]) -> str:
    return " { __typename }" if _named(field["type"])["kind"] in ("OBJECT", "INTERFACE") else ""


def requests_for(target: Target, bad: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(form, document, variables) sending `bad` to the target as a variable and as literals."""
    field = target.field
    others = {
        a["name"]: placeholder(a["type"], None, bad)
        for a in field["args"]
        if a["name"] != target.argument and a["type"]["kind"] == "NON_NULL"
    }
    argument = next(a for a in field["args"] if a["name"] == target.argument)
    value = placeholder(argument["type"], target.path, bad)
    rest = "".join(f", {name}: {literal(v)}" for name, v in others.items())
    declared = _type_syntax(argument["type"])
    yield (
        "variable",
        f"{target.root} ($v: {declared}) {{ {field['name']}({target.argument}: $v{rest})"
        f"{_selection(field)} }}",
        {"v": json.loads(json.dumps(value))},
    )
    for form, escape in (("literal", False), ("graphql-escape", True)):
        if escape and "\x00" not in bad:
            continue  # a surrogate escape is a syntax error of its own
        yield (
            form,
            f"{target.root} {{ {field['name']}({target.argument}: {literal(value, escape)}{rest})"
            f"{_selection(field)} }}",
            {},
        )


TARGETS = targets()


def test_the_generated_arguments_cover_the_schema() -> None:
    names = {target.name for target in TARGETS}
    assert names >= REPORTED
    assert len(names) > 40
    assert {"JSON", "Decimal", "ID", "String"} <= {target.scalar for target in TARGETS}
    assert any(0 in target.path for target in TARGETS)  # inside lists too


@pytest.fixture(scope="module")
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    # Nothing runs for these requests: no need to empty the tables between them.
    transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("target", TARGETS, ids=[target.name for target in TARGETS])
async def test_unstorable_strings_are_bad_user_input(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, target: Target
) -> None:
    caplog.set_level(logging.INFO)
    for kind, bad in BAD.items():
        for form, document, variables in requests_for(target, bad):
            # ensure_ascii: the characters travel as JSON escapes.
            content = json.dumps({"query": document, "variables": variables}, ensure_ascii=True)
            response = await http.post(
                "/graphql",
                content=content,
                headers={"content-type": "application/json", "accept": GRAPHQL_RESPONSE},
            )
            body = response.json()
            where = (kind, form, document, variables)
            assert response.status_code == 400, (where, body)
            assert "data" not in body, (where, body)
            assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], (
                where,
                body,
            )
    assert "Traceback" not in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
