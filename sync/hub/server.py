"""How the hub is served: uvicorn's settings, a guard on connections that never finish a request
head, and a filter that keeps a flood of repeated error lines out of the log.

uvicorn closes an idle keep-alive connection after `timeout_keep_alive`, but a connection that
never sends a full request head (opened and left, or a header sent a byte at a time) has no
timer at all, and each holds a file descriptor: `GuardedH11` gives every connection a deadline
for its next request head, and refuses connections beyond `max_connections` at once.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from sync.hub.limits import MAX_HEAD


@dataclass(frozen=True)
class ServeOptions:
    """What `hub serve` gives uvicorn; the defaults are what a small study's hub needs."""

    head_timeout: float = 10.0  # seconds for a connection to send a full request head
    keep_alive: int = 5  # seconds an idle keep-alive connection stays open (uvicorn's own timer)
    max_connections: int = 1000  # open at once; more are closed on arrival
    limit_concurrency: int = 1000  # requests + connections before uvicorn answers 503
    max_head_bytes: int = MAX_HEAD  # a request head still arriving (h11's limit); a whole one: Limits.max_head
    forwarded_allow_ips: str | None = None  # proxies whose X-Forwarded-For is believed; None: nobody


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and a cap on connections."""

    options = ServeOptions()  # replaced per server by `guarded(options)`

    def connection_made(self, transport) -> None:
        if len(self.server_state.connections) >= self.options.max_connections:
            transport.abort()  # at the cap: refuse cheaply, before any parsing or logging
            return
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.options.head_timeout, self._head_overdue)

    def _waiting_for_head(self) -> bool:
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self._waiting_for_head() and not self.transport.is_closing():
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is not None and not self._waiting_for_head():
            self._head_timer.cancel()  # a request is in: the app's own limits take over
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._waiting_for_head():
            self._arm_head_timer()  # the next request head has the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
        if self.transport is not None:  # None when connection_made refused it
            super().connection_lost(exc)


def guarded(options: ServeOptions) -> type[GuardedH11]:
    """A GuardedH11 class bound to these options (uvicorn makes one protocol per connection)."""
    return type("GuardedH11", (GuardedH11,), {"options": options})


class RepeatFilter(logging.Filter):
    """Let each distinct message through at most `burst` times per `window` seconds, then one line
    saying how many were held back: a flood of one error cannot fill the disk."""

    def __init__(self, burst: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.burst, self.window, self.clock = burst, window, clock
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        verdict = record.__dict__.get("_repeat_filter")
        if verdict is not None:  # judged already on its logger; now at a handler
            return verdict
        verdict = self._judge(record)
        record.__dict__["_repeat_filter"] = verdict
        return verdict

    def _judge(self, record: logging.LogRecord) -> bool:
        # Alike: the same logger and first line with its numbers left out (asyncio's accept error
        # names a socket and its descriptor each time; uvicorn's lines are fixed texts).
        now, key = self.clock(), (record.name, _DIGITS.sub("#", str(record.msg).split("\n", 1)[0]))
        start, n = self._seen.get(key, (now, 0))
        if now - start >= self.window:
            if n > self.burst:
                record.msg = f"{record.msg} (and {n - self.burst} more like it held back in {self.window:.0f} s)"
            start, n = now, 0
        self._seen[key] = (start, n + 1)
        if len(self._seen) > 10_000:  # distinct messages: drop those whose window is over
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window}
        return n < self.burst


_DIGITS = re.compile(r"\d+")
_OUT_OF = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class OneLineExhaustion(logging.Filter):
    """asyncio's own errors at descriptor exhaustion as one line each, not a traceback: the accept
    loop's "out of system resource" (EMFILE and the like), and its re-arming of that loop failing
    once the listening socket is gone. They are the machine's limit, not a bug; the line says what to do."""

    HINT = "the hub is at its open-file limit: raise it (ulimit -n, LimitNOFILE=) or lower --max-connections"

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        first = str(record.msg).split("\n", 1)[0]
        resource = isinstance(exc, OSError) and exc.errno in _OUT_OF
        rearm = isinstance(exc, ValueError) and "_start_serving" in first
        if resource or rearm:
            what = first if resource else "the accept loop stopped with its listening socket"
            record.msg = f"{what}: {exc}" + (f" ({self.HINT})" if resource else "")
            record.args, record.exc_info, record.exc_text = (), None, None
        return True
# Not uvicorn.access: its one template would hold back every request's line, not a flood's.
LOGGERS = ("uvicorn", "uvicorn.error", "asyncio", "sync.hub")


def quiet_floods(burst: int = 10, window: float = 60.0) -> RepeatFilter:
    """Put one RepeatFilter on the loggers a busy or attacked hub writes errors to (and their
    handlers); the access log stays whole."""
    f = RepeatFilter(burst, window)
    logging.getLogger("asyncio").addFilter(OneLineExhaustion())  # before the repeat filter sees its first line
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addFilter(f)
        for h in logger.handlers:
            h.addFilter(f)
    return f


def config(app, host: str, port: int, options: ServeOptions = ServeOptions(), **kw) -> uvicorn.Config:
    """The uvicorn.Config of a hub: h11 with the guard, timeouts and limits, no server header,
    forwarded-for headers believed only from `options.forwarded_allow_ips`."""
    return uvicorn.Config(
        app, host=host, port=port, http=guarded(options), timeout_keep_alive=options.keep_alive,
        limit_concurrency=options.limit_concurrency, h11_max_incomplete_event_size=options.max_head_bytes,
        proxy_headers=options.forwarded_allow_ips is not None,
        forwarded_allow_ips=options.forwarded_allow_ips or "", server_header=False, **kw)
