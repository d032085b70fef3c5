"""`diary hub export`: analysis-ready tables (SQLite, CSV), FHIR bundles and REDCap files, with a codebook.

Every format is written in one pass over the hub, one participant at a time, inside one read
transaction: memory does not grow with the study, and the export is the hub as it was when it began.
Coordinators always see true phase labels here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

from diary_client.core.entry import latest
from sync.hub import roster
from sync.hub.codebook import Study, studies
from sync.hub.export_csv import CsvWriter
from sync.hub.export_sqlite import SqliteWriter
from sync.hub.export_tables import Gathered, TableRows, table_rows
from sync.hub.store import HubError, HubStore


class Writer(Protocol):
    """One export format: takes each participant in turn (their data, the ids of the entries that
    count for their days, and their table rows), then finishes (or, on failure, aborts)."""

    def add(self, g: Gathered, counting: set[str], rows: TableRows) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


def gather(hub: HubStore, known: dict[str, Study], left_out: list[roster.LeftOut] | None = None) -> Iterator[Gathered]:
    """Each participant's data in turn (call inside `hub.reads.snapshot()`); one whose record or
    entries are damaged is passed over and added to `left_out` (by id)."""
    everyone = roster.read(hub)
    passed_over = list(everyone.left_out)
    entry_no = 1
    for m in roster.members(hub, (p for p in everyone.people if p.study_id in known)):
        if isinstance(m, roster.LeftOut):
            passed_over.append(m)
            continue
        pid = m.participant.participant_id
        yield Gathered(m.participant, known[m.participant.study_id], m.received, hub.reads.flags(pid),
                       hub.reads.summary(pid).get(pid, {}), entry_no)
        entry_no += len(m.received)
    if left_out is not None:
        left_out += sorted(passed_over, key=lambda x: x.participant_id)


def export(hub: HubStore, now: datetime, sqlite_out: Path | None = None, csv_dir: Path | None = None,
           fhir_dir: Path | None = None, redcap_dir: Path | None = None,
           left_out: list[roster.LeftOut] | None = None) -> dict[str, int]:
    """Write the formats asked for; returns how many rows (or files) of each kind were written.
    Participants whose data cannot be read are added to `left_out` (sync.hub.roster)."""
    for out in (sqlite_out, csv_dir, fhir_dir, redcap_dir):
        if out is not None and out.resolve() == hub.path.resolve():
            raise HubError(f"{out} is the hub's own database: write the export to another place")
    counts = {"participants": 0, "entries": 0, "answers": 0}
    writers: list[Writer] = []
    try:
        with hub.reads.snapshot():
            known = studies(hub.reads.studies())
            if sqlite_out is not None:
                writers.append(SqliteWriter(sqlite_out, known))
            if csv_dir is not None:
                writers.append(CsvWriter(csv_dir, known))
            if fhir_dir is not None:
                from sync.hub.export_fhir import FhirWriter

                writers.append(FhirWriter(fhir_dir, known, now, hub.reads.reused_ids()))
            if redcap_dir is not None:
                from sync.hub.export_redcap import RedcapWriter

                writers.append(RedcapWriter(redcap_dir, known))
            for g in gather(hub, known, left_out):
                counting = {e.id for e in latest(g.entries).values()}
                rows = table_rows(g, counting, now)
                for w in writers:
                    w.add(g, counting, rows)
                counts["participants"] += 1
                counts["entries"] += len(rows.entries)
                counts["answers"] += len(rows.answers)
            for w in writers:
                w.finish()
            writers = []
    except OSError as e:
        raise HubError(f"cannot write the export ({e.strerror}: {e.filename})") from None
    finally:
        for w in writers:
            w.abort()
    counts["items"] = sum(len(s.items()) for s in known.values())
    hub.audit("coordinator", "export", now, None, **{k: str(v) for k, v in
              (("sqlite", sqlite_out), ("csv", csv_dir), ("fhir", fhir_dir), ("redcap", redcap_dir)) if v})
    return counts
