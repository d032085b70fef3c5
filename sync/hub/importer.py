"""`diary hub import`: merge a participant's diary file, collected by hand, into the hub.

The file is never written to: it is copied with SQLite's backup API (which also reads its WAL)
and the copy is opened with the device's own Store, so its audit chain is verified the same way.
A participant the hub knows without a day 1 (pre-enrolled, the device enrolled offline) takes the
file's day 1 and time zone; a file whose day 1 disagrees with the hub's is refused.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from diary_client.core.entry import parse_entry
from diary_client.device.store import Store, StoreError
from sync.hub import chains
from sync.hub.rules import valid_zone
from sync.hub.store import HubError, HubStore


@dataclass
class ImportResult:
    path: str
    participant_id: str
    registered: bool
    accepted: int = 0
    duplicate: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # audit-chain problems (imported with --force)
    took_start: str | None = None  # the file's day 1, taken by a participant the hub had none for
    took_tz: str | None = None


def read_diary_file(path: Path) -> tuple[dict, list, list[str], list[tuple[str, str, str]], list[str]]:
    """(settings, entries, verify problems, flags, audit chain hashes) of a device's diary.db, without touching it."""
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
            return store.settings(), entries, store.verify(), flags, store.chain()
        except (sqlite3.DatabaseError, ValueError, StoreError) as e:
            raise HubError(f"{path}: not a readable diary database ({e})") from None
        finally:
            store.close()


def _file_start(path: Path, settings: dict) -> date:
    try:
        return date.fromisoformat(settings["start"])
    except (KeyError, TypeError, ValueError):
        raise HubError(f"{path}: the file holds no readable day 1 (start = {settings.get('start')!r})") from None


def import_diary(hub: HubStore, path: Path, now: datetime, tz: str, force: bool = False,
                 take_start: bool = False) -> ImportResult:
    """Register the file's participant (and protocol) if new, then ingest its entries like an upload.

    `tz` is the zone for a file that does not name its own (older devices); `take_start` lets
    the file's day 1 replace the hub's while the hub holds none of the participant's entries.
    """
    settings, entries, problems, flags, chain = read_diary_file(path)
    pid = settings.get("participant_id")
    if not pid or "protocol_toml" not in settings:
        raise HubError(f"{path}: this diary was never enrolled (no participant in it)")
    if problems and not force:
        raise HubError(f"{path}: the file fails verification ({problems[0]}; {len(problems)} problem(s)): "
                       "not imported; use --force to import it anyway")
    start = _file_start(path, settings)
    distrust = chains.import_problems(hub.db, pid, settings.get("device_id"), chain)
    file_tz = settings.get("timezone") if valid_zone(str(settings.get("timezone"))) else None
    have = hub.reads.participant(pid)
    if have is not None and have.start is not None and have.start != start and not take_start:
        raise HubError(
            f"{path}: {pid}'s day 1 is {start} in this file but {have.start} on the hub: nothing imported. "
            f"If the file's date is the right one, import again with --take-start (allowed while the hub "
            f"holds none of {pid}'s entries); if the hub's is, this file is not {pid}'s or its device was "
            "enrolled with the wrong day 1: check with the participant before importing")
    retiming = have is not None and have.start != start  # take_start's own refusal comes first
    if distrust and not force and not retiming:
        raise HubError(f"{path}: {distrust[0]}: not imported; use --force to import it anyway")
    # A known participant's study and version are checked first (start None: no date check yet).
    hub.enrolment.register(pid, settings["protocol_toml"], None if have else start, file_tz or tz, now, actor="import")
    took = None
    if have is not None and have.start != start:
        took = hub.enrolment.take_start(pid, start, file_tz or have.tz, now, actor="import", file=path.name)
    if distrust and not force:
        raise HubError(f"{path}: {distrust[0]}: not imported; use --force to import it anyway")
    got = hub.ingest(pid, entries, now, via="import", flags=flags)
    if distrust:
        hub.audit("coordinator", "import_forced", now, pid, file=path.name, reasons=distrust)
    elif chain and not problems:  # the file's head: a later copy of this device's file must extend it
        chains.keep_head(hub.db, pid, settings["device_id"], len(chain), chain[-1], now, "import")
    hub.audit("coordinator", "import_file", now, pid, file=path.name, accepted=len(got.accepted),
              duplicate=len(got.duplicate), rejected=len(got.rejected), problems=len(problems))
    return ImportResult(str(path), pid, have is None, len(got.accepted), len(got.duplicate), got.rejected, problems,
                        took.start.isoformat() if took and took.start else None, took.tz if took else None)


_SPECIFICS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "…"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<value>"),
    (re.compile(r"(?<![\w.])-?\d+(\.\d+)?(?![\w])"), "<n>"),
]


def reason_kind(reason: str) -> str:
    """A rejection reason without its particulars (ids, dates, values), so like reasons count together."""
    for pattern, placeholder in _SPECIFICS:
        reason = pattern.sub(placeholder, reason)
    return reason


def rejected_by_reason(results: list[ImportResult]) -> list[tuple[str, int]]:
    """(reason kind, count), most frequent first, over every file's rejected entries."""
    counts = Counter(reason_kind(why) for r in results for _, why in r.rejected)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
