"""Reads of the hub: participants, their entries and receipts, summaries, flags, rejections and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from diary_client.entry import Entry

from .database import PARTICIPANTS, HubDatabase, get_participant, participant_of_row
from .rules import Participant


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
        out = [{"entry": Entry.model_validate_json(body), "received_at": at, "content_hash": h}
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
        with self.db.read() as db:
            return [participant_of_row(r) for r in db.query(PARTICIPANTS + " ORDER BY p.participant_id")]

    def received(self, participant_id: str | None = None) -> list[dict]:
        """Stored entries as {"entry": Entry, "received_at", "via", "content_hash"}, oldest first."""
        sql, args = "SELECT body, received_at, via, content_hash FROM entries", []
        if participant_id is not None:
            sql, args = sql + " WHERE participant_id = ?", [participant_id]
        with self.db.read() as db:
            rows = list(db.query(sql + " ORDER BY participant_id, diary_date, rowid", args))
        return [{"entry": Entry.model_validate_json(r["body"]), "received_at": r["received_at"],
                 "via": r["via"], "content_hash": r["content_hash"]} for r in rows]

    def entries(self, participant_id: str | None = None) -> list[Entry]:
        """Every stored entry (corrections and superseded ones included), by participant and date."""
        return [r["entry"] for r in self.received(participant_id)]

    def summary(self, participant_id: str | None = None) -> dict[str, dict]:
        """Per participant id: entries, last_received_at, quarantined (rejected and never stored)."""
        where, args = ("WHERE participant_id = ?", [participant_id]) if participant_id else ("", [])
        also = "AND participant_id = ?" if participant_id else ""
        with self.db.read() as db:
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
        with self.db.read() as db:
            for entry_id, flag in db.conn.execute(sql + " ORDER BY f.entry_id, f.flag", args):
                out.setdefault(entry_id, []).append(flag)
        return out

    def rejections(self) -> list[dict]:
        with self.db.read() as db:
            return list(db.query("SELECT * FROM rejections ORDER BY at"))

    def audit_log(self) -> list[dict]:
        with self.db.read() as db:
            return list(db.query("SELECT * FROM audit ORDER BY seq"))
