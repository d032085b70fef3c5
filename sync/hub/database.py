"""The hub's SQLite file: its migrations, one connection per thread, write transactions with their audit.

A `Database` is bound to the thread that opened it, and FastAPI runs plain handlers on a thread
pool: so each thread gets its own connection, opened on its first call and kept (opening and
closing per call cost more than the ingest itself: closing the last connection checkpoints the
WAL). Writes take the lock up front (BEGIN IMMEDIATE) and carry their audit record in the same
transaction. The hub's other modules (enrolment, ingest, reads) reach the file only through here.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from sqlite_utils import Database, Migrations

from diary_client.core import bounds, private
from sync.hub import codes
from sync.hub.errors import HubError
from sync.hub.rules import Participant

migrations = Migrations("hub")
log = logging.getLogger("sync.hub")
REBUILDS = {"0007_entry_ids_per_participant"}  # migrations that rewrite the entries table: long on a big hub
SAY_FROM = 100_000  # entries: below this the rebuild takes a second or two


@migrations(name="0001_create_hub")
def _m0001(db: Database) -> None:
    for sql in (
        """CREATE TABLE studies (study_id TEXT NOT NULL, version INTEGER NOT NULL,
            protocol_toml TEXT NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (study_id, version))""",
        """CREATE TABLE participants (participant_id TEXT PRIMARY KEY, study_id TEXT NOT NULL,
            protocol_version INTEGER NOT NULL, start TEXT, tz TEXT NOT NULL,
            unblinded INTEGER NOT NULL DEFAULT 0, enrolled_at TEXT NOT NULL,
            FOREIGN KEY (study_id, protocol_version) REFERENCES studies(study_id, version))""",
        """CREATE TABLE codes (code_hash TEXT PRIMARY KEY,
            participant_id TEXT NOT NULL REFERENCES participants(participant_id),
            created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT)""",
        """CREATE TABLE tokens (token_hash TEXT PRIMARY KEY,
            participant_id TEXT NOT NULL REFERENCES participants(participant_id),
            device TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)""",
        """CREATE TABLE entries (id TEXT PRIMARY KEY,
            participant_id TEXT NOT NULL REFERENCES participants(participant_id),
            diary_date TEXT NOT NULL, supersedes TEXT, content_hash TEXT NOT NULL,
            body TEXT NOT NULL, received_at TEXT NOT NULL, via TEXT NOT NULL)""",
        "CREATE INDEX entries_by_day ON entries(participant_id, diary_date)",
        "CREATE UNIQUE INDEX entries_one_correction ON entries(supersedes) WHERE supersedes IS NOT NULL",
        """CREATE TABLE rejections (entry_id TEXT NOT NULL, participant_id TEXT NOT NULL,
            content_hash TEXT, error TEXT NOT NULL, at TEXT NOT NULL, via TEXT NOT NULL)""",
        "CREATE INDEX rejections_by_participant ON rejections(participant_id)",
        """CREATE TABLE audit (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
            action TEXT NOT NULL, participant_id TEXT, detail TEXT)""",
    ):
        db.execute(sql)


@migrations(name="0002_index_day_reports")
def _m0002(db: Database) -> None:
    # Each day's first report, found from the index alone (ingest asks for every batch's days).
    db.execute("CREATE INDEX entries_day_report ON entries(participant_id, diary_date, id) WHERE supersedes IS NULL")


@migrations(name="0003_create_flags")
def _m0003(db: Database) -> None:
    # A device's doubts about its own entries (its clock was off, or ran backwards), kept beside them.
    db.execute("""CREATE TABLE flags (entry_id TEXT NOT NULL REFERENCES entries(id), flag TEXT NOT NULL,
        detail TEXT NOT NULL, at TEXT NOT NULL, via TEXT NOT NULL, PRIMARY KEY (entry_id, flag))""")


@migrations(name="0004_tokens_remember_code_and_device")
def _m0004(db: Database) -> None:
    # Which code a token was issued for, to which device id: the same device redeeming the same
    # code again soon after (its answer was lost) gets a new token instead of a refusal.
    db.execute("ALTER TABLE tokens ADD COLUMN code_hash TEXT")
    db.execute("ALTER TABLE tokens ADD COLUMN device_id TEXT")


@migrations(name="0005_index_days_with_timing")
def _m0005(db: Database) -> None:
    # Each entry's timing beside it, and one index that holds, per participant and day, the
    # reports with their timing and id: `hub status` counts days from it without reading an
    # entry, and ingest's one-report-a-day lookup reads it (it replaces two indexes).
    db.execute("ALTER TABLE entries ADD COLUMN timing TEXT")
    db.execute("UPDATE entries SET timing = json_extract(body, '$.timing')")
    db.execute("DROP INDEX entries_by_day")
    db.execute("DROP INDEX entries_day_report")
    db.execute("CREATE INDEX entries_by_day ON entries(participant_id, diary_date, supersedes, timing, id)")


@migrations(name="0006_create_device_heads")
def _m0006(db: Database) -> None:
    # Each device's audit-chain head (how many records, the last hash) as last seen by sync or import:
    # a diary file collected later must extend it (sync/hub/chains.py).
    db.execute("""CREATE TABLE device_heads (participant_id TEXT NOT NULL REFERENCES participants(participant_id),
        device_id TEXT NOT NULL, length INTEGER NOT NULL, hash TEXT NOT NULL, at TEXT NOT NULL, via TEXT NOT NULL,
        PRIMARY KEY (participant_id, device_id))""")


ENTRY_COLUMNS = "id, participant_id, diary_date, supersedes, content_hash, body, received_at, via, timing"


@migrations(name="0007_entry_ids_per_participant")
def _m0007(db: Database) -> None:
    # An entry id is unique within its participant's entries, not across the hub. Ids are random
    # UUIDs made on devices, so a hub-wide index on them put every row of a batch on its own page of
    # that index: 100-entry uploads wrote ~160 pages per commit on a 1,000,000-entry hub, and the
    # checkpoints scattered them over the whole file (a batch rate 0.2-0.45 of an empty hub's).
    # Keyed by (participant_id, id), a batch touches its participant's few pages. Every lookup by id
    # is scoped by participant (a device reaches only its own entries); exports keep resource ids
    # unique across participants (sync/hub/export_fhir.py). SQLite cannot drop a primary key, so the
    # table is rebuilt with its rowids (the order of receipt); flags, which point at entries, first.
    db.execute("CREATE TABLE flags_kept AS SELECT e.participant_id, f.* FROM flags f JOIN entries e ON e.id = f.entry_id")
    db.execute("DROP TABLE flags")
    db.execute("""CREATE TABLE entries_rebuilt (id TEXT NOT NULL,
        participant_id TEXT NOT NULL REFERENCES participants(participant_id),
        diary_date TEXT NOT NULL, supersedes TEXT, content_hash TEXT NOT NULL,
        body TEXT NOT NULL, received_at TEXT NOT NULL, via TEXT NOT NULL, timing TEXT)""")
    db.execute(f"INSERT INTO entries_rebuilt (rowid, {ENTRY_COLUMNS}) SELECT rowid, {ENTRY_COLUMNS} FROM entries ORDER BY rowid")
    db.execute("DROP TABLE entries")
    db.execute("ALTER TABLE entries_rebuilt RENAME TO entries")
    db.execute("CREATE UNIQUE INDEX entries_by_participant ON entries(participant_id, id)")
    db.execute("CREATE INDEX entries_by_day ON entries(participant_id, diary_date, supersedes, timing, id)")
    db.execute("CREATE UNIQUE INDEX entries_one_correction ON entries(participant_id, supersedes) WHERE supersedes IS NOT NULL")
    db.execute("""CREATE TABLE flags (participant_id TEXT NOT NULL, entry_id TEXT NOT NULL, flag TEXT NOT NULL,
        detail TEXT NOT NULL, at TEXT NOT NULL, via TEXT NOT NULL, PRIMARY KEY (participant_id, entry_id, flag),
        FOREIGN KEY (participant_id, entry_id) REFERENCES entries(participant_id, id))""")
    db.execute("INSERT INTO flags SELECT participant_id, entry_id, flag, detail, at, via FROM flags_kept")
    db.execute("DROP TABLE flags_kept")


@migrations(name="0008_reclaim_the_rebuilt_entries", transactional=False)
def _m0008(db: Database) -> None:
    # 0007 left the old table's pages free inside the file (a 1,000,000-entry hub grew from 0.8 to
    # 1.45 GB, and each backup with it); VACUUM gives them back (about 5 s at that size). It is
    # housekeeping: one that cannot run (another process writing, no room for its copy) is said and
    # passed over, never a hub that will not open.
    try:
        db.execute("VACUUM")
    except sqlite3.OperationalError as e:
        log.warning("the hub database keeps the space the upgrade freed (%s); reclaim it later with the "
                    "server stopped: sqlite3 HUB.db VACUUM", e)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


PARTICIPANTS = (
    "SELECT p.*, s.protocol_toml FROM participants p JOIN studies s"
    " ON s.study_id = p.study_id AND s.version = p.protocol_version"
)


def _day_one(text) -> tuple[date | None, str | None]:
    """A stored day 1 and, if it cannot be used (not a date, or outside diary_client.core.bounds, as a
    hub before the bounds took from a device), why: the participant then reads as having none,
    so no reader fails on them and status shows the problem."""
    if not text:
        return None, None
    try:
        d = date.fromisoformat(text)
    except (TypeError, ValueError):
        return None, f"day 1 {text!r} on the hub is not a date"
    problem = bounds.date_problem(d)
    return (None, f"day 1 on the hub: {problem}") if problem else (d, None)


def participant_of_row(row: dict) -> Participant:
    start, damaged = _day_one(row["start"])
    return Participant(
        participant_id=row["participant_id"], study_id=row["study_id"],
        protocol_version=row["protocol_version"], protocol_toml=row["protocol_toml"],
        start=start, tz=row["tz"], unblinded=bool(row["unblinded"]), enrolled_at=row["enrolled_at"],
        damaged=damaged,
    )


def first_participant(db: Database, sql: str, args: list) -> Participant | None:
    # A plain cursor, not db.query(): its savepoint triples the statements of every request.
    cur = db.conn.execute(sql, args)
    row = cur.fetchone()
    return None if row is None else participant_of_row(dict(zip((d[0] for d in cur.description), row)))


def get_participant(db: Database, participant_id: str) -> Participant | None:
    return first_participant(db, PARTICIPANTS + " WHERE p.participant_id = ?", [participant_id])


def write_audit(db: Database, at: str, actor: str, action: str, participant_id=None, **detail) -> None:
    """One audit record, inside the caller's transaction."""
    db.execute(
        "INSERT INTO audit (at, actor, action, participant_id, detail) VALUES (?, ?, ?, ?, ?)",
        [at, actor, action, participant_id, json.dumps(detail, sort_keys=True, default=str)],
    )


