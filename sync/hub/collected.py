"""A diary file collected by hand, read without trusting it and without writing beside it.

Opened read-only and immutable: SQLite makes no -wal, -shm or journal beside it, so it reads from
read-only media and the file's bytes never change. A -wal left beside it (copied while the app
ran) is read through a private copy of the pair. Only real tables of the device's own shape are
read: a view, a virtual table, a table lacking a column the device writes, or a trigger the
device never makes is refused with one line. Entries come in chunks of `CHUNK`; every value is
at most `MAX_VALUE` bytes and the whole read is cut off after `SECONDS`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import overload

from diary_client.core.clock import CLOCK_FLAGS
from diary_client.core.entry import Entry, parse_entry
from diary_client.core.event import Event, parse_event
from diary_client.core.printable import printable
from diary_client.device.store import Store
from sync.hub.errors import HubError

CHUNK = 1000  # entries judged and stored per transaction
MAX_ENTRIES = 100_000  # a daily diary holds a few hundred; this is centuries of them
MAX_SETTINGS = 200  # a device writes about fifteen
MAX_VALUE = 4 * 1024 * 1024  # bytes in one value (a protocol is at most 256 KiB)
SECONDS = 300.0  # the whole read of one file

# The columns the hub reads, per table; more columns are allowed (a newer device's).
SHAPE = {
    "entries": {f.name for f in fields(Entry)},
    "audit": {"seq", "at", "action", "entry_id", "entry_hash", "detail", "prev_hash", "hash"},
    "settings": {"key", "value"},
    "flags": {"entry_id", "flag", "detail"},
    "receipts": {"entry_id", "received_at", "content_hash"},
}
# Tables a newer device makes, read when the file has them (a file from before them is still a diary).
OPTIONAL_SHAPE = {"events": {"id", "kind", "body", "submitted_at", "device_id", "seq", "supersedes", "content_hash"}}
TRIGGERS = {f"{t}_no_{op}" for t in ("entries", "audit", "events") for op in ("update", "delete")}  # the append-only guards


class Chain(Sequence[str]):
    """The file's audit-chain hashes, read one at a time (the chain may be long)."""

    def __init__(self, file: CollectedFile):
        self._file = file
        self._len = file.count("audit")

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            raise TypeError("the chain is read one record at a time")
        n = i + self._len if i < 0 else i
        if not 0 <= n < self._len:
            raise IndexError(i)
        with self._file.reading():
            row = self._file.conn.execute("SELECT hash FROM audit ORDER BY seq LIMIT 1 OFFSET ?", [n]).fetchone()
        return str(row[0]) if row else ""


@dataclass
class Batch:
    """One chunk of the file's entries: those that parse, those that do not (id, why), and the
    clock guard's flags of the chunk."""

    entries: list[Entry] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    flags: list[tuple[str, str, str]] = field(default_factory=list)


