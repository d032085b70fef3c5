"""The export's tables: their columns (with the descriptions and units Datasette shows) and rows.

One participant's data becomes rows of every table at once (`TableRows`), so every format is
written in one pass over the hub, holding one participant at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from diary_client.core import schedule as sch
from diary_client.core.entry import Entry
from sync.hub.codebook import ANSWERED, CODEBOOK_COLUMNS, Study, answer_cells, stamp
from sync.hub.rules import Participant, compliance


@dataclass(frozen=True)
class Column:
    name: str
    sql: str
    description: str
    unit: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    constraints: str = ""  # keys of the SQLite table, after its columns
    without_rowid: bool = False  # the table is its key's b-tree (no second copy of the key in an index)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _cols(*specs: tuple) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in specs)


PARTICIPANT_FK = "FOREIGN KEY (participant_id) REFERENCES participants(participant_id)"

PARTICIPANTS = Table("participants", "One row per participant: study, day 1, compliance so far.", _cols(
    ("participant_id", "TEXT NOT NULL PRIMARY KEY", "The participant's pseudonymous id"),
    ("study_id", "TEXT NOT NULL", "Study id (see codebook)"),
    ("start", "TEXT", "Day 1 (YYYY-MM-DD); empty until the hub knows it"),
    ("end", "TEXT", "Last study day (YYYY-MM-DD)"),
    ("compliance", "REAL", "done / expected over the days whose window has closed (0-1, 4 decimals)"),
    ("done", "INTEGER", "Days with a report (on time, late or imported)", "day"),
    ("on_time", "INTEGER", "Days whose report was filed in its window", "day"),
    ("late", "INTEGER", "Days whose report came in the grace period", "day"),
    ("imported", "INTEGER", "Days whose report was imported (paper, legacy), counted apart from filed ones", "day"),
    ("flagged", "INTEGER", "Of the days done, those whose report the device's clock guard doubts", "day"),
    ("missed", "INTEGER", "Days whose window closed without a report", "day"),
    ("expected", "INTEGER", "Days whose window has closed", "day"),
    ("entries", "INTEGER", "Entries stored on the hub (corrections included)"),
    ("quarantined", "INTEGER", "Entries the hub refused and never stored"),
    ("last_received_at", "TEXT", "When the hub last stored one of the participant's entries (ISO 8601, UTC)"),
    ("unblinded", "INTEGER", "1 once true phase names were released to the participant"),
    ("protocol_version", "INTEGER", "The study protocol version the participant is on"),
    ("tz", "TEXT", "The participant's time zone (diary windows are local times)"),
    ("enrolled_at", "TEXT", "When the hub registered the participant (ISO 8601, UTC)"),
))

PHASES = Table("phases", "Each participant's phases with true labels and dates.", _cols(
    ("participant_id", "TEXT NOT NULL", "Participant"),
    ("phase_id", "TEXT NOT NULL", "Phase id (protocol)"),
    ("label", "TEXT", "True phase label"),
    ("participant_label", "TEXT", "What a blinded participant saw"),
    ("role", "TEXT", "baseline, placebo, active, washout or other"),
    ("first_day", "INTEGER", "First study day of the phase"),
    ("last_day", "INTEGER", "Last study day of the phase"),
    ("start", "TEXT", "First date (YYYY-MM-DD)"),
    ("end", "TEXT", "Last date (YYYY-MM-DD)"),
    ("days", "INTEGER", "Length of the phase", "day"),
), f"UNIQUE (participant_id, phase_id), {PARTICIPANT_FK}")

_CODEBOOK_DOC = {
    "study_id": ("TEXT NOT NULL", "Study id"),
    "protocol_version": ("INTEGER NOT NULL", "Protocol version the row describes"),
    "position": ("INTEGER", "Order in which the item is asked"),
    "item_id": ("TEXT NOT NULL", "Item id: the column name in the daily view"),
    "label": ("TEXT", "Short name of the item"),
    "prompt": ("TEXT", "The question as the protocol words it ({day}, {night}: today, last night, or the day named)"),
    "kind": ("TEXT", "vas (integer 0-100), number, yesno, choice, multi or text"),
    "min_label": ("TEXT", "Anchor at the low end of a VAS"),
    "max_label": ("TEXT", "Anchor at the high end of a VAS"),
    "options": ("TEXT", "Coded options (code = text); multi items: 0 = nothing chosen"),
    "range_min": ("REAL", "Lowest allowed value (vas, number)"),
    "range_max": ("REAL", "Highest allowed value (vas, number)"),
    "better": ("TEXT", "Direction of improvement: lower or higher (numeric items only)"),
    "primary": ("INTEGER", "1 for the study's primary item"),
    "optional": ("INTEGER", "1 if the participant may skip the item"),
    "phases": ("TEXT", "Phase ids in which the item is asked, joined by ;"),
}
CODEBOOK = Table("codebook", "Every item of every protocol version: wording, kind, anchors, codes, range, direction.",
                 tuple(Column(n, *_CODEBOOK_DOC[n]) for n in CODEBOOK_COLUMNS),
                 "UNIQUE (study_id, protocol_version, item_id)")

OPTIONS = Table("options", "The codes of choice and multi answers (stable across protocol versions).", _cols(
    ("study_id", "TEXT NOT NULL", "Study id"),
    ("item_id", "TEXT NOT NULL", "Item id"),
    ("code", "INTEGER NOT NULL", "Code used in answers.code, REDCap and FHIR"),
    ("label", "TEXT", "Option text as the participant saw it"),
    ("exclusive", "INTEGER", "1 for 'nothing chosen' on a multi item (an answer, unlike a skipped item)"),
), "PRIMARY KEY (study_id, item_id, code)")

ENTRIES = Table("entries", "One row per entry on the hub, corrections and the entries they replace included.", _cols(
    ("entry_no", "INTEGER PRIMARY KEY", "Row number, in order of participant and diary date"),
    ("participant_id", "TEXT NOT NULL", "Participant"),
    ("diary_date", "TEXT NOT NULL", "The day the report is about (YYYY-MM-DD)"),
    ("study_day", "INTEGER", "Study day (1 = day 1)"),
    ("phase_label", "TEXT", "True phase label of the day"),
    ("timing", "TEXT", "on_time, late or import"),
    ("counts", "INTEGER", "1 for the report that counts for its day after corrections"),
    ("flags", "TEXT", "The device's doubts about its clock, joined by ;"),
    ("supersedes", "TEXT", "Id of the entry this correction replaces"),
    ("reason", "TEXT", "Why the correction was made"),
    ("submitted_at", "TEXT", "When the device saved the entry (ISO 8601 with the device's UTC offset)"),
    ("received_at", "TEXT", "When the hub stored it (ISO 8601, UTC)"),
    ("source", "TEXT", "app, cli or import"),
    ("via", "TEXT", "How it reached the hub: api or import"),
    ("device_id", "TEXT", "Device that made the entry"),
    ("seq", "INTEGER", "The device's sequence number"),
    ("phase_id", "TEXT", "Phase id of the day"),
    ("phase_role", "TEXT", "Role of the phase"),
    ("study_id", "TEXT", "Study id"),
    ("protocol_version", "INTEGER", "Protocol version the entry was made under (see codebook)"),
    ("id", "TEXT NOT NULL", "Entry id (UUID, made by the device; unique within a participant's entries)"),
    ("content_hash", "TEXT", "SHA-256 of the entry's canonical JSON"),
), PARTICIPANT_FK)

ANSWERS = Table("answers", "Long form: one row per item asked in each entry.", _cols(
    ("entry_no", "INTEGER NOT NULL REFERENCES entries(entry_no)", "The entry (entries.entry_no)"),
    ("participant_id", "TEXT NOT NULL", "Participant"),
    ("diary_date", "TEXT", "Diary date (YYYY-MM-DD)"),
    ("study_day", "INTEGER", "Study day"),
    ("phase_id", "TEXT", "Phase id of the day"),
    ("item_id", "TEXT NOT NULL", "Item id (see codebook)"),
    ("kind", "TEXT", "Item kind"),
    ("status", "TEXT", "answered, or skipped (an optional item left out); items not asked have no row"),
    ("value", "TEXT", "The answer as typed text (yes/no; multi options joined by ;, empty when none chosen)"),
    ("code", "TEXT", "choice: option code; multi: codes joined by ;, 0 = nothing chosen"),
    ("value_num", "NUMERIC", "vas and number values; yes/no as 1/0"),
    ("counts", "INTEGER", "1 if the entry counts for its day"),
), f"PRIMARY KEY (entry_no, item_id), {PARTICIPANT_FK}", without_rowid=True)

TABLES = (PARTICIPANTS, PHASES, CODEBOOK, OPTIONS, ENTRIES, ANSWERS)


@dataclass(frozen=True)
class Gathered:
    """One participant's data as read from the hub, with what every format derives from it."""

    participant: Participant
    study: Study
    received: list[dict]  # {"entry", "received_at", "via", "content_hash"}, by diary date then arrival
    flags: dict[str, list[str]]
    summary: dict
    first_entry_no: int

    @cached_property  # each format asks, for every entry
    def entries(self) -> list[Entry]:
        return [r["entry"] for r in self.received]

    @cached_property
    def spans(self) -> list[sch.PhaseSpan]:
        p = self.participant
        return sch.phase_spans(p.protocol, p.start) if p.start else []


