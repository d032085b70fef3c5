"""The device's SQLite file: the only code on the device that touches the database.

Entries and audit records are append-only (triggers refuse UPDATE and DELETE). Every write goes
through one IMMEDIATE transaction together with its audit record; the audit log is a hash chain.
WAL with synchronous=FULL: when `save` returns, the entry is on disk.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from diary_client.core import clock, private
from diary_client.core.clock import MOVED_FLAGS, ZONE_FLAG
from diary_client.core.entry import Entry, content_hash, latest, row_entry
from diary_client.device.chain import GENESIS, chain_hash

if TYPE_CHECKING:
    from sqlite_utils import Database

DB_NAME = "diary.db"
BACKUP_KEEP = 7
MIGRATION_SET = "diary"

# The schema steps, in order. sqlite-utils' Migrations applies them, loaded only when one is due:
# importing sqlite-utils imports numpy (installed for the analysis), too slow for the app's start.
_MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = []


def migration(name: str) -> Callable[[Callable[[Database], None]], Callable[[Database], None]]:
    def register(fn: Callable[[Database], None]) -> Callable[[Database], None]:
        _MIGRATIONS.append((name, fn))
        return fn

    return register


def _migrate(db: Database) -> None:
    from sqlite_utils import Migrations

    steps = Migrations(MIGRATION_SET)
    for name, fn in _MIGRATIONS:
        steps(name=name)(fn)
    steps.apply(db)


def _append_only(db: Database, table: str) -> None:
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
        )


@migration("0001_create_entries")
def _m0001(db: Database) -> None:
    db.execute(
        """CREATE TABLE entries (
            id TEXT PRIMARY KEY, participant_id TEXT NOT NULL, study_id TEXT NOT NULL,
            protocol_version INTEGER NOT NULL, diary_date TEXT NOT NULL, study_day INTEGER NOT NULL,
            answers TEXT NOT NULL, submitted_at TEXT NOT NULL, timing TEXT NOT NULL,
            source TEXT NOT NULL, device_id TEXT NOT NULL, seq INTEGER NOT NULL,
            supersedes TEXT REFERENCES entries(id), reason TEXT, content_hash TEXT NOT NULL)"""
    )
    # One report per day; each correction supersedes exactly one entry, once.
    db.execute("CREATE UNIQUE INDEX entries_one_per_day ON entries(diary_date) WHERE supersedes IS NULL")
    db.execute("CREATE UNIQUE INDEX entries_one_correction ON entries(supersedes) WHERE supersedes IS NOT NULL")
    db.execute("CREATE UNIQUE INDEX entries_seq ON entries(device_id, seq)")
    db.execute(
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL, entry_id TEXT,
            entry_hash TEXT, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)"""
    )
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    _append_only(db, "entries")
    _append_only(db, "audit")


@migration("0002_create_sync_state")
def _m0002(db: Database) -> None:
    db.execute(
        "CREATE TABLE receipts (entry_id TEXT PRIMARY KEY REFERENCES entries(id),"
        " received_at TEXT NOT NULL, content_hash TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE quarantine (entry_id TEXT PRIMARY KEY REFERENCES entries(id),"
        " error TEXT NOT NULL, at TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE flags (entry_id TEXT NOT NULL REFERENCES entries(id), flag TEXT NOT NULL,"
        " detail TEXT, PRIMARY KEY (entry_id, flag))"
    )


@migration("0003_create_drafts")
def _m0003(db: Database) -> None:
    # The report being filled in, kept after every answer so that nothing typed is lost. Not an
    # entry: never audited, synced or counted; one row at most, gone once saved or too late.
    db.execute(
        "CREATE TABLE drafts (diary_date TEXT PRIMARY KEY, corrects TEXT, answers TEXT NOT NULL,"
        " position INTEGER NOT NULL, saved_at TEXT NOT NULL)"
    )


@migration("0004_quarantine_retry")
def _m0004(db: Database) -> None:
    # A refusal time may cure (a day to come on the hub's clock): the entry is sent again at later syncs.
    db.execute("ALTER TABLE quarantine ADD COLUMN retry INTEGER NOT NULL DEFAULT 0")


