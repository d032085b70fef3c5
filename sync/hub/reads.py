"""Reads of the hub: participants, their entries and receipts, summaries, flags and rejections."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import get_args

from diary_client.core.clock import CLOCK_FLAGS
from diary_client.core.entry import Entry, Timing, stored_entry
from diary_client.core.protocol import Schedule
from diary_client.core.schedule import FiledDays, unproven_dates
from sync.hub.database import PARTICIPANTS, HubDatabase, get_participant, participant_of_row
from sync.hub.rules import Participant


@dataclass(frozen=True)
class PhaseDates:
    """One participant's phase as `Reads.filed_counts` counts it: its dates and the window cutoffs."""

    participant_id: str
    phase_id: str
    first: date
    last: date
    closed: date  # the last date whose window has closed
    past_grace: date  # the last date whose grace period is over
    schedule: Schedule | None = None  # with `tz`: judges whether a doubted report reached the hub in time
    tz: tzinfo | None = None  # the participant's registered zone


class Reads:
    """What the hub holds, for the device API, status, export and the reports (never writes)."""

    def __init__(self, db: HubDatabase):
        self.db = db

    def participant(self, participant_id: str) -> Participant | None:
        with self.db.read() as db:
            return get_participant(db, participant_id)

    def page(self, participant_id: str, after: int, limit: int) -> tuple[list[dict], int | None]:
        """The participant's entries in the order the hub received them, `limit` after the first
        `after` of them: rows as `received` gives them, and the next cursor (None: no more).

        The cursor counts this participant's own entries only (entries are never removed, and
        new ones come last, so a position never moves): it tells a device nothing about others.
        """
        with self.db.read() as db:
            rows = db.conn.execute(
                "SELECT body, received_at, content_hash FROM entries WHERE participant_id = ?"
                " ORDER BY rowid LIMIT ? OFFSET ?", [participant_id, limit, after]).fetchall()
        out = [{"entry": stored_entry(body), "received_at": at, "content_hash": h}
               for body, at, h in rows]
        return out, (after + len(rows) if len(rows) == limit else None)

    def receipt(self, participant_id: str, entry_id: str) -> dict | None:
        """The hub's receipt of one of this participant's entries; None for anyone else's."""
        with self.db.read() as db:
            rows = list(db.query("SELECT id, received_at, content_hash FROM entries WHERE id = ? AND participant_id = ?",
                                 [entry_id, participant_id]))
            return rows[0] if rows else None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see the database as it was when the block began (one read transaction),
        while the hub goes on serving: an export is consistent however long it takes."""
        with self.db.read() as db:
            db.execute("BEGIN")
            try:
                yield
            finally:
                db.execute("COMMIT")

    def participant_ids(self) -> list[str]:
        with self.db.read() as db:
            return [r[0] for r in db.conn.execute("SELECT participant_id FROM participants ORDER BY participant_id")]

    def studies(self) -> list[tuple[str, int, str]]:
        """Every protocol version of every study: (study id, version, protocol TOML)."""
        with self.db.read() as db:
            return list(db.conn.execute("SELECT study_id, version, protocol_toml FROM studies ORDER BY study_id, version"))

    def participants(self) -> list[Participant]:
        """Every participant with study, day 1, protocol and unblinding, by id."""
        texts: dict[str, str] = {}  # a study's participants share one copy of its protocol text
        with self.db.read() as db:
            rows = db.query(PARTICIPANTS + " ORDER BY p.participant_id")
            return [participant_of_row(r | {"protocol_toml": texts.setdefault(r["protocol_toml"], r["protocol_toml"])})
                    for r in rows]

    def received(self, participant_id: str | None = None) -> list[dict]:
        """Stored entries as {"entry": Entry, "received_at", "via", "content_hash"}, oldest first."""
        sql, args = "SELECT body, received_at, via, content_hash FROM entries", []
        if participant_id is not None:
            sql, args = sql + " WHERE participant_id = ?", [participant_id]
        with self.db.read() as db:
            rows = list(db.query(sql + " ORDER BY participant_id, diary_date, rowid", args))
        return [{"entry": stored_entry(r["body"]), "received_at": r["received_at"],
                 "via": r["via"], "content_hash": r["content_hash"]} for r in rows]

    def entries(self, participant_id: str | None = None) -> list[Entry]:
        """Every stored entry (corrections and superseded ones included), by participant and date."""
        return [r["entry"] for r in self.received(participant_id)]

    def summary(self, participant_id: str | None = None) -> dict[str, dict]:
        """Per participant id: entries, last_received_at (of the entry stored last), quarantined
        (rejected and never stored). Counted from the index, not the table: no entry is read."""
        where, args = ("WHERE participant_id = ?", [participant_id]) if participant_id else ("", [])
        also = "AND participant_id = ?" if participant_id else ""
        with self.db.read() as db:
            out = {pid: {"entries": n, "last_received_at": last, "quarantined": 0}
                   for pid, n, last in db.conn.execute(
                       "SELECT g.participant_id, g.n, e.received_at FROM (SELECT participant_id, COUNT(*) AS n,"
                       f" MAX(rowid) AS last FROM entries {where} GROUP BY participant_id) g"
                       " JOIN entries e ON e.rowid = g.last", args)}
            for pid, n in db.conn.execute(
                    "SELECT participant_id, COUNT(DISTINCT entry_id) FROM rejections r WHERE NOT EXISTS (SELECT 1"
                    " FROM entries e WHERE e.participant_id = r.participant_id AND e.id = r.entry_id)"
                    f" {also} GROUP BY participant_id", args):
                out.setdefault(pid, {"entries": 0, "last_received_at": None})["quarantined"] = n
        return out

    def filed_counts(self, phases: Iterable[PhaseDates]) -> dict[tuple[str, str], FiledDays]:
        """Per (participant id, phase id): the phase's days with a report, counted by timing, those
        the clock guard doubts (a report of the day carries a flag), and those on or before the
        window cutoffs. A day's report is its original (corrections change answers, not the day)."""
        timings = get_args(Timing)
        sums = ", ".join("SUM(e.timing = ?)" for _ in timings)
        filling = "COALESCE(e.timing, '') != 'import'"  # an imported day is never filled (schedule.fills)
        rows = [(x.participant_id, x.phase_id, x.first.isoformat(), x.last.isoformat(), x.closed.isoformat(),
                 x.past_grace.isoformat()) for x in phases]
        with self.db.read() as db:
            conn = db.conn
            conn.execute("BEGIN")  # one snapshot for both queries; the temporary table goes with the rollback
            try:
                conn.execute("CREATE TEMP TABLE status_phases (participant_id TEXT NOT NULL, phase_id TEXT NOT NULL,"
                             " first TEXT NOT NULL, last TEXT NOT NULL, closed TEXT NOT NULL, past_grace TEXT NOT NULL,"
                             " PRIMARY KEY (participant_id, first)) WITHOUT ROWID")
                conn.executemany("INSERT INTO temp.status_phases VALUES (?, ?, ?, ?, ?, ?)", rows)
                counted = conn.execute(
                    f"SELECT s.participant_id, s.phase_id, {sums}, SUM(e.diary_date <= s.closed AND {filling}),"
                    f" SUM(e.diary_date <= s.past_grace AND {filling}) FROM temp.status_phases s JOIN entries e"
                    " ON e.participant_id = s.participant_id AND e.diary_date BETWEEN s.first AND s.last"
                    " AND e.supersedes IS NULL GROUP BY s.participant_id, s.first", timings).fetchall()
                doubted = conn.execute(  # CROSS JOIN keeps this order: from the (few) flags out
                    "SELECT DISTINCT s.participant_id, s.phase_id, o.diary_date, o.timing FROM flags f"
                    " CROSS JOIN entries e ON e.participant_id = f.participant_id AND e.id = f.entry_id"
                    " CROSS JOIN entries o ON o.participant_id = e.participant_id"
                    " AND o.diary_date = e.diary_date AND o.supersedes IS NULL CROSS JOIN temp.status_phases s"
                    " ON s.participant_id = o.participant_id AND o.diary_date BETWEEN s.first AND s.last").fetchall()
                clock_doubted = conn.execute(  # days whose own report the clock guard doubts, and when it came
                    "SELECT DISTINCT s.participant_id, s.phase_id, o.diary_date, o.timing, o.received_at FROM flags f"
                    " CROSS JOIN entries o ON o.participant_id = f.participant_id AND o.id = f.entry_id"
                    " AND o.supersedes IS NULL AND COALESCE(o.timing, '') != 'import' CROSS JOIN temp.status_phases s"
                    " ON s.participant_id = o.participant_id AND o.diary_date BETWEEN s.first AND s.last"
                    f" WHERE f.flag IN ({', '.join('?' * len(CLOCK_FLAGS))})", CLOCK_FLAGS).fetchall()
            finally:
                conn.execute("ROLLBACK")
        doubts: dict[tuple[str, str], dict[str, int]] = {}
        for pid, phase_id, _, timing in doubted:
            by = doubts.setdefault((pid, phase_id), {})
            by[timing] = by.get(timing, 0) + 1
        where = {(x.participant_id, x.phase_id): x for x in phases}
        unproven: dict[tuple[str, str], dict[str, int]] = {}
        not_filled: dict[tuple[str, str], list[date]] = {}
        for pid, phase_id, day, timing, received in clock_doubted:
            x, d = where[(pid, phase_id)], date.fromisoformat(day)
            if x.schedule is None or x.tz is None or not unproven_dates(x.schedule, x.tz, {d: datetime.fromisoformat(received)}):
                continue
            by = unproven.setdefault((pid, phase_id), {})
            by[timing] = by.get(timing, 0) + 1
            not_filled.setdefault((pid, phase_id), []).append(d)
        out = {}
        for pid, phase_id, *n, closed, past_grace in counted:
            by_timing = {t: k for t, k in zip(timings, n) if k}
            x, gone = where[(pid, phase_id)], not_filled.get((pid, phase_id), [])
            out[(pid, phase_id)] = FiledDays(by_timing, doubts.get((pid, phase_id), {}),
                                             (closed or 0) - sum(d <= x.closed for d in gone),
                                             (past_grace or 0) - sum(d <= x.past_grace for d in gone),
                                             unproven.get((pid, phase_id), {}))
        return out

    def syncing(self) -> set[str]:
        """Participants with a device that uploads over the network (a token not revoked)."""
        with self.db.read() as db:
            return {r[0] for r in db.conn.execute("SELECT DISTINCT participant_id FROM tokens WHERE revoked_at IS NULL")}

    def filed_on(self, days: Iterable[tuple[str, date]]) -> set[tuple[str, date]]:
        """Which of these (participant id, diary date) pairs have a report on the hub (from the index)."""
        wanted = [(pid, d.isoformat()) for pid, d in days]
        if not wanted:
            return set()
        with self.db.read() as db:
            rows = db.conn.execute(
                "SELECT DISTINCT e.participant_id, e.diary_date FROM entries e JOIN json_each(?) w"
                " ON e.participant_id = json_extract(w.value, '$[0]') AND e.diary_date = json_extract(w.value, '$[1]')",
                [json.dumps(wanted)]).fetchall()
        return {(pid, date.fromisoformat(d)) for pid, d in rows}

    def flagged_counts(self) -> dict[str, int]:
        """Per participant id: how many of their entries carry a flag (the device's clock doubts)."""
        with self.db.read() as db:
            return dict(db.conn.execute("SELECT participant_id, COUNT(DISTINCT entry_id) FROM flags"
                                        " GROUP BY participant_id"))

    def flags(self, participant_id: str | None = None) -> dict[str, list[str]]:
        """Entry id -> its flags (sorted), for the participant's entries or everyone's."""
        sql, args = "SELECT entry_id, flag FROM flags", []
        if participant_id is not None:
            sql, args = sql + " WHERE participant_id = ?", [participant_id]
        out: dict[str, list[str]] = {}
        with self.db.read() as db:
            for entry_id, flag in db.conn.execute(sql + " ORDER BY entry_id, flag", args):
                out.setdefault(entry_id, []).append(flag)
        return out

    def reused_ids(self) -> set[tuple[str, str]]:
        """(participant id, entry id) of the entries whose id an entry of another participant, stored
        earlier, holds too. Ids are unique per participant only (migration 0007): two participants
        share one only if a device forged or copied it, and exports that need ids unique across the
        hub (FHIR) qualify these, so the first holder keeps its own. Every id is read and sorted
        (no index leads with the id: ≈ 0.8 s on a 1,000,000-entry hub, for a FHIR export only), and
        the table read again only if some id is shared."""
        with self.db.read() as db:
            shared = [i for (i,) in db.conn.execute("SELECT id FROM entries GROUP BY id HAVING COUNT(*) > 1")]
            if not shared:
                return set()
            holders = db.conn.execute("SELECT participant_id, id FROM entries WHERE id IN (SELECT value FROM json_each(?))"
                                      " ORDER BY rowid", [json.dumps(shared)]).fetchall()
        first: dict[str, str] = {}
        return {(pid, i) for pid, i in holders if first.setdefault(i, pid) != pid}

    def rejections(self) -> list[dict]:
        with self.db.read() as db:
            return list(db.query("SELECT * FROM rejections ORDER BY at"))

