"""A TCP proxy on 127.0.0.1 that drops connections, cuts hub responses and delays, at seeded random."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class FaultProxy:
    """Between a device and the hub. A response cut happens after its first bytes left the hub,
    so the hub has committed the request the device never hears back about."""

    def __init__(self, target_port: int, rng: random.Random, p_drop=0.15, p_cut=0.2, p_delay=0.3, max_delay=0.01):
        self.target_port, self.rng = target_port, rng
        self.p_drop, self.p_cut, self.p_delay, self.max_delay = p_drop, p_cut, p_delay, max_delay
        self.stats: Counter[str] = Counter()
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    def faults(self, on: bool) -> None:
        if not on:
            self.p_drop = self.p_cut = self.p_delay = 0.0

    async def start(self) -> FaultProxy:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    async def _delay(self) -> None:
        if self.rng.random() < self.p_delay:
            self.stats["delay"] += 1
            await asyncio.sleep(self.rng.uniform(0, self.max_delay))

    async def _handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self.stats["connections"] += 1
        if self.rng.random() < self.p_drop:
            self.stats["drop"] += 1
            c_writer.transport.abort()
            return
        try:
            h_reader, h_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            c_writer.transport.abort()
            return

        def kill() -> None:
            c_writer.transport.abort()
            h_writer.transport.abort()

        async def upstream() -> None:
            while data := await c_reader.read(65536):
                await self._delay()
                if self.rng.random() < self.p_drop / 4:  # the request dies on its way: never committed
                    self.stats["drop_request"] += 1
                    return kill()
                h_writer.write(data)
                await h_writer.drain()
            h_writer.close()

        async def downstream() -> None:
            while data := await h_reader.read(65536):
                await self._delay()
                if self.rng.random() < self.p_cut:
                    self.stats["cut"] += 1
                    c_writer.write(data[: len(data) // 2])
                    return kill()
                c_writer.write(data)
                await c_writer.drain()
            c_writer.close()

        try:
            await asyncio.gather(upstream(), downstream())
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            kill()


@contextmanager
def proxy_thread(target_port: int, rng: random.Random | None = None, **faults) -> Iterator[FaultProxy]:
    """A FaultProxy on its own event loop in a thread, for tests that are not async themselves
    (no faults unless given: then it is a plain relay, like a reverse proxy in front of the hub)."""
    faults = {"p_drop": 0.0, "p_cut": 0.0, "p_delay": 0.0} | faults
    proxy = FaultProxy(target_port, rng or random.Random(0), **faults)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(10)
    try:
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