@migration("0005_create_events")
def _m0005(db: Database) -> None:
    # Adverse events, medications and dose changes (diary_client/core/event.py): append-only like
    # entries, each with its audit record; the body is the event's canonical JSON. A device numbers
    # its own events 1, 2, 3, ... apart from its entries. Receipts and quarantine as for entries.
    db.execute(
        """CREATE TABLE events (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, submitted_at TEXT NOT NULL,
            device_id TEXT NOT NULL, seq INTEGER NOT NULL, supersedes TEXT REFERENCES events(id),
            content_hash TEXT NOT NULL)"""
    )
    db.execute("CREATE UNIQUE INDEX events_one_correction ON events(supersedes) WHERE supersedes IS NOT NULL")
    db.execute("CREATE UNIQUE INDEX events_seq ON events(device_id, seq)")
    _append_only(db, "events")
    db.execute(
        "CREATE TABLE event_receipts (event_id TEXT PRIMARY KEY REFERENCES events(id),"
        " received_at TEXT NOT NULL, content_hash TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE event_quarantine (event_id TEXT PRIMARY KEY REFERENCES events(id),"
        " error TEXT NOT NULL, at TEXT NOT NULL)"
    )


def _clash(e: sqlite3.IntegrityError) -> str:
    """An entry refused by a unique index, in words (two diary programs saving at the same time)."""
    text = str(e)
    if "entries.diary_date" in text:
        return "this day's report was just saved by another diary program; to change it, file a correction"
    if "entries.supersedes" in text:
        return "this report was just corrected by another diary program; correct the newest one"
    if "entries.device_id, entries.seq" in text or "entries.id" in text:
        return "another diary program saved at the same moment; try again"
    return f"the database refused the change ({text})"


class StoreError(Exception):
    """A database problem a person can act on (corrupt file, disk full, a conflicting entry)."""