def _span(spans: list[sch.PhaseSpan], e: Entry) -> sch.PhaseSpan | None:
    return next((s for s in spans if e.diary_date in s), None)


@dataclass(frozen=True)
class TableRows:
    participants: list[tuple]
    phases: list[tuple]
    entries: list[tuple]
    answers: list[tuple]


def table_rows(g: Gathered, counting: set[str], now: datetime) -> TableRows:
    """Every table's rows for one participant, in each table's column order."""
    p, spans = g.participant, g.spans
    overall = compliance(p, g.entries, now, g.flags, {r["entry"].id: r["received_at"] for r in g.received})["overall"] or {}
    s = g.summary
    participant = (
        p.participant_id, p.study_id, p.start.isoformat() if p.start else None,
        sch.end_date(p.protocol, p.start).isoformat() if p.start else None,
        None if overall.get("compliance") is None else round(overall["compliance"], 4),
        *(overall.get(k) for k in ("done", "on_time", "late", "imported", "flagged", "missed")),
        overall.get("expected"), s.get("entries", 0), s.get("quarantined", 0), stamp(s.get("last_received_at")),
        int(p.unblinded), p.protocol_version, p.tz, stamp(p.enrolled_at),
    )
    phases = [(p.participant_id, x.phase.id, x.phase.label, x.phase.participant_label, x.phase.role, x.first_day,
               x.last_day, x.start.isoformat(), x.end.isoformat(), x.phase.days) for x in spans]
    entries: list[tuple] = []
    answers: list[tuple] = []
    for n, r in enumerate(g.received, g.first_entry_no):
        e: Entry = r["entry"]
        span = _span(spans, e)
        counts, day = int(e.id in counting), e.diary_date.isoformat()
        entries.append((
            n, e.participant_id, day, e.study_day, span.phase.label if span else None, e.timing, counts,
            ";".join(g.flags.get(e.id, [])) or None, e.supersedes, e.reason, stamp(e.submitted_at),
            stamp(r["received_at"]), e.source, r["via"], e.device_id, e.seq, span.phase.id if span else None,
            span.phase.role if span else None, e.study_id, e.protocol_version, e.id, r["content_hash"],
        ))
        if span is None:
            continue
        head = (n, e.participant_id, day, e.study_day, span.phase.id)
        for item in g.study.version(e.protocol_version).items_in(span.phase.id):
            v = e.answers.get(item.id)
            if type(v) is int and item.kind == "vas":  # most answers: the general path costs 10 times more
                answers.append((*head, item.id, "vas", ANSWERED, str(v), None, v, counts))
            else:
                answers.append((*head, item.id, item.kind, *answer_cells(g.study, item, v), counts))
    return TableRows([participant], phases, entries, answers)
