"""The embedded PostgreSQL server: start it on its PGDATA (or find it already running there),
stop it, and run SQL on it with the bundled psql.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from app.devservices.ownership import claim
from app.devservices.postgres_setup import PG_SUPERUSER, initdb, pg_install_dir, pg_os_user
from app.devservices.processes import (
    HOST,
    START_TIMEOUT,
    STOP_TIMEOUT,
    OsUser,
    choose_port,
    clean_env,
    logger,
    pid_alive,
    pid_state,
    process_uses_dir,
    rotate,
    run,
    size,
    tail,
)

# sockaddr_un.sun_path is 104 bytes on macOS, 108 on Linux.
MAX_SOCKET_PATH = 100
PG_PORT_FILE = "postgres.port"
PG_LOG_FILE = "postgres.log"


@dataclass(frozen=True)
class _Postmaster:
    """The parts of PGDATA/postmaster.pid we use (see PostgreSQL's pidfile.h)."""

    pid: int
    port: int | None
    listen_address: str
    status: str  # starting / ready / stopping / standby, or "" while being written


def ensure_postgres(data_dir: Path) -> int:
    pgdata = data_dir / "postgres"
    install = pg_install_dir()
    run_as = pg_os_user(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        initdb(install, pgdata, run_as)

    running = _read_postmaster(pgdata)
    if running is not None:
        state = pid_state(running.pid)
        if state == "alive":
            port = _await_running_postgres(pgdata, running)
            if port is not None:
                logger.info(
                    "embedded PostgreSQL already running at %s:%d (pid %d), reusing it",
                    HOST,
                    port,
                    running.pid,
                )
                return port
        elif state == "zombie":
            # Killed, but not yet reaped by pid 1 (in containers it may never be): PostgreSQL's
            # own stale-lock check uses kill(pid, 0), which succeeds on a zombie, so it would
            # refuse to start. The server is dead; its orphaned children, if any, are still
            # caught by PostgreSQL's shared memory interlock.
            logger.warning("removing lock files of dead (zombie) server pid %d", running.pid)
            _remove_pg_locks(pgdata, running.pid)

    port = choose_port(data_dir / PG_PORT_FILE, "PostgreSQL")
    _start_postgres(install, pgdata, port, run_as)
    claim(data_dir, "postgres", stop_postgres)
    return port


def _start_postgres(install: Path, pgdata: Path, port: int, run_as: OsUser | None) -> None:
    log = pgdata / PG_LOG_FILE
    rotate(log)
    socket_path = str(pgdata / f".s.PGSQL.{port}")
    # A unix socket next to the data is a nicety for psql (`psql -h .data/postgres -p PORT`);
    # TCP is what the app uses, so skip the socket when its path would be too long or would
    # need quoting (unix_socket_directories is a comma-separated list).
    socket_dir = (
        str(pgdata)
        if len(socket_path) <= MAX_SOCKET_PATH and not set(str(pgdata)) & set(", '")
        else ""
    )
    options = f"-c listen_addresses={HOST} -p {port} -k {shlex.quote(socket_dir)}"
    started = time.monotonic()
    command = [
        str(install / "bin" / "pg_ctl"),
        "-D",
        str(pgdata),
        "-l",
        str(log),
        "-o",
        options,
        "-w",
        "-t",
        str(int(START_TIMEOUT)),
        "start",
    ]
    deadline = started + START_TIMEOUT
    while True:
        log_offset = size(log)
        try:
            run(command, run_as=run_as, cwd=pgdata, timeout=START_TIMEOUT + 5, what="pg_ctl start")
            break
        except RuntimeError as error:
            # After a kill -9 the old server's children may still hold its shared memory for a
            # moment; PostgreSQL then refuses to start (rightly). They exit on their own soon.
            if time.monotonic() < deadline and "still in use" in tail(log, since=log_offset):
                time.sleep(0.5)
                continue
            raise RuntimeError(f"{error}\n--- {log} ---\n{tail(log)}") from None
    logger.info(
        "embedded PostgreSQL ready at %s:%d (data %s, started in %.2fs)",
        HOST,
        port,
        pgdata,
        time.monotonic() - started,
    )


def _await_running_postgres(pgdata: Path, found: _Postmaster) -> int | None:
    """Port of the live server `found` for `pgdata`, once ready; None if it is not one (stale)."""
    if process_uses_dir(found.pid, pgdata, str(pgdata)) is False:
        # postmaster.pid names a pid that now belongs to an unrelated process (pid reuse after
        # a crash and reboot): PostgreSQL would refuse to start because of it, so drop it. A
        # dead pid needs nothing: PostgreSQL itself replaces that lock file safely.
        logger.warning(
            "removing stale %s (pid %d is not its server)", pgdata / "postmaster.pid", found.pid
        )
        _remove_pg_locks(pgdata, found.pid)
        return None
    deadline = time.monotonic() + START_TIMEOUT
    current: _Postmaster | None = found
    while current is not None and pid_alive(current.pid):
        if current.status == "ready" and current.port is not None:
            if HOST not in current.listen_address.split() and current.listen_address != "*":
                raise RuntimeError(
                    f"a PostgreSQL server (pid {current.pid}) runs on {pgdata} without "
                    f"listening on {HOST}; it was not started by this module, stop it first"
                )
            served = psql(current.port, "SELECT current_setting('data_directory')").strip()
            if Path(served).resolve() != pgdata:
                raise RuntimeError(f"port {current.port} serves {served}, not {pgdata}")
            return current.port
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"PostgreSQL (pid {current.pid}) on {pgdata} stays {current.status!r}; "
                f"see {pgdata / PG_LOG_FILE}"
            )
        time.sleep(0.1)
        current = _read_postmaster(pgdata)
    return None  # it was shutting down and is now gone


def stop_postgres(pgdata: Path) -> None:
    running = _read_postmaster(pgdata)
    if running is None or not pid_alive(running.pid):
        return
    if process_uses_dir(running.pid, pgdata, str(pgdata)) is False:
        return  # stale postmaster.pid; nothing of ours runs
    started = time.monotonic()
    run(
        [
            str(pg_install_dir() / "bin" / "pg_ctl"),
            "-D",
            str(pgdata),
            "-m",
            "fast",  # disconnect clients, then a clean shutdown checkpoint
            "-w",
            "-t",
            str(int(STOP_TIMEOUT)),
            "stop",
        ],
        run_as=pg_os_user(pgdata),
        cwd=pgdata,
        timeout=STOP_TIMEOUT + 5,
        what="pg_ctl stop",
    )
    logger.info("stopped embedded PostgreSQL for %s (%.2fs)", pgdata, time.monotonic() - started)


def _remove_pg_locks(pgdata: Path, pid: int) -> None:
    """Remove the lock files (postmaster.pid and the socket's) that name dead server `pid`."""
    for lock in (pgdata / "postmaster.pid", *pgdata.glob(".s.PGSQL.*.lock")):
        if _read_int_line(lock) == pid:
            lock.unlink(missing_ok=True)


def _read_int_line(path: Path) -> int | None:
    """The number on the first line of `path` (PostgreSQL lock files start with the pid)."""
    try:
        return int(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _read_postmaster(pgdata: Path) -> _Postmaster | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None  # being written right now

    def line(index: int) -> str:
        return lines[index].strip() if len(lines) > index else ""

    return _Postmaster(
        pid=pid,
        port=int(line(3)) if line(3).isdigit() else None,
        listen_address=line(5),
        status=line(7),
    )


def psql(port: int, script: str, *, variables: Mapping[str, str] | None = None) -> str:
    """Run `script` with the bundled psql as the superuser against database `postgres`."""
    command = [
        str(pg_install_dir() / "bin" / "psql"),
        "-X",  # no ~/.psqlrc
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        HOST,
        "-p",
        str(port),
        "-U",
        PG_SUPERUSER,
        "-d",
        "postgres",
    ]
    # Values go in as psql variables and are quoted by psql (:'v' literal, :"v" identifier).
    for key, value in (variables or {}).items():
        command += ["-v", f"{key}={value}"]
    env = clean_env()
    env.update(
        PGCONNECT_TIMEOUT="5",
        # Neither is configured on our server: skip the negotiation round trips.
        PGSSLMODE="disable",
        PGGSSENCMODE="disable",
        PGOPTIONS="-c client_min_messages=warning",
    )
    result = subprocess.run(  # noqa: S603 - our binary; values are passed as psql variables
        command,
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql on port {port} failed: {result.stderr.strip()}")
    return result.stdout


def database_url(port: int, database: str) -> str:
    return f"postgresql+asyncpg://{PG_SUPERUSER}@{HOST}:{port}/{quote(database, safe='')}"
