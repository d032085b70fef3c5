"""`diary hub import`: merge a participant's diary file, collected by hand, into the hub.

The file is never written to, nor anything beside it: collected.py opens it read-only and checks
its shape, and the device's own checks (`diary verify`) run over that view of it.
A participant the hub knows without a day 1 (pre-enrolled, the device enrolled offline) takes the
file's day 1 and time zone; a file whose day 1 disagrees with the hub's is refused.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from diary_client.core.ids import participant_id_problem
from diary_client.core.printable import printable
from sync.hub import chains, collected
from sync.hub.rules import valid_zone
from sync.hub.store import HubError, HubStore

KEPT = 1000  # rejected entries listed per file; every one is counted, by reason


@dataclass
class ImportResult:
    path: str
    participant_id: str
    registered: bool
    accepted: int = 0
    duplicate: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # the first KEPT: (entry id, why)
    problems: list[str] = field(default_factory=list)  # audit-chain problems (imported with --force)
    took_start: str | None = None  # the file's day 1, taken by a participant the hub had none for
    took_tz: str | None = None
    rejected_total: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)  # reason kind -> count

    def reject(self, rejected: list[tuple[str, str]]) -> None:
        self.rejected.extend(rejected[:max(0, KEPT - len(self.rejected))])
        self.rejected_total += len(rejected)
        for _, why in rejected:
            kind = reason_kind(why)
            self.by_reason[kind] = self.by_reason.get(kind, 0) + 1


def _file_start(path: Path, settings: dict) -> date:
    try:
        return date.fromisoformat(settings["start"])
    except (KeyError, TypeError, ValueError):
        raise HubError(f"{printable(str(path))}: the file holds no readable day 1 "
                       f"(start = {printable(repr(settings.get('start')))[:80]})") from None


def _text(settings: dict, key: str) -> str | None:
    value = settings.get(key)
    return value if isinstance(value, str) else None


def import_diary(hub: HubStore, path: Path, now: datetime, tz: str, force: bool = False,
                 take_start: bool = False) -> ImportResult:
    """Register the file's participant (and protocol) if new, then ingest its entries like an upload.

    `tz` is the zone for a file that does not name its own (older devices); `take_start` lets
    the file's day 1 replace the hub's while the hub holds none of the participant's entries.
    The file is read by collected.py (read-only, its shape checked) and ingested a chunk at a time.
    """
    with collected.opened(path) as file:
        return _import(hub, file, now, tz, force, take_start)


def _import(hub: HubStore, file: collected.CollectedFile, now: datetime, tz: str, force: bool,
            take_start: bool) -> ImportResult:
    path, settings = file.path, file.settings()
    name = printable(str(path))
    pid, protocol_toml = _text(settings, "participant_id"), _text(settings, "protocol_toml")
    if not pid or not protocol_toml:
        raise HubError(f"{name}: this diary was never enrolled (no participant in it)")
    have = hub.reads.participant(pid)
    problem = participant_id_problem(pid)
    if have is None and problem:  # a participant new to the hub takes today's rule for ids
        raise HubError(f"{name}: its participant id {printable(repr(pid))} cannot be registered: {problem}")
    pid_shown = printable(pid)
    problems = file.problems()
    if problems and not force:
        raise HubError(f"{name}: the file fails verification ({printable(problems[0])}; {len(problems)} problem(s)): "
                       "not imported; use --force to import it anyway")
    start = _file_start(path, settings)
    device_id = _text(settings, "device_id")
    chain = file.chain()
    distrust = [printable(d) for d in chains.import_problems(hub.db, pid, device_id, chain)]
    zone = _text(settings, "timezone")
    file_tz = zone if zone and valid_zone(zone) else None
    if have is not None and have.start is not None and have.start != start and not take_start:
        raise HubError(
            f"{name}: {pid_shown}'s day 1 is {start} in this file but {have.start} on the hub: nothing imported. "
            f"If the file's date is the right one, import again with --take-start (allowed while the hub "
            f"holds none of {pid_shown}'s entries); if the hub's is, this file is not {pid_shown}'s or its device was "
            "enrolled with the wrong day 1: check with the participant before importing")
    retiming = have is not None and have.start != start  # take_start's own refusal comes first
    if distrust and not force and not retiming:
        raise HubError(f"{name}: {distrust[0]}: not imported; use --force to import it anyway")
    # A known participant's study and version are checked first (start None: no date check yet).
    hub.enrolment.register(pid, protocol_toml, None if have else start, file_tz or tz, now, actor="import")
    took = None
    if have is not None and have.start != start:
        took = hub.enrolment.take_start(pid, start, file_tz or have.tz, now, actor="import", file=path.name)
    if distrust and not force:
        raise HubError(f"{name}: {distrust[0]}: not imported; use --force to import it anyway")
    result = ImportResult(str(path), pid, have is None, problems=problems,
                          took_start=took.start.isoformat() if took and took.start else None,
                          took_tz=took.tz if took else None)
    for batch in file.batches():  # one transaction per chunk: memory stays flat, a re-import finishes the rest
        got = hub.ingest(pid, batch.entries, now, via="import", flags=batch.flags)
        result.accepted += len(got.accepted)
        result.duplicate += len(got.duplicate)
        result.reject(batch.unreadable + got.rejected)
    if distrust:
        hub.audit("coordinator", "import_forced", now, pid, file=path.name, reasons=distrust)
    elif len(chain) and not problems and device_id:  # the file's head: a later copy of this device's file must extend it
        chains.keep_head(hub.db, pid, device_id, len(chain), chain[-1], now, "import")
    hub.audit("coordinator", "import_file", now, pid, file=path.name, accepted=result.accepted,
              duplicate=result.duplicate, rejected=result.rejected_total, problems=len(problems))
    return result


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
    counts: Counter[str] = Counter()
    for r in results:
        counts.update(r.by_reason)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
