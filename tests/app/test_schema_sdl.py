"""schema.graphql is the exported SDL and must match the code."""

from __future__ import annotations

from app.cli import SCHEMA_PATH, main
from schema.root import schema


def test_schema_graphql_is_in_sync() -> None:
    assert SCHEMA_PATH.read_text() == schema.as_str() + "\n", "run `catalog export-schema`"


def test_export_schema_check_fails_when_stale(tmp_path: object) -> None:
    from pathlib import Path

    stale = Path(str(tmp_path)) / "schema.graphql"
    stale.write_text("type Query { stale: Int }\n")
    assert main(["export-schema", "--check", "--path", str(stale)]) == 1
    assert main(["export-schema", "--path", str(stale)]) == 0
    assert main(["export-schema", "--check", "--path", str(stale)]) == 0
