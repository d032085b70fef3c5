"""The diary entry: its fields (the wire contract), content hash and correction resolution."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CANON_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
Value = bool | int | float | str | list[str] | None
Timing = Literal["on_time", "late", "import"]
Source = Literal["app", "cli", "import"]


class Entry(BaseModel):
    """One immutable daily report. A correction is a new Entry that `supersedes` an old one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    participant_id: str = Field(min_length=1, max_length=100)
    study_id: str = Field(min_length=1, max_length=100)
    protocol_version: int = Field(ge=1)
    diary_date: date
    study_day: int = Field(ge=1)
    answers: dict[str, Value]
    submitted_at: datetime
    timing: Timing
    source: Source
    device_id: str = Field(min_length=1, max_length=100)
    seq: int = Field(ge=0)
    supersedes: str | None = None
    reason: str | None = Field(None, max_length=2000)

    @field_validator("id", "supersedes")
    @classmethod
    def _uuid(cls, v: str | None) -> str | None:
        if v is None or _CANON_UUID.fullmatch(v):
            return v  # already in canonical form: the usual case, and the hub checks thousands
        return str(uuid.UUID(v))

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("submitted_at needs a UTC offset")
        return v

    @model_validator(mode="after")
    def _correction_has_reason(self) -> Entry:
        if self.supersedes and not (self.reason and self.reason.strip()):
            raise ValueError("a correction (supersedes) needs a reason")
        if self.supersedes == self.id:
            raise ValueError("an entry cannot supersede itself")
        return self

    def wire(self) -> dict:
        return self.model_dump(mode="json")


_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(entry: Entry) -> tuple[str, str]:
    """The entry's canonical JSON and its SHA-256 (UnicodeEncodeError for lone surrogates).

    Canonical JSON is, by definition, the standard library's `json` with sorted keys, no spaces
    and text as is. orjson writes exactly those bytes, ten times faster (the hub hashes every
    entry it receives), for everything an entry can hold except floats, which it writes in
    another notation (0.00001 for 1e-05): an entry with a float answer, an integer beyond 64
    bits or a lone surrogate takes the standard library's path.
    """
    doc = entry.wire()
    if not any(type(v) is float for v in entry.answers.values()):
        try:
            raw = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
        else:
            return raw.decode(), hashlib.sha256(raw).hexdigest()
    text = _CANON.encode(doc)
    return text, hashlib.sha256(text.encode()).hexdigest()


def content_hash(entry: Entry) -> str:
    """SHA-256 of the entry's canonical JSON: equal content, equal hash, on device and hub."""
    return canonical(entry)[1]


def new_id() -> str:
    return str(uuid.uuid4())


def latest(entries: Iterable[Entry]) -> dict[date, Entry]:
    """Per diary date, the entry that counts: the last correction of the day's report."""
    entries = list(entries)
    superseded = {e.supersedes for e in entries if e.supersedes}
    out: dict[date, Entry] = {}
    for e in entries:
        if e.id in superseded:
            continue
        cur = out.get(e.diary_date)
        if cur is None or (e.submitted_at, e.seq) > (cur.submitted_at, cur.seq):
            out[e.diary_date] = e
    return dict(sorted(out.items()))


def filed_timing(entries: Iterable[Entry]) -> dict[date, str]:
    """Per diary date, how its report was filed: the timing of the day's original report (the one
    that corrects nothing; should a day have two, the first). A correction changes the answers,
    never whether or how the day was filed, whatever its clock says."""
    first: dict[date, Entry] = {}
    for e in entries:
        if e.supersedes:
            continue
        cur = first.get(e.diary_date)
        if cur is None or (e.submitted_at, e.seq) < (cur.submitted_at, cur.seq):
            first[e.diary_date] = e
    return {d: e.timing for d, e in first.items()}
