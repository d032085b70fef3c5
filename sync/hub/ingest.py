"""Ingest: judging and storing a batch of one participant's entries in one transaction, with a verdict per entry."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from diary_client.core.clock import ZONE_FLAG
from diary_client.core.entry import Entry
from sync.hub.database import HubDatabase, get_participant, iso, write_audit
from sync.hub.errors import HubError
from sync.hub.rules import Participant, zone_doubt
from sync.hub.verdict import Accepted, Duplicate, Ledger, Stored, hashed, problems_of


@dataclass
class IngestResult:
    accepted: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (entry id, reason)
    receipts: list[tuple[str, str, str]] = field(default_factory=list)  # (id, received_at, hash)
    verdicts: list[str] = field(default_factory=list)  # per entry, in order: accepted/duplicate/rejected


INSERT_ENTRY = ("INSERT INTO entries (id, participant_id, diary_date, supersedes, content_hash, body, received_at, via,"
                " timing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def ingest(hub: HubDatabase, participant_id: str, entries: Iterable[Entry], now: datetime, via: str = "api",
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
    before = seen if seen is not None else _participant(hub, participant_id)
    bodies = [hashed(e) for e in entries]
    with hub.read() as db:
        versions = _versions(db, before, entries)
    uploaded = via == "api"  # a device's own upload, not a file the coordinator collected
    problems = problems_of(entries, before, versions, before.local(now).date() if before else None, uploaded)
    with hub.tx() as db:
        p = get_participant(db, participant_id)
        if p is None:
            raise HubError(f"no participant {participant_id!r} on this hub")
        if p != before:  # changed in between (day 1 set by an enrolment, an update): check again
            problems = problems_of(entries, p, _versions(db, p, entries), p.local(now).date(), uploaded)
        ledger = _ledger(db, p.participant_id, entries)
        stored, refused = [], []
        for e, (body, h), problem in zip(entries, bodies, problems):
            verdict = ledger.judge(e, h, problem)
            out.verdicts.append(verdict.kind)
            if isinstance(verdict, Accepted):
                ledger.add(e, verdict.content_hash, at)
                stored.append((e.id, participant_id, e.diary_date.isoformat(), e.supersedes, verdict.content_hash, body,
                               at, via, e.timing))
                out.accepted.append(e.id)
                out.receipts.append((e.id, at, verdict.content_hash))
            elif isinstance(verdict, Duplicate):
                out.duplicate.append(e.id)
                out.receipts.append((e.id, verdict.received_at, verdict.content_hash))
            else:
                out.rejected.append((e.id, verdict.reason))
                refused.append((e.id, participant_id, h, verdict.reason, at, via))
        db.conn.executemany(INSERT_ENTRY, stored)
        db.conn.executemany("INSERT INTO rejections VALUES (?, ?, ?, ?, ?, ?)", refused)
        held = {*out.accepted, *out.duplicate}
        doubts = [(e.id, ZONE_FLAG, why) for e in entries if e.id in held and (why := zone_doubt(e, p))]
        db.conn.executemany("INSERT OR IGNORE INTO flags VALUES (?, ?, ?, ?, ?, ?)",
                            [(participant_id, i, f, d, at, via) for i, f, d in [*flags, *doubts] if i in held])
        write_audit(db, at, via, "ingest", participant_id, accepted=len(out.accepted),
                    duplicate=len(out.duplicate), rejected=[r[0] for r in out.rejected])
    return out

def _versions(db: Database, p: Participant | None, entries: list[Entry]) -> dict[int, str]:
    """The study's earlier protocol versions that the batch's entries were made under."""
    wanted = {e.protocol_version for e in entries} - {p.protocol_version} if p else set()
    if p is None or not wanted:
        return {}
    return dict(db.conn.execute(
        "SELECT version, protocol_toml FROM studies WHERE study_id = ? AND version IN (SELECT value FROM json_each(?))",
        [p.study_id, json.dumps(sorted(v for v in wanted if isinstance(v, int) and abs(v) < 2**62))]))

def _ledger(db: Database, participant_id: str, entries: list[Entry]) -> Ledger:
    """What the hub holds of this participant that the batch's verdicts depend on: one query per kind
    of fact. Entry ids are unique per participant (migration 0007): another participant's entries
    are never looked at, so an upload tells a device nothing about them."""
    ledger = Ledger(participant_id)
    targets = {e.supersedes for e in entries if e.supersedes}
    ids = json.dumps(sorted({e.id for e in entries} | targets))
    for i, pid, h, received, day in db.conn.execute(
            "SELECT id, participant_id, content_hash, received_at, diary_date FROM entries"
            " WHERE participant_id = ? AND id IN (SELECT value FROM json_each(?))", [participant_id, ids]):
        ledger.entries[i] = Stored(pid, h, received, day)
    if targets:
        ledger.corrected_by.update(db.conn.execute(
            "SELECT supersedes, id FROM entries WHERE participant_id = ? AND supersedes IN (SELECT value FROM json_each(?))",
            [participant_id, json.dumps(sorted(targets))]))
    days = sorted({e.diary_date.isoformat() for e in entries if not e.supersedes})
    if days:
        for day, i in db.conn.execute(
                "SELECT diary_date, id FROM entries WHERE participant_id = ? AND supersedes IS NULL"
                " AND diary_date IN (SELECT value FROM json_each(?))", [participant_id, json.dumps(days)]):
            ledger.day_report.setdefault(day, i)
    return ledger


def _participant(hub: HubDatabase, participant_id: str) -> Participant | None:
    with hub.read() as db:
        return get_participant(db, participant_id)
