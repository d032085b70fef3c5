"""`hub export --sqlite`: the tables in one SQLite file, a wide `daily` view, and Datasette metadata beside it.

Rows go in with plain `executemany` in one transaction (written aside, then moved into place),
one participant at a time; indexes are built once at the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from diary_client.core import private
from diary_client.core.protocol import Item
from sync.hub.codebook import NONE_CODE, NONE_LABEL, SKIPPED, Study, asked_prompt, codebook_rows, option_rows
from sync.hub.export_tables import (
    ANSWERS,
    CODEBOOK,
    ENTRIES,
    EVENT_TABLES,
    OPTIONS,
    PARTICIPANTS,
    PERIODS,
    PHASES,
    TABLES,
    Gathered,
    Table,
    TableRows,
)

INDEXES = (  # built once the rows are in: far cheaper than keeping them up to date row by row
    "CREATE INDEX entries_by_id ON entries(id)",  # unique per participant (the hub's key), not across them
    "CREATE INDEX entries_by_day ON entries(participant_id, diary_date)",
    "CREATE INDEX answers_by_item ON answers(item_id, participant_id)",
)
DAILY_FIXED = ("participant_id", "diary_date", "study_day", "phase_id", "phase_label", "timing", "corrected",
               "flags", "entry_no")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_sql(t: Table) -> str:
    cols = [f"{q(c.name)} {c.sql}" for c in t.columns]
    rowid = " WITHOUT ROWID" if t.without_rowid else ""
    return f"CREATE TABLE {q(t.name)} ({', '.join(cols + ([t.constraints] if t.constraints else []))}){rowid}"


def insert_sql(t: Table) -> str:
    return f"INSERT INTO {q(t.name)} VALUES ({', '.join('?' * len(t.columns))})"


def daily_columns(studies: dict[str, Study]) -> list[tuple[str, str, Item]]:
    """(column, item id, item) of the daily view: one per item of every study, in asking order."""
    out: list[tuple[str, str, Item]] = []
    seen = set(DAILY_FIXED)
    for study in studies.values():
        for item in study.items():
            if item.id in {c[1] for c in out}:
                continue
            name = item.id if item.id not in seen else f"item_{item.id}"
            seen.add(name)
            out.append((name, item.id, item))
    return out


def daily_sql(studies: dict[str, Study]) -> str:
    """One row per participant and day (the report that counts), one column per item.

    vas and number as numbers, yes/no as 1/0, choice and text as text, multi as its options
    joined by ; or "(none chosen)"; a skipped or not-asked item is NULL.
    """
    cells = []
    for name, item_id, _item in daily_columns(studies):
        cells.append(
            f"(SELECT CASE WHEN a.status = '{SKIPPED}' THEN NULL"
            " WHEN a.kind IN ('vas', 'number', 'yesno') THEN a.value_num"
            f" WHEN a.kind = 'multi' AND a.code = '{NONE_CODE}' THEN '{NONE_LABEL}' ELSE a.value END"
            f" FROM answers a WHERE a.entry_no = e.entry_no AND a.item_id = '{item_id.replace(chr(39), chr(39) * 2)}')"
            f" AS {q(name)}")
    fixed = ("e.participant_id, e.diary_date, e.study_day, e.phase_id, e.phase_label, e.timing,"
             " (e.supersedes IS NOT NULL) AS corrected, e.flags, e.entry_no")
    # No ORDER BY: with one, SQLite evaluates every cell to count the view, and Datasette's count
    # (its facet suggestions) times out on a large study. The rows still come in entry_no order
    # (participant, then date): the scan of entries runs in rowid order, or through an index that
    # starts with participant_id when a query filters on it.
    return f"CREATE VIEW daily AS SELECT {', '.join([fixed, *cells])} FROM entries e WHERE e.counts = 1"


class SqliteWriter:
    """Writes the export into `out` (and `out`'s Datasette metadata beside it)."""

    def __init__(self, out: Path, studies: dict[str, Study]):
        self.out, self.studies = out, studies
        self.tmp = out.with_name(out.name + ".tmp")
        self.tmp.unlink(missing_ok=True)
        self.db = sqlite3.connect(private.file(self.tmp), isolation_level=None)  # owner only (0600)
        # A scratch file moved into place only when complete: no journal needed.
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("BEGIN")
        for t in TABLES:
            self.db.execute(create_sql(t))
        for study in studies.values():
            self.db.executemany(insert_sql(CODEBOOK), codebook_rows(study))
            self.db.executemany(insert_sql(OPTIONS), option_rows(study))
        self._insert = {t.name: insert_sql(t) for t in (PARTICIPANTS, PHASES, ENTRIES, ANSWERS, PERIODS, *EVENT_TABLES.values())}

    def add(self, g: Gathered, counting: set[str], rows: TableRows) -> None:
        for name, sql in self._insert.items():
            self.db.executemany(sql, getattr(rows, name))

    def finish(self) -> None:
        for sql in INDEXES:
            self.db.execute(sql)
        self.db.execute(daily_sql(self.studies))
        self.db.execute("COMMIT")
        self.db.close()
        meta = metadata(self.out.stem, self.studies)
        meta_tmp = self.metadata_path.with_name(self.metadata_path.name + ".tmp")
        private.write(meta_tmp, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        os.replace(self.tmp, self.out)
        os.replace(meta_tmp, self.metadata_path)

    def abort(self) -> None:
        self.db.close()
        self.tmp.unlink(missing_ok=True)

    @property
    def metadata_path(self) -> Path:
        return metadata_path(self.out)


def metadata_path(out: Path) -> Path:
    """`analysis.db` -> `analysis.metadata.json` (`datasette analysis.db --metadata analysis.metadata.json`)."""
    return out.with_name(out.stem + ".metadata.json")


def _daily_description(item: Item) -> str:
    kind = {"vas": "VAS 0-100", "number": "number", "yesno": "1 = yes, 0 = no", "choice": "option text",
            "multi": f"options joined by ; or {NONE_LABEL}", "text": "free text"}[item.kind]
    anchors = f" (0 = {item.min_label}, 100 = {item.max_label})" if item.kind == "vas" and item.min_label else ""
    return f"{item.name}: {asked_prompt(item)} [{kind}{anchors}]"


def metadata(database: str, studies: dict[str, Study]) -> dict:
    """Datasette metadata: table and column descriptions, units, and each table's default sort."""
    tables: dict[str, dict] = {}
    for t in TABLES:
        tables[t.name] = {
            "description": t.description,
            "columns": {c.name: c.description for c in t.columns},
        }
        units = {c.name: c.unit for c in t.columns if c.unit}
        if units:
            tables[t.name]["units"] = units
    # Default sorts: Datasette orders by the one column named (ties by the key only when paging),
    # so each names a key column whose order is participant then date. The rows are written in that
    # order, so phases (participant, then phase order) and the codebook (version, then asking order)
    # keep their rowid order, Datasette's default.
    tables["participants"]["sort"] = "participant_id"
    tables["entries"]["sort"] = tables["answers"]["sort"] = "entry_no"  # numbered by participant, then date
    for t in EVENT_TABLES.values():
        tables[t.name]["sort"] = "participant_id"
    daily = {name: _daily_description(item) for name, _id, item in daily_columns(studies)}
    tables["daily"] = {
        "description": "One row per participant and diary day (the report that counts after corrections),"
                       " one column per item; skipped or not-asked items are empty. Sorted by participant and date.",
        "columns": {**{c: tables["entries"]["columns"].get(c, "1 if the counted report is a correction")
                       for c in DAILY_FIXED}, **daily},
    }
    # Datasette lists column descriptions above each table, one per line, pushing the rows off the
    # first screen: a compact grid keeps them in view and the rows too.
    css = ("dl.column-descriptions{display:grid;grid-template-columns:repeat(3,max-content minmax(0,1fr));"
           "gap:0 .7em;font-size:.72rem;line-height:1.3;margin:.4em 0 1em}"
           "dl.column-descriptions dt{font-weight:600}dl.column-descriptions dd{margin:0;color:#555}"
           ".rows-and-columns td{white-space:nowrap}")  # one line per row; the table scrolls sideways
    titles = ", ".join(f"{s.latest.title} ({s.study_id})" for s in studies.values())
    return {
        "title": f"Symptom diary export: {titles}" if titles else "Symptom diary export",
        "description": "Exported from the study hub by `diary hub export`. Timestamps are ISO 8601 with their"
                       " UTC offset, to the microsecond. The codebook table describes every item.",
        "extra_css_urls": ["data:text/css," + quote(css)],
        "databases": {database: {"tables": tables}},
    }
