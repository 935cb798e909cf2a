"""`catalog serve --workers N`: one process accepts, and deals connections to the workers in turn.

uvicorn's own workers share the listening socket, and whichever wakes first accepts every
connection waiting: when 32 keep-alive clients connect at once, splits of 27/5 and 31/1 are
the rule (seen with `ss -tnp`), and the worker holding 31 is one core's worth of event loop
while the other idles, for as long as the connections live. The supervisor here accepts
instead (in a thread), and passes each connection's descriptor (SCM_RIGHTS over a Unix
socket) to the next worker in turn — Node's cluster module does the same on Linux for the
same reason. A worker registers once its app has started, so nothing is handed to a worker
that cannot answer; a worker that dies is replaced, and connections wait in the kernel's
backlog while no worker is registered. One hop per connection, none per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import selectors
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn

logger = logging.getLogger("uvicorn.error")

STARTUP_FAILURE = 3  # uvicorn's exit status when the app cannot start
ACCEPT_PAUSE_SECONDS = 0.1
REGISTER_SECONDS = 5.0
RESTART_PAUSE_SECONDS = 1.0  # between replacements of a worker that keeps dying
STOP_SECONDS = 15.0  # a worker's graceful shutdown, then it is killed


class Dispatcher:
    """Accepts clients on `listener` and worker channels on a Unix socket at `path`; hands
    each client to the registered workers in turn. Runs in its own thread (`run`)."""

    def __init__(self, listener: socket.socket, path: str) -> None:
        self.listener = listener
        self.listener.setblocking(False)
        self.registry = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.registry.bind(path)
        self.registry.listen(64)
        self.registry.setblocking(False)
        self.workers: list[socket.socket] = []
        self.ready: set[int] = set()  # pids of the workers that ever registered
        self.turn = 0
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.registry, selectors.EVENT_READ)
        self._wake_read, self._wake_write = socket.socketpair()
        self.selector.register(self._wake_read, selectors.EVENT_READ)
        self._listening = False

    def run(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self._wake_read:
                    return
                if key.fileobj is self.registry:
                    self._register()
                elif key.fileobj is self.listener:
                    self._accept_clients()
                else:  # a worker's channel is readable only when the worker went away
                    self._drop(key.fileobj)  # type: ignore[arg-type]

    def stop(self) -> None:
        self._wake_write.send(b"x")

    def _register(self) -> None:
        try:
            channel, _ = self.registry.accept()
        except OSError:
            return
        try:
            # A worker's first message is its pid (sent as soon as it has connected).
            channel.settimeout(REGISTER_SECONDS)
            pid = int(channel.recv(32))
        except (OSError, ValueError):
            channel.close()
            return
        self.ready.add(pid)
        channel.setblocking(False)
        self.workers.append(channel)
        self.selector.register(channel, selectors.EVENT_READ)
        if not self._listening:
            self.selector.register(self.listener, selectors.EVENT_READ)
            self._listening = True

    def _drop(self, channel: socket.socket) -> None:
        self.selector.unregister(channel)
        channel.close()
        self.workers.remove(channel)
        if not self.workers and self._listening:
            # Clients wait in the kernel's backlog until a worker registers again.
            self.selector.unregister(self.listener)
            self._listening = False

    def _accept_clients(self) -> None:
        while self.workers:
            try:
                client, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. out of descriptors: the client stays in the backlog
                logger.error("accepting a connection failed: %s", error)
                time.sleep(ACCEPT_PAUSE_SECONDS)  # rather than spin on the same failure
                return
            with client:
                self._hand(client)

    def _hand(self, client: socket.socket) -> None:
        for _ in range(len(self.workers)):
            channel = self.workers[self.turn % len(self.workers)]
            self.turn += 1
            try:
                socket.send_fds(channel, [b"c"], [client.fileno()])
            except BlockingIOError:
                continue  # that worker has a queue of connections it has not taken: the next
            except OSError:
                self._drop(channel)
                continue
            return
        logger.error("no worker could take a connection; it is closed")


class BalancedServer(uvicorn.Server):
    """A uvicorn worker that takes its connections from the dispatcher instead of a socket."""

    def __init__(self, config: uvicorn.Config, path: str) -> None:
        super().__init__(config)
        self.path = path

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        config, state = self.config, self.server_state

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state=self.lifespan.state, _loop=_loop
            )

        inbox = Inbox(asyncio.get_running_loop(), self.path, create_protocol, self._orphaned)
        self.servers = [inbox]  # type: ignore[list-item]  # what shutdown() closes and awaits
        self.started = True

    def _orphaned(self) -> None:
        logger.error("the dispatcher went away; this worker stops")
        self.should_exit = True


class Inbox:
    """A worker's end of its channel: adopts each connection the dispatcher sends."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        path: str,
        create_protocol: Callable[[], asyncio.Protocol],
        orphaned: Callable[[], None],
    ) -> None:
        self.loop = loop
        self.create_protocol = create_protocol
        self.orphaned = orphaned
        self.channel = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.channel.connect(path)
        self.channel.send(str(os.getpid()).encode())
        self.channel.setblocking(False)
        self.closed = False
        loop.add_reader(self.channel.fileno(), self._receive)

    def _receive(self) -> None:
        while not self.closed:
            try:
                data, fds, _, _ = socket.recv_fds(self.channel, 16, 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data and not fds:
                self.close()
                self.orphaned()
                return
            for fd in fds:
                self.loop.create_task(self._adopt(socket.socket(fileno=fd)))

    async def _adopt(self, client: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.create_protocol, client)
        except OSError:  # the client left before it was adopted
            client.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.channel.fileno())
            self.channel.close()

    async def wait_closed(self) -> None:
        return None


def _worker_main(config: uvicorn.Config, path: str) -> None:
    config.configure_logging()
    # The terminal's Ctrl-C reaches every process of the group: no traceback for it.
    with contextlib.suppress(KeyboardInterrupt):
        BalancedServer(config, path).run()


def serve_balanced(config: uvicorn.Config) -> int:
    """Run `config.workers` uvicorn workers behind one dispatcher until SIGINT or SIGTERM."""
    spawn = multiprocessing.get_context("spawn")
    listener = config.bind_socket()
    listener.listen(config.backlog)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    with tempfile.TemporaryDirectory(prefix="catalog-serve-") as directory:
        path = os.path.join(directory, "dispatch.sock")
        dispatcher = Dispatcher(listener, path)
        thread = threading.Thread(target=dispatcher.run, name="dispatcher", daemon=True)
        thread.start()

        def start() -> SpawnProcess:
            process = spawn.Process(target=_worker_main, args=(config, path), daemon=False)
            process.start()
            return process

        workers = [start() for _ in range(config.workers)]
        code = 0
        while not stop.wait(0.2):
            for i, process in enumerate(workers):
                if process.is_alive():
                    continue
                if process.pid not in dispatcher.ready:
                    # It would fail the same way again (the app does not import, a bad
                    # setting...): stop, as uvicorn does.
                    logger.error("a worker could not start (exit %s)", process.exitcode)
                    code = STARTUP_FAILURE
                    stop.set()
                    break
                logger.warning(
                    "worker %s exited (%s); starting another", process.pid, process.exitcode
                )
                time.sleep(RESTART_PAUSE_SECONDS)
                workers[i] = start()
        dispatcher.stop()
        thread.join()
        listener.close()
        for process in workers:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_SECONDS
        for process in workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
    return code
