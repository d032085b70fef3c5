"""The device's events in its SQLite file: each saved durably with its audit record, receipts and quarantine.

The table is made by store.py's migration `0005_create_events`; this module writes and reads it
through the Store's own transaction and audit chain, exactly as entries are written: one
IMMEDIATE transaction holds the event and its audit record (`event`), append-only triggers refuse
UPDATE and DELETE, and the hub's receipts and refusals are audited too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from diary_client.device.store import Store, StoreError, _utcnow

if TYPE_CHECKING:  # the event models load when an event is read or saved: home counts them in SQL alone
    from diary_client.core.event import Event

PENDING = ("SELECT body FROM events WHERE id NOT IN (SELECT event_id FROM event_receipts)"
           " AND id NOT IN (SELECT event_id FROM event_quarantine) ORDER BY rowid")


class EventStore:
    """One diary file's events."""

    def __init__(self, store: Store):
        self.store = store

    def save(self, event: Event) -> Event:
        """Durably store one event made on this device with its audit record; returns it with its seq."""
        from diary_client.core import event as ev

        store = self.store
        with store._tx():
            db = store.conn
            if event.supersedes:
                (other,) = db.execute("SELECT COUNT(*) FROM events WHERE supersedes = ?", [event.supersedes]).fetchone()
                if other:
                    raise StoreError("not saved: this event was just corrected by another diary program; "
                                     "correct the newest one")
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE device_id = ?",
                                [event.device_id]).fetchone()
            event = replace(event, seq=seq)
            body, h = ev.canonical(event)
            db.execute("INSERT INTO events (id, kind, body, submitted_at, device_id, seq, supersedes, content_hash)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [event.id, event.kind, body, event.wire()["submitted_at"], event.device_id, seq,
                        event.supersedes, h])
            store._audit("event", event.id, h, {"kind": event.kind})
        return event

    def record_receipts(self, receipts: Iterable[tuple[str, str, str]]) -> None:
        """(event id, received_at, content hash) for events the hub acknowledged."""
        self.store._receipts(receipts, "event_receipts", "event_quarantine", "event_id", "event_receipt")

    def quarantine(self, rejected: Iterable[tuple[str, str]]) -> None:
        """(event id, error) for events the hub refused: kept, shown, never dropped."""
        store = self.store
        with store._tx():
            for event_id, error in rejected:
                store.conn.execute("INSERT OR REPLACE INTO event_quarantine VALUES (?, ?, ?)", [event_id, error, _utcnow()])
                store._audit("event_quarantine", event_id, detail={"error": error})

    # -- reading -------------------------------------------------------------------------------

    def all(self) -> list[Event]:
        """Every event, corrections and those they replace included, in the order they were saved."""
        from diary_client.core import event as ev

        return [ev.from_wire(json.loads(body)) for (body,) in self.store.conn.execute("SELECT body FROM events ORDER BY rowid")]

    def get(self, event_id: str) -> Event | None:
        from diary_client.core import event as ev

        row = self.store.conn.execute("SELECT body FROM events WHERE id = ?", [event_id]).fetchone()
        return None if row is None else ev.from_wire(json.loads(row[0]))

    def corrected_by(self, event_id: str) -> str | None:
        row = self.store.conn.execute("SELECT id FROM events WHERE supersedes = ?", [event_id]).fetchone()
        return None if row is None else row[0]

    def pending(self) -> list[Event]:
        """Events not yet acknowledged by the hub and not in quarantine, oldest first."""
        bodies = self.store.conn.execute(PENDING).fetchall()
        if not bodies:  # most sync rounds: the event models need not load
            return []
        from diary_client.core import event as ev

        return [ev.from_wire(json.loads(body)) for (body,) in bodies]

    def pending_count(self) -> int:
        return self.store.conn.execute(f"SELECT COUNT(*) FROM ({PENDING})").fetchone()[0]

    def receipts(self) -> dict[str, str]:
        """Event id -> when the hub received it."""
        return dict(self.store.conn.execute("SELECT event_id, received_at FROM event_receipts"))

    def quarantined(self) -> dict[str, str]:
        """Event id -> the hub's reason for refusing it."""
        return dict(self.store.conn.execute("SELECT event_id, error FROM event_quarantine"))
