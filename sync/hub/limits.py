"""Request limits: body size and read time (ASGI middleware), and requests per token or address
(token buckets that each expire on their own)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sync import BATCH_BYTES

MAX_HEAD = 16 * 1024


@dataclass(frozen=True)
class Limits:
    max_body: int = 4 * 1024 * 1024  # a full batch of 1000 entries is well under 2 MiB
    max_head: int = MAX_HEAD  # request line and headers (431 above)
    body_seconds: float = 60.0  # to send a whole body: a trickle is cut off (408)
    per_token_rate: float = 2.0  # requests per second, sustained, for one device token
    per_token_burst: int = 60
    enroll_rate: float = 0.2  # code attempts per second from one address
    enroll_burst: int = 20
    unknown_rate: float = 1.0  # per address: tokens not seen valid yet, each a database lookup
    unknown_burst: int = 60


class RateLimiter:
    """A token bucket per key; `wait(key)` is 0 when a request may pass, else seconds to wait.

    Buckets are kept least recently used first. A bucket that has refilled is the same as none,
    so it is forgotten as soon as it reaches the front; past `max_keys` the least recently used
    one goes, never all of them.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000):
        self.rate, self.burst, self.clock, self.max_keys = rate, burst, clock, max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, tokens: float, last: float, now: float) -> float:
        return min(float(self.burst), tokens + (now - last) * self.rate)

    def _expire(self, now: float) -> None:
        while self._buckets:
            key, (tokens, last) = next(iter(self._buckets.items()))
            if self._refilled(tokens, last, now) < self.burst and len(self._buckets) < self.max_keys:
                return
            del self._buckets[key]

    def wait(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            self._expire(now)
            tokens = self._refilled(tokens, last, now)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def address_key(host: str | None) -> str:
    """The bucket key of a client address: IPv4 as is, IPv6 by its /64 (one household or host
    holds a whole /64, so counting single addresses would let it rotate through them)."""
    if not host:
        return "?"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413, bodies slower than `seconds` with 408, and
    headers over `max_head` bytes with 431.

    A refused body is still read, and thrown away, up to `drain_bytes`, before the answer: a
    client still sending when the hub closes would get a connection reset instead of the 413, and
    never learn to send less. Past `drain_bytes` the connection is simply closed. By default that
    is 4 × `max_bytes`, and never less than twice a device's largest batch (`sync.BATCH_BYTES`):
    however small the limit, a device's upload always gets its 413.
    """

    def __init__(self, app, max_bytes: int, seconds: float = 60.0, drain_bytes: int | None = None,
                 max_head: int = MAX_HEAD):
        self.app, self.max_bytes, self.seconds, self.max_head = app, max_bytes, seconds, max_head
        self.drain_bytes = max(4 * max_bytes, 2 * BATCH_BYTES) if drain_bytes is None else drain_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers") or []
        if sum(len(k) + len(v) + 4 for k, v in headers) > self.max_head:
            # h11 limits a head that arrives in pieces; one that arrives whole is measured here.
            return await _problem(send, 431, f"request headers over {self.max_head} bytes")
        length = dict(headers).get(b"content-length")
        if length is not None and not length.isdigit():
            return await _problem(send, 400, "Content-Length is not a number")
        too_big = f"request body over {self.max_bytes} bytes: send fewer entries at a time"
        try:
            async with asyncio.timeout(self.seconds):
                if length is not None and int(length) > self.max_bytes:
                    if int(length) > self.drain_bytes:
                        return await _problem(send, 413, too_big)
                    return await self._drained(receive, send, 0, too_big)
                chunks, total = [], 0
                while True:
                    msg = await receive()
                    if msg["type"] != "http.request":
                        return  # the client went away
                    chunk = msg.get("body", b"")
                    total += len(chunk)
                    if total > self.max_bytes:
                        return await self._drained(receive, send, total, too_big, msg.get("more_body", False))
                    chunks.append(chunk)
                    if not msg.get("more_body"):
                        break
        except TimeoutError:
            return await _problem(send, 408, f"request body not received within {self.seconds:.0f} s")
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _drained(self, receive, send, total: int, detail: str, more: bool = True) -> None:
        while more and total <= self.drain_bytes:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            total += len(msg.get("body", b""))
            more = msg.get("more_body", False)
        await _problem(send, 413, detail)


async def _problem(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
