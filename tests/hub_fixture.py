"""A real hub for tests: uvicorn on 127.0.0.1, port 0, in a thread (import `hub` into a test module)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import uvicorn

from diary_client.core import clock
from diary_client.core.protocol import builtin_text
from sync.hub.app import create_app
from sync.hub.limits import Limits
from sync.hub.server import ServeOptions, config
from sync.hub.store import HubStore

# Tests send requests in quick bursts; the per-token limit has its own test.
TEST_LIMITS = Limits(per_token_rate=1000, per_token_burst=1000, enroll_rate=1000, enroll_burst=1000,
                     unknown_rate=1000, unknown_burst=1000)


@dataclass
class Hub:
    url: str
    db_path: Path
    store: HubStore
    app: object

    def code(self, participant_id: str, start: date | None = None, toml: str | None = None,
             now: datetime | None = None) -> str:
        """Register a participant on this hub and return a fresh one-time enrolment code."""
        return self.store.enrolment.enroll(participant_id, toml or builtin_text(), start, "UTC", now or clock.now())


@contextmanager
def running_hub(db_path: Path, options: ServeOptions = ServeOptions(), tls: tuple[Path, Path] | None = None,
                **app_kwargs) -> Iterator[Hub]:
    """The hub served as `diary hub serve` serves it (sync.hub.server.config), on a free port;
    with `tls` (certificate, key) over https, as behind a study's own certificate."""
    app_kwargs.setdefault("limits", TEST_LIMITS)
    app = create_app(db_path, **app_kwargs)
    ssl = {} if tls is None else {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])}
    server = uvicorn.Server(config(app, "127.0.0.1", 0, options, log_level="warning", lifespan="off", **ssl))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # bounded wait for the socket to be bound
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test hub did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Hub(f"{'https' if tls else 'http'}://127.0.0.1:{port}", Path(db_path), app.state.hub.store, app)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def hub(tmp_path) -> Iterator[Hub]:
    with running_hub(tmp_path / "hub.db") as h:
        yield h


def updated_protocol(version: int = 2, days: int = 14) -> str:
    """The built-in protocol as a later version: one more (optional) item, the baseline `days` long."""
    return (builtin_text().replace("version = 1", f"version = {version}", 1)
            .replace('days = 14\nlabel = "Baseline"', f'days = {days}\nlabel = "Baseline"', 1)
            + '\n[[items]]\nid = "mood"\nkind = "vas"\nprompt = "How was your mood today?"\n'
              'min_label = "Very low"\nmax_label = "Very good"\nbetter = "higher"\noptional = true\n')


def answers_for(protocol, phase_id: str, value: int = 50) -> dict:
    """A valid report for a day in `phase_id`: every asked item answered."""
    out = {}
    for item in protocol.items_in(phase_id):
        out[item.id] = {"vas": value, "number": value, "yesno": True, "choice": (item.options or [""])[0],
                        "multi": [], "text": None if item.optional else "ok"}[item.kind]
    return out


def make_entry(participant_id: str, start: date, day: int, *, device_id: str = "dev-1", seq: int | None = None,
               value: int = 50, supersedes: str | None = None, **over):
    """A valid ldn-fm Entry for study day `day` of a participant whose day 1 is `start`."""
    from datetime import timedelta

    from diary_client.core.entry import Entry, new_id
    from diary_client.core.protocol import parse_protocol
    from diary_client.core.schedule import span_on

    protocol = parse_protocol(builtin_text())
    d = start + timedelta(days=day - 1)
    span = span_on(protocol, start, d)
    fields = dict(
        id=new_id(), participant_id=participant_id, study_id=protocol.id, protocol_version=protocol.version,
        diary_date=d, study_day=day, answers=answers_for(protocol, span.phase.id if span else "baseline", value),
        submitted_at=datetime.combine(d, datetime.min.time(), UTC).replace(hour=19),
        timing="on_time", source="app", device_id=device_id, seq=day if seq is None else seq,
        supersedes=supersedes, reason="corrected" if supersedes else None,
    )
    return Entry(**(fields | over))


def audit_rows(db_path) -> list[dict]:
    """The hub's audit records, oldest first, read straight from its file."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY seq")]
