"""app/balancer.py: `catalog serve --workers N` deals connections to its workers in turn.

Real processes: the supervisor, its spawned uvicorn workers and real TCP clients."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

SUPERVISOR = """
import sys, uvicorn
from app.balancer import serve_balanced
app, port = sys.argv[1], int(sys.argv[2])
factory = app.endswith("broken")
config = uvicorn.Config(app, port=port, workers=2, log_level="warning", factory=factory)
sys.exit(serve_balanced(config))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(app: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, app, str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
    )


async def pid_over_new_connection(port: int) -> tuple[int, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.startswith(b"content-length")
    )
    return int(await reader.readexactly(length)), writer


async def pids_of(port: int, connections: int) -> Counter[int]:
    """Open `connections` at once (kept open until all answered): the worker of each."""
    answers = await asyncio.gather(*(pid_over_new_connection(port) for _ in range(connections)))
    for _, writer in answers:
        writer.close()
    return Counter(pid for pid, _ in answers)


def wait_until_serving(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(asyncio.run(pids_of(port, 4))) == 2:  # both workers have registered
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not answer")


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    supervisor = start("tests.support.pid_app:app", port)
    try:
        wait_until_serving(port)
        yield supervisor, port
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()


def test_connections_opened_at_once_are_dealt_evenly(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    _, port = served
    for _ in range(3):
        # uvicorn's shared socket gave 27/5 to 32/0 here: the first worker awake took them all.
        counts = asyncio.run(pids_of(port, 32))
        assert sorted(counts.values()) == [16, 16]


def dead(pid: int) -> bool:
    """Gone, or a zombie its parent has not reaped yet (its descriptors are closed)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_a_dead_workers_share_goes_to_the_others_until_it_is_replaced(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    _, port = served
    victim, survivor = asyncio.run(pids_of(port, 2))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not dead(victim):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    while True:
        counts = asyncio.run(pids_of(port, 8))  # every connection answered, meanwhile too
        assert sum(counts.values()) == 8 and victim not in counts
        if len(counts) == 2:
            break
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.2)
    assert survivor in counts


def test_sigterm_stops_the_workers_and_the_supervisor(
    served: tuple[subprocess.Popen[bytes], int],
) -> None:
    supervisor, port = served
    workers = set(asyncio.run(pids_of(port, 4)))
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_an_app_that_cannot_start_stops_the_supervisor_with_uvicorns_status() -> None:
    supervisor = start("tests.support.pid_app:broken", free_port())
    try:
        assert supervisor.wait(timeout=60) == 3
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