@dataclass
class _Guard:
    """One transaction's view of the clock guard: the reading, whether the wall clock has jumped
    (since the last sync), why, and the latest time this device has claimed (ISO)."""

    reading: clock.Reading
    jumped: bool
    why: str | None
    high: str | None


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Store:
    """One participant's diary file."""

    def __init__(self, path: str | Path, create: bool = True):
        """Open (and with `create`, make) the diary file; without `create` a missing or empty
        file is a StoreError and nothing is made (verify, reading a collected file)."""
        self.path = Path(path)
        if not create and (not self.path.is_file() or self.path.stat().st_size == 0):
            what = "is empty" if self.path.is_file() else "does not exist"
            raise StoreError(f"{self.path}: no diary here (the file {what}): check --data-dir")
        try:
            if create:
                private.file(self.path)  # 0600 in a 0700 folder; its WAL and SHM take its mode
            self.conn = sqlite3.connect(self.path, timeout=10)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # REPLACE's deletes fire the append-only triggers (sqlite-utils' setting, kept without it)
            self.conn.execute("PRAGMA recursive_triggers=ON")
            if self._migrations_due():
                _migrate(self.db)
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot open the diary database ({e})") from None
        except OSError as e:
            raise StoreError(f"{self.path}: cannot open the diary database ({e.strerror})") from None

    @cached_property
    def db(self) -> Database:
        """sqlite-utils over the same connection, loaded only for a migration: every read and write
        here uses `conn` (the stdlib), so `diary record`, `sync` and the app's start never import it."""
        from sqlite_utils import Database

        return Database(self.conn)

    def has_table(self, name: str) -> bool:
        """Whether the file holds this table (a file from before a migration, or a collected one, may not)."""
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None

    def _migrations_due(self) -> bool:
        table = "_sqlite_migrations"  # where sqlite-utils records the steps applied
        if not self.has_table(table):
            return True
        done = {r[0] for r in self.conn.execute(f"SELECT name FROM {table} WHERE migration_set = ?", [MIGRATION_SET])}
        return any(name not in done for name, _ in _MIGRATIONS)

    @classmethod
    def over(cls, conn: sqlite3.Connection, path: Path) -> Store:
        """A Store over a connection opened elsewhere, only to read it (the hub's read-only,
        immutable view of a collected file): no pragmas, no migrations."""
        store = cls.__new__(cls)
        store.path, store.conn = Path(path), conn
        return store

    @classmethod
    def in_dir(cls, data_dir: str | Path, create: bool = True) -> Store:
        return cls(Path(data_dir) / DB_NAME, create)

    def close(self) -> None:
        self.conn.close()

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """An IMMEDIATE transaction: the write lock is taken up front, so seq cannot race."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.execute("COMMIT")
        except sqlite3.IntegrityError as e:
            raise StoreError(f"not saved: {_clash(e)}") from None
        except sqlite3.OperationalError as e:
            raise StoreError(f"not saved: {self.path}: {e}") from None

    def _audit(self, action: str, entry_id=None, entry_hash=None, detail=None) -> None:
        self._audit_all([(action, entry_id, entry_hash, detail)])

    def _audit_all(self, records: list[tuple[str, str | None, str | None, dict | None]]) -> None:
        """Audit records (action, entry id, entry hash, detail) in order, each chained to the one
        before: one read of the head and one insert for all (a sync round records hundreds)."""
        row = self.conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        rows = []
        for action, entry_id, entry_hash, detail in records:
            at = _utcnow()
            detail_s = None if detail is None else json.dumps(detail, sort_keys=True)
            h = chain_hash(prev, at, action, entry_id, entry_hash, detail_s)
            rows.append((at, action, entry_id, entry_hash, detail_s, prev, h))
            prev = h
        self.conn.executemany(
            "INSERT INTO audit (at, action, entry_id, entry_hash, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def _last_clock(self) -> dict:
        """The clock guard's latest record (a save or a sync), {} before the first."""
        row = self.conn.execute("SELECT detail FROM audit WHERE action = 'clock' ORDER BY seq DESC LIMIT 1").fetchone()
        try:
            return json.loads(row[0]) if row and row[0] else {}
        except ValueError:
            return {}

    def _guard(self) -> _Guard:
        """The clocks now against the latest record: has the wall clock jumped (or is a jump not
        yet re-anchored by a sync), and the latest time this device has claimed so far."""
        last, now = self._last_clock(), clock.reading()
        moved = clock.jump(last, now) if last else None
        jumped = moved is not None or bool(last.get("jumped"))
        why = (f"the wall clock moved {moved.total_seconds():+.0f} s against the boot clock since "
               f"the record of {last.get('wall')}" if moved is not None else last.get("jump_detail"))
        return _Guard(now, jumped, why, last.get("high"))

    def _clock_record(self, guard: _Guard, **extra) -> None:
        detail = guard.reading.as_dict() | {"high": guard.high, "jumped": guard.jumped} | extra
        if guard.jumped:
            detail["jump_detail"] = guard.why
        self._audit("clock", detail=detail)

    def start_clock(self) -> None:
        """Enrolment's clock record (wall clock, boot clock, boot id): the first reading the guard
        compares with, so a clock set back before the first report is caught."""
        with self._tx():
            self._clock_record(self._guard(), anchor="enrolment")

    def _see_zone(self, zone: clock.ZoneSeen) -> None:
        """Record in the audit chain each change of the zone the device files in."""
        row = self.conn.execute("SELECT detail FROM audit WHERE action = 'zone' ORDER BY seq DESC LIMIT 1").fetchone()
        try:
            before = json.loads(row[0])["to"] if row and row[0] else zone.registered
        except (ValueError, KeyError, TypeError):
            before = None
        if before != zone.current:
            self._audit("zone", detail={"from": before, "to": zone.current, "registered": zone.registered})

    def _insert(self, entry: Entry, from_hub: bool = False, guard: _Guard | None = None,
                zone: clock.ZoneSeen | None = None) -> Entry:
        last = None
        if not from_hub:  # an entry made here: its seq is the next of this device's
            (seq,) = self.conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM entries WHERE device_id = ?", [entry.device_id]
            ).fetchone()
            entry = replace(entry, seq=seq)
            (last,) = self.conn.execute(  # this device's clock against itself, not another device's
                "SELECT submitted_at FROM entries WHERE device_id = ? AND source != 'import' ORDER BY seq DESC LIMIT 1",
                [entry.device_id]).fetchone() or (None,)
        h = content_hash(entry)
        row = entry.wire() | {"answers": json.dumps(entry.answers), "content_hash": h}
        self.conn.execute(
            f"INSERT INTO entries ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )
        self._audit("entry", entry.id, h, {"from_hub": True} if from_hub else None)
        if guard is not None and entry.source != "import":
            self._doubt(entry, guard, last)
            if zone is not None and zone.changed:
                self._flag(entry.id, ZONE_FLAG, f"made in the zone {zone.current}; the registered zone is "
                           f"{zone.registered}")
        return entry

    def _doubt(self, entry: Entry, guard: _Guard, last: str | None) -> None:
        """Flag what the clock guard doubts about an entry made here, and raise its high-water mark."""
        if guard.reading.overridden:
            self._flag(entry.id, "clock_override", "made while DIARY_NOW overrode the clock")
        if guard.jumped:
            self._flag(entry.id, "clock_jump", f"{guard.why}; not re-anchored by a sync with the hub since")
        # Against the latest time this device claimed (any entry or sync), not only the previous entry.
        highs = [datetime.fromisoformat(t) for t in (guard.high, last) if t]
        high = max(highs, default=None)
        if high is not None and entry.submitted_at < high:
            self._flag(entry.id, "clock_backwards", f"submitted_at is before a time this device claimed earlier ({high.isoformat()})")
        if high is None or entry.submitted_at > high:
            guard.high = entry.submitted_at.isoformat()

    def _flag(self, entry_id: str, flag: str, detail: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO flags VALUES (?, ?, ?)", [entry_id, flag, detail])
        self._audit("flag", entry_id, detail={"flag": flag, "detail": detail})

    def save(self, entry: Entry, drop_draft: bool = False, zone: clock.ZoneSeen | None = None) -> Entry:
        """Durably store one entry with its audit record; returns it with its device seq. With
        `drop_draft`, the draft of the report it files goes in the same transaction (one fsync)."""
        return self.save_all([entry], drop_draft, zone)[0]

    def save_all(self, entries: Iterable[Entry], drop_draft: bool = False,
                 zone: clock.ZoneSeen | None = None) -> list[Entry]:
        """All entries in one transaction: every one is saved, or none. The clock guard's reading
        is kept with them, and its doubts are flagged (see `_guard`); with `zone`, a zone other
        than the registered one is recorded in the audit chain and flagged on the entries."""
        with self._tx():
            guard = self._guard()
            if zone is not None:
                self._see_zone(zone)
            saved = [self._insert(e, guard=guard, zone=zone) for e in entries]
            self._clock_record(guard)
            if drop_draft:
                self.conn.execute("DELETE FROM drafts")
            return saved

    def anchor(self, now: datetime, offset_s: float) -> None:
        """A sync with the hub: keep the clocks' reading and re-anchor the guard (a jump flagged
        since the last sync stops flagging what follows)."""
        with self._tx():
            guard = self._guard()
            guard.jumped, guard.why = False, None
            if guard.high is None or datetime.fromisoformat(guard.high) < now:
                guard.high = now.isoformat()
            self._clock_record(guard, anchor="hub", offset_s=offset_s)

    def adopt(self, received: Iterable[tuple[Entry, str, str]]) -> tuple[int, list[str]]:
        """The participant's entries from another device, as the hub holds them: (entry,
        received_at, content_hash), in the hub's order. Each new one is stored as it is (its device
        and seq kept) with its receipt, in one transaction. One that clashes with what this device
        holds (another report of the same day, a second correction, a correction of an entry left
        out) stays on the hub only. Returns (how many were stored, the ids left out)."""
        stored, left_out = 0, []
        with self._tx():
            have = {r[0] for r in self.conn.execute("SELECT id FROM entries")}
            for entry, received_at, h in received:
                if entry.id in have:
                    continue
                if content_hash(entry) != h:
                    left_out.append(entry.id)  # not what the hub says it holds
                    continue
                self.conn.execute("SAVEPOINT adopt")
                try:
                    self._insert(entry, from_hub=True)  # the unique indexes judge the clashes
                    self.conn.execute("INSERT INTO receipts VALUES (?, ?, ?)", [entry.id, received_at, h])
                except sqlite3.IntegrityError:
                    self.conn.execute("ROLLBACK TO adopt")
                    left_out.append(entry.id)
                else:
                    have.add(entry.id)
                    stored += 1
                self.conn.execute("RELEASE adopt")
        return stored, left_out

    def set_settings(self, **values) -> None:
        with self._tx():
            for k, v in values.items():
                self.conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", [k, json.dumps(v)])
            self._audit("settings", detail={k: ("***" if "token" in k else v) for k, v in values.items()})

    def flag(self, entry_id: str, flag: str, detail: str) -> None:
        with self._tx():
            self._flag(entry_id, flag, detail)

    def record_receipts(self, receipts: Iterable[tuple[str, str, str]]) -> None:
        """(entry_id, received_at, content_hash) for entries the hub acknowledged."""
        self._receipts(receipts, "receipts", "quarantine", "entry_id", "receipt")

    def _receipts(self, receipts: Iterable[tuple[str, str, str]], table: str, quarantine: str, key: str,
                  action: str) -> None:
        """(id, received_at, content_hash) the hub acknowledged, kept in `table`, each out of
        `quarantine` and audited as `action`, in one transaction (entries here, events in event_store)."""
        receipts = list(receipts)
        with self._tx():
            self.conn.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?)", receipts)
            self.conn.executemany(f"DELETE FROM {quarantine} WHERE {key} = ?", [(r[0],) for r in receipts])
            self._audit_all([(action, rid, h, {"received_at": at}) for rid, at, h in receipts])

    def quarantine(self, rejected: Iterable[tuple[str, str]], retry: Iterable[str] = ()) -> None:
        """(entry_id, error) for entries the hub refused: kept, shown, never dropped. Those in
        `retry` (a refusal time may cure) are sent again at later syncs (`retryable`)."""
        again = set(retry)
        with self._tx():
            for entry_id, error in rejected:
                self.conn.execute("INSERT OR REPLACE INTO quarantine (entry_id, error, at, retry) VALUES (?, ?, ?, ?)",
                                [entry_id, error, _utcnow(), int(entry_id in again)])
                self._audit("quarantine", entry_id, detail={"error": error} | ({"retry": True} if entry_id in again else {}))

    # -- the draft of the report in progress (not an entry) -------------------------------------

    def put_draft(self, diary_date: date, corrects: str | None, answers: dict, position: int) -> None:
        """Keep the report being filled in (replacing any other draft), durably."""
        with self._tx():
            self.conn.execute("DELETE FROM drafts")
            self.conn.execute("INSERT INTO drafts VALUES (?, ?, ?, ?, ?)",
                            [diary_date.isoformat(), corrects, json.dumps(answers), position, _utcnow()])

    def draft(self) -> dict | None:
        """The kept draft: diary_date (a date), corrects, answers, position, saved_at; or None."""
        row = self.conn.execute("SELECT diary_date, corrects, answers, position, saved_at FROM drafts").fetchone()
        if row is None:
            return None
        return {"diary_date": date.fromisoformat(row[0]), "corrects": row[1], "answers": json.loads(row[2]),
                "position": row[3], "saved_at": row[4]}

    def drop_draft(self) -> None:
        with self._tx():
            self.conn.execute("DELETE FROM drafts")

    # -- reading -------------------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence = ()) -> list[dict]:
        """A read's rows as dicts by column name (what sqlite-utils' `query` gives, from the stdlib)."""
        cur = self.conn.execute(sql, params)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

    def settings(self) -> dict:
        out = {}
        for key, value in self.conn.execute("SELECT key, value FROM settings"):
            try:
                out[key] = json.loads(value)
            except (ValueError, TypeError):
                raise StoreError(f"{self.path}: the setting {key!r} is damaged (not JSON: {value!r}); "
                                 "`diary verify` shows what changed") from None
        return out

    def entries(self) -> list[Entry]:
        # In the order they were stored (seq orders only one device's entries; a device may hold
        # another's, fetched from the hub): a correction always comes after what it corrects.
        return [row_entry(r) for r in self.rows("SELECT * FROM entries ORDER BY rowid")]

    def pending(self) -> list[Entry]:
        """Entries not yet acknowledged by the hub and not in quarantine, oldest first."""
        sql = (
            "SELECT * FROM entries WHERE id NOT IN (SELECT entry_id FROM receipts)"
            " AND id NOT IN (SELECT entry_id FROM quarantine) ORDER BY rowid"
        )
        return [row_entry(r) for r in self.rows(sql)]

    def retryable(self) -> list[Entry]:
        """Quarantined entries whose refusal time may cure, oldest first: sent again at each sync."""
        sql = "SELECT e.* FROM entries e JOIN quarantine q ON q.entry_id = e.id WHERE q.retry = 1 ORDER BY e.rowid"
        return [row_entry(r) for r in self.rows(sql)]

    def acknowledged(self) -> dict[str, list[str]]:
        """Per device id, the ids of entries the hub acknowledged (receipts), as reconciliation asks."""
        out: dict[str, list[str]] = {}
        for entry_id, device in self.conn.execute(
                "SELECT e.id, e.device_id FROM entries e JOIN receipts r ON r.entry_id = e.id ORDER BY e.rowid"):
            out.setdefault(device, []).append(entry_id)
        return out

    def pending_count(self) -> int:
        """How many entries `pending` would return, counted in SQL."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM entries WHERE id NOT IN (SELECT entry_id FROM receipts)"
            " AND id NOT IN (SELECT entry_id FROM quarantine)").fetchone()[0]

    def filed_timing(self) -> dict[date, str]:
        """`entry.filed_timing` of every entry, from two narrow columns (no Entry built): the home
        screen reads it on every refresh, whatever the length of the history."""
        # A day's original report is the only row of its date that corrects nothing (the unique index
        # entries_one_per_day), so its timing is the day's: one narrow row per filed day.
        rows = self.conn.execute("SELECT diary_date, timing FROM entries WHERE supersedes IS NULL")
        return {date.fromisoformat(d): timing for d, timing in rows}

    def flagged_dates(self) -> set[date]:
        """Diary dates with an entry the clock guard doubts (any flag), from one narrow query."""
        rows = self.conn.execute("SELECT DISTINCT e.diary_date FROM flags f JOIN entries e ON e.id = f.entry_id")
        return {date.fromisoformat(d) for (d,) in rows}

    def clock_doubted(self) -> dict[date, datetime | None]:
        """Per diary date whose report (the day's original) says the clock was wrong: when the hub
        received it, or None (not yet, or no hub). `schedule.unproven_dates` judges them."""
        rows = self.conn.execute(
            "SELECT e.diary_date, MAX(r.received_at) FROM entries e JOIN flags f ON f.entry_id = e.id"
            " LEFT JOIN receipts r ON r.entry_id = e.id WHERE e.supersedes IS NULL AND f.flag IN"
            f" ({', '.join('?' * len(MOVED_FLAGS))}) GROUP BY e.id", MOVED_FLAGS)
        return {date.fromisoformat(d): datetime.fromisoformat(r) if r else None for d, r in rows}

    def report_for(self, d: date) -> Entry | None:
        """The entry that counts for diary date `d` (its last correction), reading only that date's rows."""
        rows = self.rows("SELECT * FROM entries WHERE diary_date = ? ORDER BY rowid", [d.isoformat()])
        return latest(row_entry(r) for r in rows).get(d)

    def quarantined(self) -> list[dict]:
        cur = self.conn.execute("SELECT entry_id, error, at FROM quarantine ORDER BY at")
        return [{"entry_id": i, "error": e, "at": at} for i, e, at in cur]

    def flags(self) -> list[dict]:
        return self.rows("SELECT entry_id, flag, detail FROM flags")

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT COUNT(*) FROM [{table}]").fetchone()[0]

    # -- checking and copying ------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Every problem with the file, its audit chain and the tables it vouches for (integrity.py)."""
        from diary_client.device.integrity import check

        return check(self)

    def head(self) -> tuple[int, str]:
        """The audit chain's head: (how many records, the last one's hash); (0, GENESIS) when empty."""
        n, h = self.conn.execute("SELECT COUNT(*), (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1) FROM audit").fetchone()
        return n, h or GENESIS

    def chain(self) -> list[str]:
        """Every audit record's hash, in order (the chain's head after 1, 2, ... records)."""
        return [r[0] for r in self.conn.execute("SELECT hash FROM audit ORDER BY seq")]

    def backup_daily(self, day: date, keep: int = BACKUP_KEEP) -> Path | None:
        """Copy the database once per day (SQLite backup API) into backups/, keeping the last `keep`."""
        folder = self.path.parent / "backups"
        target = folder / f"diary-{day.isoformat()}.db"
        if target.exists():
            return None
        private.folder(folder)
        _clean_stale_tmp(folder)
        # Written aside under a name of this process, then renamed: a kill leaves no half copy
        # under the real name, and the next backup removes what it left.
        tmp = private.file(folder / f".{target.name}.{os.getpid()}.tmp")
        try:
            with sqlite3.connect(tmp) as dst:
                self.conn.backup(dst)
            dst.close()
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        for old in sorted(folder.glob("diary-*.db"))[:-keep]:
            old.unlink()
        return target


def _clean_stale_tmp(folder: Path) -> None:
    """Remove backup copies left half-written by a process that was killed."""
    for tmp in folder.glob("*.tmp"):
        pid = tmp.name.rsplit(".", 2)[-2] if tmp.name.count(".") >= 3 else ""
        if pid.isdigit() and int(pid) != os.getpid() and _running(int(pid)):
            continue  # perhaps being written now
        tmp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
