"""`diary hub import`: merge a participant's diary file, collected by hand, into the hub.

The file is never written to: it is copied with SQLite's backup API (which also reads its WAL)
and the copy is opened with the device's own Store, so its audit chain is verified the same way.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from diary_client.entry import parse_entry
from diary_client.store import Store, StoreError

from .store import HubError, HubStore


@dataclass
class ImportResult:
    path: str
    participant_id: str
    registered: bool
    accepted: int = 0
    duplicate: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # audit-chain problems (imported with --force)


def read_diary_file(path: Path) -> tuple[dict, list, list[str], list[tuple[str, str, str]]]:
    """(settings, entries, verify problems, flags) of a device's diary.db, without touching it."""
    if not path.is_file():
        raise HubError(f"{path}: no such file")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "diary.db"
        try:
            src = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                with sqlite3.connect(copy) as dst:
                    src.backup(dst)
                dst.close()
            finally:
                src.close()
            store = Store(copy)
        except (sqlite3.DatabaseError, StoreError) as e:
            raise HubError(f"{path}: not a readable diary database ({e})") from None
        try:
            flags = [(f["entry_id"], f["flag"], f["detail"] or "") for f in store.flags()]
            # A file from outside: its entries are validated as an upload's are, not trusted as a device trusts its own.
            entries = [parse_entry(e.wire()) for e in store.entries()]
            return store.settings(), entries, store.verify(), flags
        except (sqlite3.DatabaseError, ValueError) as e:
            raise HubError(f"{path}: not a readable diary database ({e})") from None
        finally:
            store.close()


def import_diary(hub: HubStore, path: Path, now: datetime, tz: str, force: bool = False) -> ImportResult:
    """Register the file's participant (and protocol) if new, then ingest its entries like an upload."""
    settings, entries, problems, flags = read_diary_file(path)
    pid = settings.get("participant_id")
    if not pid or "protocol_toml" not in settings:
        raise HubError(f"{path}: this diary was never enrolled (no participant in it)")
    if problems and not force:
        raise HubError(f"{path}: the file fails verification ({problems[0]}; {len(problems)} problem(s)): "
                       "not imported; use --force to import it anyway")
    known = hub.participant(pid) is not None
    hub.register(pid, settings["protocol_toml"], date.fromisoformat(settings["start"]), tz, now, actor="import")
    got = hub.ingest(pid, entries, now, via="import", flags=flags)
    hub.audit("coordinator", "import_file", now, pid, file=path.name, accepted=len(got.accepted),
              duplicate=len(got.duplicate), rejected=len(got.rejected), problems=len(problems))
    return ImportResult(str(path), pid, not known, len(got.accepted), len(got.duplicate), got.rejected, problems)
