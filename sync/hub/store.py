"""`HubStore`: the hub's database by concept — `enrolment`, `ingest`, `reads` — over one file.

The parts share one `HubDatabase` (database.py: migrations, one connection per thread, write
transactions with their audit record), so a caller passes one object around and reaches each
concept by name: `hub.enrolment.enroll(...)`, `hub.ingest(...)`, `hub.reads.entries(...)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from diary_client.core.entry import Entry
from sync.hub.database import HubDatabase, iso, migrations
from sync.hub.enrolment import DeviceEnrolment, Enrolment
from sync.hub.errors import CodeError, HubError
from sync.hub.ingest import IngestResult, ingest
from sync.hub.reads import Reads
from sync.hub.rules import Participant

__all__ = ["CodeError", "DeviceEnrolment", "HubError", "HubStore", "IngestResult", "iso", "migrations"]


class HubStore:
    """The hub's database. Cheap to make: it only remembers the path (and migrates once)."""

    def __init__(self, path: str | Path, migrate: bool = True, readonly: bool = False):
        self.db = HubDatabase(path, migrate, readonly)
        self.path = self.db.path
        self.enrolment = Enrolment(self.db)
        self.reads = Reads(self.db)

    @classmethod
    def open_readonly(cls, path: str | Path) -> HubStore:
        """The hub for a command that only reads: no migration, no key file, nothing created
        (database.HubDatabase says how); a missing, foreign or older file is a HubError."""
        return cls(path, readonly=True)

    def ingest(self, participant_id: str, entries: Iterable[Entry], now: datetime, via: str = "api",
               seen: Participant | None = None, flags: Iterable[tuple[str, str, str]] = ()) -> IngestResult:
        """Judge and store one participant's batch in one transaction (ingest.py says how)."""
        return ingest(self.db, participant_id, entries, now, via, seen, flags)

    def audit(self, actor: str, action: str, now: datetime, participant_id=None, **detail) -> None:
        self.db.audit(actor, action, now, participant_id, **detail)

    def close(self) -> None:
        """Close the calling thread's connection (others close when their threads end)."""
        self.db.close()
