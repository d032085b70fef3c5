"""The hub's SQLite file: the only code on the hub that touches its database.

A `Database` is bound to the thread that opened it, and FastAPI runs plain handlers on a thread
pool: so each thread gets its own connection, opened on its first call and kept (opening and
closing per call cost more than the ingest itself: closing the last connection checkpoints the
WAL). Writes take the lock up front (BEGIN IMMEDIATE) and carry their audit record in the same
transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from sqlite_utils import Database, Migrations

from diary_client.entry import Entry, from_wire
from diary_client.protocol import Protocol, parse_protocol, update_problem

from . import codes
from .rules import Participant, protocol_from
from .verdict import Ledger, Stored, hashed, problems_of

migrations = Migrations("hub")


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


class HubError(Exception):
    """Something a coordinator or a device can fix; the message says what."""


class CodeError(HubError):
    """An enrolment code that is wrong, used or expired (deliberately not saying which)."""


def _refuse_masked(protocol: Protocol, hint: str = "") -> None:
    """A double-blind device's masked copy is never taken for the study's protocol."""
    if protocol.masked:
        raise HubError(f"this is a double-blind device's masked copy of study {protocol.id}, not the study's protocol{hint}")


@dataclass
class IngestResult:
    accepted: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (entry id, reason)
    receipts: list[tuple[str, str, str]] = field(default_factory=list)  # (id, received_at, hash)
    verdicts: list[str] = field(default_factory=list)  # per entry, in order: accepted/duplicate/rejected


@dataclass(frozen=True)
class Enrolment:
    participant: Participant
    token: str


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def _participant(row: dict) -> Participant:
    return Participant(
        participant_id=row["participant_id"], study_id=row["study_id"],
        protocol_version=row["protocol_version"], protocol_toml=row["protocol_toml"],
        start=date.fromisoformat(row["start"]) if row["start"] else None, tz=row["tz"],
        unblinded=bool(row["unblinded"]), enrolled_at=row["enrolled_at"],
    )


def _first_participant(db: Database, sql: str, args: list) -> Participant | None:
    # A plain cursor, not db.query(): its savepoint triples the statements of every request.
    cur = db.conn.execute(sql, args)
    row = cur.fetchone()
    return None if row is None else _participant(dict(zip((d[0] for d in cur.description), row)))


_PARTICIPANTS = (
    "SELECT p.*, s.protocol_toml FROM participants p JOIN studies s"
    " ON s.study_id = p.study_id AND s.version = p.protocol_version"
)


class HubStore:
    """The hub's database. Cheap to make: it only remembers the path (and migrates once)."""

    def __init__(self, path: str | Path, migrate: bool = True):
        self.path = Path(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        if migrate:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self._db() as db:
                    db.execute("PRAGMA journal_mode=WAL")
                    migrations.apply(db)
            except sqlite3.DatabaseError as e:
                self.close()
                raise HubError(f"{self.path}: cannot open the hub database ({e})") from None
            except OSError as e:
                raise HubError(f"{self.path}: cannot open the hub database ({e.strerror})") from None

    @contextmanager
    def _db(self) -> Iterator[Database]:
        """This thread's connection (sqlite3 refuses to share one across threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
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
    def _tx(self) -> Iterator[Database]:
        # Writers queue on a lock in this process: SQLite's own busy handler sleeps in steps of
        # up to 100 ms, which under 50 concurrent uploads costs more than the writes themselves.
        with self._write_lock, self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _audit(db: Database, at: str, actor: str, action: str, participant_id=None, **detail) -> None:
        db.execute(
            "INSERT INTO audit (at, actor, action, participant_id, detail) VALUES (?, ?, ?, ?, ?)",
            [at, actor, action, participant_id, json.dumps(detail, sort_keys=True, default=str)],
        )

    def audit(self, actor: str, action: str, now: datetime, participant_id=None, **detail) -> None:
        with self._tx() as db:
            self._audit(db, iso(now), actor, action, participant_id, **detail)

    # -- participants, codes and tokens --------------------------------------------------------

    def _get(self, db: Database, participant_id: str) -> Participant | None:
        return _first_participant(db, _PARTICIPANTS + " WHERE p.participant_id = ?", [participant_id])

    def participant(self, participant_id: str) -> Participant | None:
        with self._db() as db:
            return self._get(db, participant_id)

    def _register(self, db: Database, participant_id: str, toml: str, start: date | None,
                  tz: str, at: str, actor: str) -> Participant:
        """Add the participant (and the study protocol) if new; check they match if known.

        A new participant joins a study the hub already has at its latest protocol version (the
        protocol given must be one of the study's versions, as the hub holds it).
        """
        protocol = parse_protocol(toml)
        have = self._get(db, participant_id)
        if have is not None:
            if have.study_id != protocol.id:
                raise HubError(f"participant {participant_id} is already in study {have.study_id}, not {protocol.id}")
            if protocol.version > have.protocol_version:
                raise HubError(f"participant {participant_id} is on version {have.protocol_version} of study "
                               f"{protocol.id}: publish version {protocol.version} with `diary hub protocol` first")
            if start and have.start and start != have.start:
                raise HubError(f"participant {participant_id}'s day 1 on the hub is {have.start}, not {start}")
            return have
        _refuse_masked(protocol, f": enrol {participant_id} on the hub with the study's own protocol first")
        versions = dict(db.execute("SELECT version, protocol_toml FROM studies WHERE study_id = ?",
                                   [protocol.id]).fetchall())
        version = max(versions, default=protocol.version)
        if not versions:
            db.execute("INSERT INTO studies VALUES (?, ?, ?, ?)", [protocol.id, protocol.version, toml, at])
            self._audit(db, at, actor, "add_study", study_id=protocol.id, version=protocol.version)
        elif protocol.version > version:
            raise HubError(f"the hub has study {protocol.id} up to version {version}: publish version "
                           f"{protocol.version} with `diary hub protocol` first")
        elif protocol.version not in versions or protocol_from(versions[protocol.version]) != protocol:
            raise HubError(f"the hub already has study {protocol.id} version {protocol.version} with "
                           "other content: give the protocol a new version number")
        db.execute(
            "INSERT INTO participants (participant_id, study_id, protocol_version, start, tz, enrolled_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [participant_id, protocol.id, version, start.isoformat() if start else None, tz, at],
        )
        self._audit(db, at, actor, "register", participant_id, study_id=protocol.id,
                    start=start.isoformat() if start else None)
        return self._get(db, participant_id)  # type: ignore[return-value]

    def register(self, participant_id: str, toml: str, start: date | None, tz: str, now: datetime,
                 actor: str = "coordinator") -> Participant:
        with self._tx() as db:
            return self._register(db, participant_id, toml, start, tz, iso(now), actor)

    def enroll(self, participant_id: str, toml: str, start: date | None, tz: str, now: datetime) -> str:
        """Register the participant if new and issue a one-time enrolment code (only its hash is kept)."""
        code = codes.new_code()
        at = iso(now)
        with self._tx() as db:
            self._register(db, participant_id, toml, start, tz, at, "coordinator")
            db.execute("INSERT INTO codes VALUES (?, ?, ?, ?, NULL)",
                       [codes.digest(codes.normalize_code(code)), participant_id, at, iso(now + codes.CODE_TTL)])
            self._audit(db, at, "coordinator", "issue_code", participant_id)
        return code

    def redeem(self, code: str, device: str, now: datetime, participant_id: str | None = None,
               start: date | None = None, tz: str | None = None) -> Enrolment:
        """Exchange a valid code, once, for a new device token. Nothing changes if anything is off."""
        norm = codes.normalize_code(code)
        at = iso(now)
        with self._tx() as db:
            row = None if norm is None else db.execute(
                "SELECT participant_id, expires_at, used_at FROM codes WHERE code_hash = ?",
                [codes.digest(norm)]).fetchone()
            refused = row is None or row[2] is not None or row[1] < at or bool(participant_id and participant_id != row[0])
            if refused:
                self._audit(db, at, "device", "redeem_refused", None)
        if refused:
            raise CodeError("this enrolment code is not valid (mistyped, already used, expired, "
                            "or for another participant): ask the coordinator for a new one")
        with self._tx() as db:
            row = db.execute("SELECT participant_id, used_at FROM codes WHERE code_hash = ?",
                             [codes.digest(norm)]).fetchone()  # type: ignore[arg-type]
            if row[1] is not None:  # redeemed by a concurrent request in between
                raise CodeError("this enrolment code was just used: ask the coordinator for a new one")
            p = self._get(db, row[0])
            assert p is not None
            if start and p.start and start != p.start:
                raise HubError(f"the hub has {p.start} as day 1 for {p.participant_id}, not {start}: "
                               "enrol without --start")
            if p.start is None or (tz and tz != p.tz):
                new_start = p.start or start or p.local(now).date()
                db.execute("UPDATE participants SET start = ?, tz = ? WHERE participant_id = ?",
                           [new_start.isoformat(), tz or p.tz, p.participant_id])
            token = codes.new_token()
            db.execute("UPDATE codes SET used_at = ? WHERE code_hash = ?", [at, codes.digest(norm)])  # type: ignore[arg-type]
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, NULL)",
                       [codes.digest(token), p.participant_id, device, at])
            self._audit(db, at, "device", "redeem", p.participant_id, device=device)
            return Enrolment(self._get(db, p.participant_id), token)  # type: ignore[arg-type]

    def publish(self, toml: str, now: datetime) -> tuple[str, int, list[str]]:
        """Add a newer version of a study's protocol and move the study's participants to it.

        Returns (study id, version, participants moved); their devices take it at their next
        sync. Entries made under an earlier version are still checked against that version.
        """
        new = parse_protocol(toml)
        _refuse_masked(new)
        at = iso(now)
        with self._tx() as db:
            row = db.execute("SELECT protocol_toml FROM studies WHERE study_id = ? ORDER BY version DESC LIMIT 1",
                             [new.id]).fetchone()
            if row is None:
                raise HubError(f"the hub has no study {new.id!r} yet: enrol a participant with it first")
            problem = update_problem(protocol_from(row[0]), new)
            if problem:
                raise HubError(f"this protocol cannot update study {new.id}: {problem}")
            db.execute("INSERT INTO studies VALUES (?, ?, ?, ?)", [new.id, new.version, toml, at])
            moved = [r[0] for r in db.execute(
                "SELECT participant_id FROM participants WHERE study_id = ? ORDER BY participant_id", [new.id])]
            db.execute("UPDATE participants SET protocol_version = ? WHERE study_id = ?", [new.version, new.id])
            self._audit(db, at, "coordinator", "publish_protocol", None, study_id=new.id, version=new.version,
                        participants=len(moved))
        return new.id, new.version, moved

    def revoke(self, participant_id: str, now: datetime) -> int:
        """Revoke every live device token of the participant, and void their unused enrolment
        codes (a lost device's papers may hold one); returns how many tokens."""
        at = iso(now)
        with self._tx() as db:
            if self._get(db, participant_id) is None:
                raise HubError(f"no participant {participant_id!r} on this hub")
            n = db.execute("UPDATE tokens SET revoked_at = ? WHERE participant_id = ? AND revoked_at IS NULL",
                           [at, participant_id]).rowcount
            codes_voided = db.execute("UPDATE codes SET used_at = ? WHERE participant_id = ? AND used_at IS NULL",
                                      [at, participant_id]).rowcount
            self._audit(db, at, "coordinator", "revoke_tokens", participant_id, tokens=n, codes=codes_voided)
        return n

    def authenticate(self, token_hash: str) -> Participant | None:
        """The participant a (hashed) device token belongs to, or None."""
        with self._db() as db:
            return _first_participant(db, _PARTICIPANTS + " JOIN tokens t ON t.participant_id = p.participant_id"
                                      " WHERE t.token_hash = ? AND t.revoked_at IS NULL", [token_hash])

    def unblind(self, ids: list[str] | None, now: datetime) -> list[str]:
        """Release true phase names to these participants (None: everyone); returns who."""
        at = iso(now)
        with self._tx() as db:
            known = [r[0] for r in db.execute("SELECT participant_id FROM participants ORDER BY participant_id")]
            chosen = known if ids is None else ids
            missing = [i for i in chosen if i not in known]
            if missing:
                raise HubError(f"no participant {missing[0]!r} on this hub")
            for pid in chosen:
                db.execute("UPDATE participants SET unblinded = 1 WHERE participant_id = ?", [pid])
                self._audit(db, at, "coordinator", "unblind", pid)
            return chosen

    # -- entries ---------------------------------------------------------------------------------

    def ingest(self, participant_id: str, entries: Iterable[Entry], now: datetime, via: str = "api",
               seen: Participant | None = None, flags: Iterable[tuple[str, str, str]] = ()) -> IngestResult:
        """Judge and store a batch for one participant in one transaction, with a result per entry.

        Same id and content: duplicate. Same id, other content: rejected. New: checked against
        the protocol and the day's earlier reports, then stored with its receipt time.

        `flags` (entry id, flag, detail) are the device's doubts about entries of this batch; those
        of entries stored or already on the hub are kept beside them.

        Hashing and the protocol checks need no database, so they run before the write lock is
        taken (under it, 50 uploads would queue behind them), against `seen`: the participant as
        the caller just read them; checked again if that has changed since.
        """
        at, out = iso(now), IngestResult()
        entries = list(entries)
        before = seen if seen is not None else self.participant(participant_id)
        bodies = [hashed(e) for e in entries]
        with self._db() as db:
            versions = self._versions(db, before, entries)
        problems = problems_of(entries, before, versions)
        with self._tx() as db:
            p = self._get(db, participant_id)
            if p is None:
                raise HubError(f"no participant {participant_id!r} on this hub")
            if p != before:  # changed in between (day 1 set by an enrolment, an update): check again
                problems = problems_of(entries, p, self._versions(db, p, entries))
            ledger = self._ledger(db, p.participant_id, entries)
            stored, refused = [], []
            for e, (body, h), problem in zip(entries, bodies, problems):
                verdict, detail = ledger.judge(e, h, problem)
                out.verdicts.append(verdict)
                if verdict == "accepted":
                    ledger.add(e, h, at)  # type: ignore[arg-type]
                    stored.append((e.id, participant_id, e.diary_date.isoformat(), e.supersedes, h, body, at, via))
                    out.accepted.append(e.id)
                    out.receipts.append((e.id, at, h))  # type: ignore[arg-type]
                elif verdict == "duplicate":
                    out.duplicate.append(e.id)
                    out.receipts.append((e.id, detail, h))  # type: ignore[arg-type]
                else:
                    out.rejected.append((e.id, detail))  # type: ignore[arg-type]
                    refused.append((e.id, participant_id, h, detail, at, via))
            db.conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", stored)
            db.conn.executemany("INSERT INTO rejections VALUES (?, ?, ?, ?, ?, ?)", refused)
            held = {*out.accepted, *out.duplicate}
            db.conn.executemany("INSERT OR IGNORE INTO flags VALUES (?, ?, ?, ?, ?)",
                                [(i, f, d, at, via) for i, f, d in flags if i in held])
            self._audit(db, at, via, "ingest", participant_id, accepted=len(out.accepted),
                        duplicate=len(out.duplicate), rejected=[r[0] for r in out.rejected])
        return out

    @staticmethod
    def _versions(db: Database, p: Participant | None, entries: list[Entry]) -> dict[int, str]:
        """The study's earlier protocol versions that the batch's entries were made under."""
        wanted = {e.protocol_version for e in entries} - {p.protocol_version} if p else set()
        if not wanted:
            return {}
        return dict(db.conn.execute(
            "SELECT version, protocol_toml FROM studies WHERE study_id = ? AND version IN (SELECT value FROM json_each(?))",
            [p.study_id, json.dumps(sorted(v for v in wanted if isinstance(v, int) and abs(v) < 2**62))]))

    @staticmethod
    def _ledger(db: Database, participant_id: str, entries: list[Entry]) -> Ledger:
        """What the hub holds that the batch's verdicts depend on: one query per kind of fact."""
        ledger = Ledger(participant_id)
        targets = {e.supersedes for e in entries if e.supersedes}
        ids = json.dumps(sorted({e.id for e in entries} | targets))
        for i, pid, h, received, day in db.conn.execute(
                "SELECT id, participant_id, content_hash, received_at, diary_date FROM entries"
                " WHERE id IN (SELECT value FROM json_each(?))", [ids]):
            ledger.entries[i] = Stored(pid, h, received, day)
        if targets:
            ledger.corrected_by.update(db.conn.execute(
                "SELECT supersedes, id FROM entries WHERE supersedes IN (SELECT value FROM json_each(?))",
                [json.dumps(sorted(targets))]))
        days = sorted({e.diary_date.isoformat() for e in entries if not e.supersedes})
        if days:
            for day, i in db.conn.execute(
                    "SELECT diary_date, id FROM entries WHERE participant_id = ? AND supersedes IS NULL"
                    " AND diary_date IN (SELECT value FROM json_each(?))", [participant_id, json.dumps(days)]):
                ledger.day_report.setdefault(day, i)
        return ledger

    def page(self, participant_id: str, after: int, limit: int) -> tuple[list[dict], int | None]:
        """The participant's entries in the order the hub received them, `limit` after the
        cursor `after`: rows as `received` gives them, and the next cursor (None: no more)."""
        with self._db() as db:
            rows = db.conn.execute(
                "SELECT rowid, body, received_at, content_hash FROM entries WHERE participant_id = ? AND rowid > ?"
                " ORDER BY rowid LIMIT ?", [participant_id, after, limit]).fetchall()
        out = [{"entry": from_wire(orjson.loads(body)), "received_at": at, "content_hash": h}
               for _, body, at, h in rows]
        return out, (rows[-1][0] if len(rows) == limit else None)

    def receipt(self, participant_id: str, entry_id: str) -> dict | None:
        """The hub's receipt of one of this participant's entries; None for anyone else's."""
        with self._db() as db:
            rows = list(db.query("SELECT id, received_at, content_hash FROM entries WHERE id = ? AND participant_id = ?",
                                 [entry_id, participant_id]))
            return rows[0] if rows else None

    # -- reading (also the read API for analysis) ----------------------------------------------

    def participants(self) -> list[Participant]:
        """Every participant with study, day 1, protocol and unblinding, by id."""
        with self._db() as db:
            return [_participant(r) for r in db.query(_PARTICIPANTS + " ORDER BY p.participant_id")]

    def received(self, participant_id: str | None = None) -> list[dict]:
        """Stored entries as {"entry": Entry, "received_at", "via", "content_hash"}, oldest first."""
        sql, args = "SELECT body, received_at, via, content_hash FROM entries", []
        if participant_id is not None:
            sql, args = sql + " WHERE participant_id = ?", [participant_id]
        with self._db() as db:
            rows = list(db.query(sql + " ORDER BY participant_id, diary_date, rowid", args))
        return [{"entry": from_wire(orjson.loads(r["body"])), "received_at": r["received_at"],
                 "via": r["via"], "content_hash": r["content_hash"]} for r in rows]

    def entries(self, participant_id: str | None = None) -> list[Entry]:
        """Every stored entry (corrections and superseded ones included), by participant and date."""
        return [r["entry"] for r in self.received(participant_id)]

    def summary(self, participant_id: str | None = None) -> dict[str, dict]:
        """Per participant id: entries, last_received_at, quarantined (rejected and never stored)."""
        where, args = ("WHERE participant_id = ?", [participant_id]) if participant_id else ("", [])
        also = "AND participant_id = ?" if participant_id else ""
        with self._db() as db:
            out = {r["participant_id"]: {"entries": r["n"], "last_received_at": r["last"], "quarantined": 0}
                   for r in db.query("SELECT participant_id, COUNT(*) AS n, MAX(received_at) AS last"
                                     f" FROM entries {where} GROUP BY participant_id", args)}
            for r in db.query("SELECT participant_id, COUNT(DISTINCT entry_id) AS n FROM rejections"
                              f" WHERE entry_id NOT IN (SELECT id FROM entries) {also} GROUP BY participant_id", args):
                out.setdefault(r["participant_id"], {"entries": 0, "last_received_at": None})["quarantined"] = r["n"]
        return out

    def flags(self, participant_id: str | None = None) -> dict[str, list[str]]:
        """Entry id -> its flags (sorted), for the participant's entries or everyone's."""
        sql, args = "SELECT f.entry_id, f.flag FROM flags f JOIN entries e ON e.id = f.entry_id", []
        if participant_id is not None:
            sql, args = sql + " WHERE e.participant_id = ?", [participant_id]
        out: dict[str, list[str]] = {}
        with self._db() as db:
            for entry_id, flag in db.conn.execute(sql + " ORDER BY f.entry_id, f.flag", args):
                out.setdefault(entry_id, []).append(flag)
        return out

    def rejections(self) -> list[dict]:
        with self._db() as db:
            return list(db.query("SELECT * FROM rejections ORDER BY at"))

    def audit_log(self) -> list[dict]:
        with self._db() as db:
            return list(db.query("SELECT * FROM audit ORDER BY seq"))
