"""Shared plumbing for the HTTP emulators: a loopback aiohttp server and fault queues."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    """One planned misbehaviour for requests whose route ends with `suffix`."""

    suffix: str
    times: int
    status: int = 0
    delay: float = 0.0
    retry_after: int | None = None
    description: str | None = None
    body: Any = None
    # Only requests whose parameters this accepts match (None: every request on the route).
    when: Callable[[dict[str, Any]], bool] | None = None


class FaultQueue:
    """Planned faults, consumed in the order they were added."""

    def __init__(self) -> None:
        """Start with no faults planned."""
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Plan a fault for the next `fault.times` matching requests."""
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(fault)

    def take(
        self, route: str, *, delays: bool, params: dict[str, Any] | None = None
    ) -> Fault | None:
        """Consume one use of the first matching fault (a delay or a failure)."""
        for fault in self._faults:
            if (fault.delay > 0) != delays or not route.endswith(fault.suffix):
                continue
            if fault.when is None or fault.when(params or {}):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Forget every planned fault."""
        self._faults.clear()


class LoopbackServer:
    """An aiohttp application served on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        """Prepare the server; nothing listens until `start`."""
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def root(self) -> str:
        """The server's root URL, e.g. http://127.0.0.1:PORT."""
        if not self.port:
            raise RuntimeError("emulator is not started")
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        """Return the application to serve; subclasses add their routes."""
        raise NotImplementedError

    async def start(self) -> None:
        """Bind a free loopback port and start serving."""
        # Binding the socket ourselves gives the port before the server starts, with no race.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop serving and release the port."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LoopbackServer:
        """Start the server for an `async with` block."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server at the end of an `async with` block."""
        await self.stop()


async def wait_until(
    predicate: Callable[[], bool], within: float, describe: Callable[[], str]
) -> None:
    """Poll `predicate` until true; raise AssertionError with `describe()` on timeout."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {within} s\n{describe()}")
        await asyncio.sleep(0.01)
