"""CSV cells that a spreadsheet opens as text, never as a formula (CSV injection).

Every CSV of `diary hub export` passes its cells through `safe_cell` (one rule, meant for every
CSV the project writes): a cell that starts with
= + - @, a tab or a carriage return is written with a leading single quote, which spreadsheets
show as text. A plain number (-3, +2.5) is left as it is: it is not a formula and analysts need it
as a number. Only CSV is treated so; SQLite and JSON keep the text as typed.
"""

from __future__ import annotations

import re

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(v: object) -> object:
    """The cell as written to CSV: text that a spreadsheet would run as a formula gets a leading '."""
    if isinstance(v, str) and v.startswith(_TRIGGERS) and not _NUMBER.fullmatch(v):
        return "'" + v
    return v


def safe_row(row) -> list:
    return [safe_cell(v) for v in row]
