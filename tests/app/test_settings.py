"""Settings: the development signing key, shared by every process that starts with it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.settings import Settings


def _key(data_dir: Path) -> str:
    return Settings(data_dir=data_dir, _env_file=None).signing_key


def test_development_key_is_made_once_and_kept(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(_key, [tmp_path] * 16))
    assert len(keys) == 1
    [key] = keys
    assert len(key) >= 48
    assert (tmp_path / "secret_key").read_text() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert _key(tmp_path) == key


def test_configured_secret_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="x" * 40, _env_file=None)
    assert settings.signing_key == "x" * 40
    assert not (tmp_path / "secret_key").exists()
