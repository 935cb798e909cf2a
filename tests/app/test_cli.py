"""The `catalog` command line: refusals are short messages and an exit code, not tracebacks."""

from __future__ import annotations

import pytest

from app.cli import main


def test_production_refuses_a_weak_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["serve", "--port", "1"]) == 2
    error = capsys.readouterr().err
    assert "configuration refused" in error
    assert "SECRET_KEY" in error
    assert "Traceback" not in error


def test_users_create_refuses_a_weak_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before any database is touched (the URLs point nowhere).
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    code = main(["users", "create", "--email", "a@example.com", "--password", "short"])
    assert code == 2
    assert "at least" in capsys.readouterr().err
