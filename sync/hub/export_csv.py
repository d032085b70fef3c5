"""`hub export --csv`: one CSV file per table, streamed; and the codebook CSV every export folder holds.

Cells go through `diary_client.core.spreadsheet.safe_cell` (no formula runs when a spreadsheet opens
them). An empty cell is an empty value; `answers.status` tells a skipped item from an answer,
and `answers.code` 0 marks a multi item answered with nothing chosen.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

from diary_client.core import private
from diary_client.core.spreadsheet import safe_row
from sync.hub.codebook import Study, codebook_rows, option_rows
from sync.hub.export_tables import CODEBOOK, OPTIONS, TABLES, Gathered, TableRows


class CsvFile:
    """One CSV file written row by row with a fixed header. `guard`: the file is for people, so cells
    a spreadsheet would run are neutralised; a file another program imports (REDCap) is written
    without it, every value exactly as typed."""

    def __init__(self, path: Path, header: list[str], guard: bool = True):
        self.path, self.guard = path, guard
        self.file: IO[str] = private.open_text(path)  # owner only (0600)
        self.writer = csv.writer(self.file)
        self.writer.writerow(safe_row(header) if guard else header)
        self.rows = 0

    def write(self, rows) -> None:
        for row in rows:
            self.writer.writerow(safe_row(row) if self.guard else row)
            self.rows += 1

    def close(self) -> None:
        self.file.close()


def write_codebook(folder: Path, studies: dict[str, Study]) -> None:
    """`codebook.csv` and `options.csv`: every item of every protocol version, and the answer codes."""
    for t, rows in ((CODEBOOK, codebook_rows), (OPTIONS, option_rows)):
        f = CsvFile(folder / f"{t.name}.csv", t.names)
        for study in studies.values():
            f.write(rows(study))
        f.close()


class CsvWriter:
    def __init__(self, folder: Path, studies: dict[str, Study]):
        private.folder(folder)
        write_codebook(folder, studies)
        self.files = {t.name: CsvFile(folder / f"{t.name}.csv", t.names) for t in TABLES if t not in (CODEBOOK, OPTIONS)}

    def add(self, g: Gathered, counting: set[str], rows: TableRows) -> None:
        for name, f in self.files.items():
            f.write(getattr(rows, name))

    def finish(self) -> None:
        for f in self.files.values():
            f.close()

    abort = finish