class CollectedFile:
    """An opened collected file (see `opened`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, deadline: float):
        self.path, self.conn, self.deadline = path, conn, deadline
        self.has_events = False  # set by check_shape

    def fail(self, why: str) -> HubError:
        return HubError(f"{printable(str(self.path))}: {why}: not imported")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The file's database errors (damage, a value too long, the time limit) as one line."""
        try:
            yield
        except sqlite3.DatabaseError as e:
            if time.monotonic() > self.deadline:
                raise self.fail("reading it took too long (a crafted file?)") from None
            raise self.fail(f"not a readable diary database ({e})") from None

    def check_shape(self) -> None:
        with self.reading():
            self._check_shape()

    def _check_shape(self) -> None:
        kinds = {}
        for kind, name, sql in self.conn.execute("SELECT type, name, sql FROM sqlite_master"):
            if kind == "trigger" and name not in TRIGGERS:
                raise self.fail(f"it holds a trigger ({printable(str(name))}) no diary makes: a crafted file")
            kinds[name] = "virtual table" if kind == "table" and str(sql or "").upper().startswith("CREATE VIRTUAL") else kind
        for table, columns in SHAPE.items():
            kind = kinds.get(table)
            if kind != "table":
                what = f"is a {kind}" if kind else "is missing"
                raise self.fail(f"`{table}` {what}, not a diary's table (not a diary file, or a crafted one)")
            have = {r[1] for r in self.conn.execute(f"PRAGMA table_info([{table}])")}
            if columns - have:
                raise self.fail(f"`{table}` lacks the column(s) {', '.join(sorted(columns - have))}: "
                                "not a diary file of this program")
        for table, columns in OPTIONAL_SHAPE.items():
            kind = kinds.get(table)
            if kind is None:
                continue
            have = {r[1] for r in self.conn.execute(f"PRAGMA table_info([{table}])")} if kind == "table" else set()
            if kind != "table" or columns - have:
                raise self.fail(f"`{table}` is not a diary's table (a {kind} lacking the columns a diary writes): "
                                "a crafted file")
        if self.count("settings") > MAX_SETTINGS:
            raise self.fail(f"it holds more than {MAX_SETTINGS} settings: a crafted file")
        n = self.count("entries")
        if n > MAX_ENTRIES:
            raise self.fail(f"it holds {n} entries, more than any diary (at most {MAX_ENTRIES})")
        self.has_events = kinds.get("events") == "table"
        if self.has_events and self.count("events") > MAX_ENTRIES:
            raise self.fail(f"it holds more than {MAX_ENTRIES} events: a crafted file")

    def count(self, table: str) -> int:
        with self.reading():
            return int(self.conn.execute(f"SELECT COUNT(*) FROM [{table}]").fetchone()[0])

    def settings(self) -> dict:
        out = {}
        with self.reading():
            rows = self.conn.execute("SELECT key, value FROM settings").fetchall()  # at most MAX_SETTINGS
        for key, value in rows:
            try:
                out[str(key)] = json.loads(value)
            except (ValueError, TypeError, RecursionError):
                raise self.fail(f"its setting {printable(repr(key))} is not readable (not JSON)") from None
        return out

    def problems(self) -> list[str]:
        """What `diary verify` would say of the file."""
        with self.reading():
            return Store.over(self.conn, self.path).verify()

    def chain(self) -> Chain:
        return Chain(self)

    def batches(self, size: int = CHUNK) -> Iterator[Batch]:
        """The entries in the order they were stored (a correction after what it corrects), `size` at a time."""
        with self.reading():
            cur = self.conn.execute("SELECT * FROM entries ORDER BY rowid")
            names = [c[0] for c in cur.description]
        while True:
            with self.reading():
                rows = cur.fetchmany(size)
            if not rows:
                return
            batch = Batch()
            for row in rows:
                doc = dict(zip(names, row, strict=True))
                try:
                    batch.entries.append(_parse(doc))
                except (ValueError, TypeError, RecursionError) as e:
                    batch.unreadable.append((printable(str(doc.get("id"))), f"unreadable entry ({printable(_why(e))})"))
            ids = json.dumps([e.id for e in batch.entries])
            with self.reading():
                batch.flags = [(str(i), str(f), str(d or "")) for i, f, d in self.conn.execute(
                    "SELECT entry_id, flag, detail FROM flags WHERE entry_id IN (SELECT value FROM json_each(?))"
                    f" AND flag IN ({', '.join('?' * len(CLOCK_FLAGS))})", [ids, *CLOCK_FLAGS])]
            yield batch


    def events(self, size: int = CHUNK) -> Iterator[tuple[list[Event], list[tuple[str, str]]]]:
        """The file's events in the order they were stored, `size` at a time: (those that parse as an
        upload's would, (id, why) of those that do not). None from a file made before events."""
        if not self.has_events:
            return
        with self.reading():
            cur = self.conn.execute("SELECT id, body FROM events ORDER BY rowid")
        while True:
            with self.reading():
                rows = cur.fetchmany(size)
            if not rows:
                return
            good, bad = [], []
            for event_id, body in rows:
                try:
                    if not isinstance(body, str):
                        raise ValueError("body is not JSON text")
                    good.append(parse_event(json.loads(body)))
                except (ValueError, TypeError, RecursionError) as e:
                    bad.append((printable(str(event_id)), f"unreadable event ({printable(_why(e))})"))
            yield good, bad


def _parse(doc: dict) -> Entry:
    """An entry of the file validated as an upload's is (a file from outside is not trusted)."""
    wire = {k: doc[k] for k in SHAPE["entries"]}
    if not isinstance(wire["answers"], str):
        raise ValueError("answers is not JSON text")
    wire["answers"] = json.loads(wire["answers"])
    return parse_entry(wire)


def _why(e: Exception) -> str:
    """The first thing wrong with an entry, in one line (pydantic's first error: where and what)."""
    errors = getattr(e, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'entry'}: {first['msg']}"[:200]
    if isinstance(e, RecursionError):
        return "answers nested too deep"
    return (str(e).splitlines() or [type(e).__name__])[0][:200]


@contextmanager
def opened(path: Path, seconds: float = SECONDS) -> Iterator[CollectedFile]:
    """The collected file, opened read-only and checked for its shape; one-line HubErrors."""
    if not path.is_file():
        raise HubError(f"{printable(str(path))}: no such file")
    wal = path.with_name(path.name + "-wal")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if wal.is_file() and wal.stat().st_size:
                # Committed reports may still be in the -wal: read the pair from a private copy,
                # where SQLite may make the -shm it needs.
                copy = Path(tmp) / "diary.db"
                shutil.copyfile(path, copy)
                try:
                    shutil.copyfile(wal, Path(tmp) / "diary.db-wal")
                except FileNotFoundError:  # checkpointed into the file and removed meanwhile: copy the file again
                    shutil.copyfile(path, copy)
                uri = copy.as_uri() + "?mode=ro"
            else:
                uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True)
        except OSError as e:
            raise HubError(f"{printable(str(path))}: cannot read it ({e.strerror})") from None
        except sqlite3.DatabaseError as e:
            raise HubError(f"{printable(str(path))}: not a readable diary database ({e})") from None
        deadline = time.monotonic() + seconds
        conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        file = CollectedFile(path, conn, deadline)
        try:
            with file.reading():
                conn.execute("PRAGMA query_only = ON")
                conn.execute("PRAGMA trusted_schema = OFF")
            file.check_shape()
            yield file
        finally:
            conn.close()
