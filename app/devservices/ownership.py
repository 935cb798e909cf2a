"""Data dirs and who may act on them: the cross-process lock, and the servers this process
started, which it stops at interpreter exit (atexit; SIGTERM/SIGHUP are turned into a normal exit
when nothing else handles them).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Literal

from app.devservices.processes import logger

LOCK_FILE = ".devservices.lock"
LOCK_TIMEOUT = 120.0
# pg_ctl hands PGDATA and the log path to /bin/sh inside double quotes, so these would be
# interpreted by the shell instead of being part of the path.
SHELL_UNSAFE = frozenset('"$`\\\n')

Service = Literal["postgres", "redis"]

# Which servers this process started and must stop when it exits:
# (data dir, service) -> (pid of the process that started it, how to stop it).
_owned: dict[tuple[Path, Service], tuple[int, Callable[[Path], None]]] = {}
_owned_lock = threading.Lock()
_exit_hooks_installed = False


def claim(data_dir: Path, service: Service, stop: Callable[[Path], None]) -> None:
    """Make this process stop `service` at exit, with `stop(data_dir / service)`."""
    global _exit_hooks_installed
    with _owned_lock:
        # Keyed with the pid so that a fork()ed child, which inherits this dict and the atexit
        # hook, does not stop its parent's servers when it exits.
        _owned[(data_dir, service)] = (os.getpid(), stop)
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


def disown(data_dir: Path) -> None:
    """Forget that this process owns the servers of `data_dir` (someone stops them now)."""
    with _owned_lock:
        for service in ("postgres", "redis"):
            _owned.pop((data_dir, service), None)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _stop_owned() -> None:
    with _owned_lock:
        mine = [(key, stop) for key, (pid, stop) in _owned.items() if pid == os.getpid()]
        for key, _ in mine:
            del _owned[key]
    for (data_dir, service), stop in mine:
        try:
            with locked(data_dir):
                stop(data_dir / service)
        except Exception:
            logger.exception("could not stop embedded %s for %s", service, data_dir)


def prepare_data_dir(data_dir: Path) -> Path:
    data_dir = data_dir.expanduser().resolve()
    if set(str(data_dir)) & SHELL_UNSAFE:
        raise ValueError(f"data dir path must not contain any of {sorted(SHELL_UNSAFE)}")
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


@contextlib.contextmanager
def locked(data_dir: Path) -> Iterator[None]:
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