def _keys(path: Path) -> codes.Keys:
    try:
        return codes.Keys.beside(path)
    except ValueError as e:
        raise HubError(str(e)) from None
    except OSError as e:
        raise HubError(f"{codes.key_path(path)}: cannot read or create the hub's key ({e.strerror})") from None


def _say_long_migrations(db: Database, path: Path) -> bool:
    """A migration that rebuilds the entries table takes about 16 s per million entries, once, on
    the first open by a new version: said before it starts (stderr, or the server's log), so the
    coordinator waits for it rather than stopping it (stopped, it is rolled back and runs again).
    True when such a rebuild is due, on a hub that holds entries."""
    if not {m.name for m in migrations.pending(db)} & REBUILDS or not db["entries"].exists():
        return False
    n = db.execute("SELECT MAX(rowid) FROM entries").fetchone()[0] or 0
    if n >= SAY_FROM:
        log.warning("%s: upgrading the hub database to this version's format (%s entries: about %.0f s, "
                    "once; let it finish)", path, f"{n:,}", max(1.0, 16 * n / 1_000_000))
    return True


class HubDatabase:
    """The hub's file and this process's connections to it. Cheap to make: it only remembers the
    path (and migrates once).

    `readonly`: for commands that only read (status, report, export): nothing is migrated or
    changed, no key file is read or created, and every connection is SQLite's `mode=ro` (which, as
    any reader of a WAL file, may leave its -wal and -shm beside it); a hub older than this code is
    refused in one line. Its one write is `audit` (an export is audited), on a connection of its
    own that creates no file.
    """

    def __init__(self, path: str | Path, migrate: bool = True, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._keys: codes.Keys | None = None
        if readonly:
            self._check_current()
            return
        if migrate:
            try:
                private.file(self.path)  # 0600 in a 0700 folder; its WAL and SHM take its mode
                with self.read() as db:
                    db.execute("PRAGMA journal_mode=WAL")
                    due = _say_long_migrations(db, self.path)
                    migrations.apply(db)
                    if due:  # a rebuild and VACUUM went through the WAL: give its file back now, not at exit
                        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as e:
                self.close()
                raise HubError(f"{self.path}: cannot open the hub database ({e})") from None
            except OSError as e:
                raise HubError(f"{self.path}: cannot open the hub database ({e.strerror})") from None
        self._keys = _keys(self.path)

    @property
    def keys(self) -> codes.Keys:
        """The hub's hashing key (codes and tokens); a read-only hub has none loaded."""
        if self._keys is None:
            raise HubError(f"{self.path}: opened read-only, without the hub's key")
        return self._keys

    def _check_current(self) -> None:
        """A read-only open: the file is a hub database this code can read as it is."""
        if not self.path.is_file():
            raise HubError(f"{self.path}: no hub database there (check --db)")
        try:
            with self.read() as db:
                if not migrations.applied(db):
                    raise HubError(f"{self.path}: not a hub database (check --db)")
                due = migrations.pending(db)
        except sqlite3.DatabaseError as e:
            self.close()
            raise HubError(f"{self.path}: cannot open the hub database ({e})") from None
        if due:
            self.close()
            raise HubError(f"{self.path}: the hub database is from an older version: upgrade it first, keeping its "
                           f"data, by starting the hub once (`diary hub serve --db {self.path}`)")

    def _connect(self, mode: str) -> sqlite3.Connection:
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30,
                               isolation_level=None)

    @contextmanager
    def read(self) -> Iterator[Database]:
        """This thread's connection (sqlite3 refuses to share one across threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            if self.readonly:
                conn = self._connect("ro")
            else:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA synchronous=FULL")  # an acknowledged entry survives a power cut
            conn.execute("PRAGMA foreign_keys=ON")
            db = self._local.db = Database(conn)
        yield db

    def close(self) -> None:
        """Close the calling thread's connection (others close when their threads end)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    @contextmanager
    def tx(self) -> Iterator[Database]:
        """A write transaction: everything in it, its audit records included, or nothing."""
        # Writers queue on a lock in this process: SQLite's own busy handler sleeps in steps of
        # up to 100 ms, which under 50 concurrent uploads costs more than the writes themselves.
        if self.readonly:
            raise HubError(f"{self.path}: opened read-only")
        with self._write_lock, self.read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def audit(self, actor: str, action: str, now: datetime, participant_id=None, **detail) -> None:
        """An audit record in a transaction of its own (read-only: on a connection of its own, `mode=rw`,
        which creates nothing)."""
        if not self.readonly:
            with self.tx() as db:
                write_audit(db, iso(now), actor, action, participant_id, **detail)
            return
        conn = self._connect("rw")
        try:
            conn.execute("PRAGMA synchronous=FULL")
            write_audit(Database(conn), iso(now), actor, action, participant_id, **detail)  # one statement: its own transaction
        except sqlite3.DatabaseError as e:
            raise HubError(f"{self.path}: cannot record the {action} in the hub's audit log ({e})") from None
        finally:
            conn.close()
