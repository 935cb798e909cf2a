"""Embedded PostgreSQL/Redis (app.devservices): persistence, reuse across processes, ownership,
recovery after kill -9. Real servers, on a short /tmp dir (unix socket paths are limited)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.devservices import DevServices, fresh_database, start_dev_services, stop_dev_services

ROOT = Path(__file__).resolve().parent.parent

# A second process: start (or reuse) the services, print their URLs, then either exit at once or
# wait until its stdin closes (so the test decides when it exits, or signals it).
# The child takes SIGINT as a terminal's Ctrl-C would reach it, even when the suite itself was
# started in the background by a non-interactive shell (which makes children ignore SIGINT).
CHILD = """
import json, logging, signal, sys
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)
logging.basicConfig(level=logging.INFO, format="%(message)s")
from app.devservices import start_dev_services
services = start_dev_services(Path(sys.argv[1]))
print(json.dumps(services.__dict__), flush=True)
if sys.argv[2] == "wait":
    sys.stdin.read()
"""


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="devsvc-", dir="/tmp"))
    try:
        yield path
    finally:
        stop_dev_services(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def services(data_dir: Path) -> DevServices:
    # Whatever the previous test did (stop, kill), each test starts from running servers.
    return start_dev_services(data_dir)


def dsn(services: DevServices) -> str:
    return services.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def redis_client(services: DevServices) -> redis.Redis:
    return redis.Redis.from_url(services.redis_url, decode_responses=True, socket_timeout=5)


async def put_row(services: DevServices, value: str) -> None:
    conn = await asyncpg.connect(dsn(services))
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS marks (value text PRIMARY KEY)")
        await conn.execute("INSERT INTO marks VALUES ($1)", value)
    finally:
        await conn.close()


async def has_row(services: DevServices, value: str) -> bool:
    conn = await asyncpg.connect(dsn(services))
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM marks WHERE value = $1", value))
    finally:
        await conn.close()


async def postgres_up(services: DevServices) -> bool:
    try:
        conn = await asyncpg.connect(dsn(services), timeout=5)
    except OSError:
        return False
    await conn.close()
    return True


def redis_up(services: DevServices) -> bool:
    client = redis_client(services)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def child(data_dir: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), mode],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def unrelated_process() -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], text=True)


def child_services(proc: subprocess.Popen[str]) -> DevServices:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return DevServices(**json.loads(line))


def test_start_twice_in_one_process_returns_equal_urls(
    data_dir: Path, services: DevServices
) -> None:
    started = time.monotonic()
    again = start_dev_services(data_dir)
    assert time.monotonic() - started < 2
    assert again == services
    assert services.database_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    assert services.database_url.endswith("/catalog")
    assert services.redis_url.startswith("redis://127.0.0.1:")
    assert services.redis_url.endswith("/0")


async def test_servers_are_our_own_not_the_system_ones(
    data_dir: Path, services: DevServices
) -> None:
    assert ":5432/" not in services.database_url
    assert ":6379/" not in services.redis_url
    conn = await asyncpg.connect(dsn(services))
    try:
        assert await conn.fetchval("SHOW data_directory") == str(data_dir / "postgres")
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await conn.close()
    client = redis_client(services)
    try:
        config: Any = client.config_get("*")
        assert config["dir"] == str(data_dir / "redis")
        assert config["appendonly"] == "yes"
        assert config["bind"].split() == ["127.0.0.1"]
        assert config["protected-mode"] == "yes"
    finally:
        client.close()
    # The ports are persisted, so a later start (another process, a reboot) gets the same URLs.
    assert services.redis_url.endswith(
        f":{(data_dir / 'redis' / 'redis.port').read_text().strip()}/0"
    )
    assert f":{(data_dir / 'postgres.port').read_text().strip()}/" in services.database_url


async def test_database_url_works_with_sqlalchemy(services: DevServices) -> None:
    engine = create_async_engine(services.database_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT current_database()"))).scalar() == "catalog"
    finally:
        await engine.dispose()


async def test_data_survives_a_clean_restart(data_dir: Path, services: DevServices) -> None:
    mark = uuid.uuid4().hex
    await put_row(services, mark)
    redis_client(services).set("restart", mark)

    stop_dev_services(data_dir)
    assert not await postgres_up(services)
    assert not redis_up(services)
    assert not (data_dir / "redis" / "redis.pid").exists()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()

    started = time.monotonic()
    again = start_dev_services(data_dir)
    assert time.monotonic() - started < 2
    assert again == services
    assert await has_row(again, mark)
    assert redis_client(again).get("restart") == mark


async def test_second_process_reuses_the_servers_and_leaves_them_running(
    data_dir: Path, services: DevServices
) -> None:
    proc = child(data_dir, "exit")
    assert child_services(proc) == services
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "already running" in stderr
    assert "stopped" not in stderr
    assert await postgres_up(services)
    assert redis_up(services)


@pytest.mark.parametrize("how", ["exit", "SIGTERM", "SIGINT"])
async def test_the_process_that_started_the_servers_stops_them_when_it_ends(
    data_dir: Path, services: DevServices, how: str
) -> None:
    mark = uuid.uuid4().hex
    await put_row(services, mark)
    redis_client(services).set("owner", mark)
    stop_dev_services(data_dir)  # so that the child starts them, and owns them

    proc = child(data_dir, "wait")
    assert child_services(proc) == services
    assert await postgres_up(services)
    assert redis_up(services)
    if how == "exit":
        proc.communicate(timeout=30)
    else:
        proc.send_signal(getattr(signal, how))
        proc.communicate(timeout=30)
        # SIGTERM becomes SystemExit(143); SIGINT a KeyboardInterrupt: both run atexit.
        assert proc.returncode in (128 + signal.SIGTERM, -signal.SIGINT)

    assert not await postgres_up(services)
    assert not redis_up(services)
    again = start_dev_services(data_dir)
    assert again == services
    assert await has_row(again, mark)
    assert redis_client(again).get("owner") == mark


async def test_concurrent_starts_agree(data_dir: Path, services: DevServices) -> None:
    stop_dev_services(data_dir)
    procs = [child(data_dir, "exit") for _ in range(3)]
    for proc in procs:
        assert child_services(proc) == services
    for proc in procs:
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr


def port_open(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


async def test_redis_killed_with_sigkill_is_restarted_with_its_data(
    data_dir: Path, services: DevServices
) -> None:
    mark = uuid.uuid4().hex
    redis_client(services).set("crash", mark)
    pid_file = data_dir / "redis" / "redis.pid"
    pid = int(pid_file.read_text())

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not redis_up(services))
    assert pid_file.exists()  # stale: nobody removed it

    again = start_dev_services(data_dir)
    assert again == services
    assert int(pid_file.read_text()) != pid
    assert redis_client(again).get("crash") == mark


async def test_postgres_killed_with_sigkill_is_restarted_with_its_data(
    data_dir: Path, services: DevServices
) -> None:
    mark = uuid.uuid4().hex
    await put_row(services, mark)
    pid_file = data_dir / "postgres" / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0])

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not port_open(services.database_url))
    assert pid_file.exists()

    again = start_dev_services(data_dir)
    assert again == services
    assert int(pid_file.read_text().split()[0]) != pid
    assert await has_row(again, mark)


async def test_fresh_database_is_empty_and_can_use_the_search_extensions(
    services: DevServices,
) -> None:
    url = fresh_database(services, "catalog_fresh")
    assert url == services.database_url.rsplit("/", 1)[0] + "/catalog_fresh"
    fresh = DevServices(database_url=url, redis_url=services.redis_url)
    await put_row(fresh, "x")
    holder = await asyncpg.connect(dsn(fresh))  # WITH (FORCE) must get past open connections

    assert fresh_database(services, "catalog_fresh") == url
    assert holder.is_closed() or not await postgres_alive(holder)
    conn = await asyncpg.connect(dsn(fresh))
    try:
        assert await conn.fetchval("SELECT to_regclass('marks')") is None
        await conn.execute("CREATE EXTENSION pg_trgm")
        await conn.execute("CREATE EXTENSION unaccent")
        assert await conn.fetchval("SELECT unaccent('Crème brûlée')") == "Creme brulee"
        assert await conn.fetchval("SELECT similarity('catalog', 'catalogue')") > 0.5
    finally:
        await conn.close()


async def postgres_alive(conn: Any) -> bool:
    try:
        await conn.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return False
    return True


async def test_pid_files_naming_an_unrelated_live_process_are_ignored(
    data_dir: Path, services: DevServices
) -> None:
    # After a crash and a reboot the pid in a leftover pid file may belong to anything.
    mark = uuid.uuid4().hex
    await put_row(services, mark)
    stop_dev_services(data_dir)
    other = unrelated_process()
    try:
        pgdata = data_dir / "postgres"
        (data_dir / "redis" / "redis.pid").write_text(f"{other.pid}\n")
        (pgdata / "postmaster.pid").write_text(
            f"{other.pid}\n{pgdata}\n{int(time.time())}\n1\n\n127.0.0.1\n1 2\nready \n"
        )
        again = start_dev_services(data_dir)
        assert again == services
        assert await has_row(again, mark)
        assert int((data_dir / "redis" / "redis.pid").read_text()) != other.pid
        assert other.poll() is None  # and nobody killed it
    finally:
        other.kill()
        other.wait()
