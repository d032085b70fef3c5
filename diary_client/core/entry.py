"""The diary entry: a frozen dataclass (the wire contract), its content hash and correction resolution."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import cache, cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson

from diary_client.core import constraints as c

if TYPE_CHECKING:
    from pydantic import TypeAdapter

_CANON_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
Value = bool | int | float | str | list[str] | None
Timing = Literal["on_time", "late", "import"]
Source = Literal["app", "cli", "import"]


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One immutable daily report. A correction is a new Entry that `supersedes` an old one.

    Built directly from trusted values (the device's store, the hub's stored bodies), or through
    `parse_entry` / `parse_entries_json` from outside input, which pydantic validates first.
    """

    __pydantic_config__ = {"extra": "forbid"}

    id: str
    participant_id: c.Name
    study_id: c.Name
    protocol_version: Annotated[int, c.Ge(1)]
    diary_date: date
    study_day: Annotated[int, c.Ge(1)]
    answers: dict[str, Value]
    submitted_at: datetime
    timing: Timing
    source: Source
    device_id: c.Name
    seq: Annotated[int, c.Ge(0)]
    supersedes: str | None = None
    reason: Annotated[str, c.MaxLen(2000)] | None = None

    def __post_init__(self) -> None:
        check_record(self, "an entry")

    def wire(self) -> dict:
        """The entry as JSON values, exactly as pydantic's `mode="json"` wrote them (the content
        hash is taken over these, so the bytes must never change)."""
        return {
            "id": self.id, "participant_id": self.participant_id, "study_id": self.study_id,
            "protocol_version": self.protocol_version, "diary_date": self.diary_date.isoformat(),
            "study_day": self.study_day,
            "answers": {k: list(v) if isinstance(v, list) else v for k, v in self.answers.items()},
            "submitted_at": _iso(self.submitted_at), "timing": self.timing, "source": self.source,
            "device_id": self.device_id, "seq": self.seq, "supersedes": self.supersedes, "reason": self.reason,
        }

    @cached_property
    def _canonical(self) -> tuple[bytes, str]:
        # An entry never changes: its canonical JSON is made once, though a sync round needs it three
        # times (a batch's size, the upload body, the receipt's check).
        return _canonical_of(self)


def check_record(record: Any, what: str) -> None:
    """What an entry and an event (core/event.py) both check of themselves: ids as canonical UUID
    text, `submitted_at` with its offset, a correction with its reason and not of itself."""
    # Canonical UUID text: the usual case is already canonical, and the hub checks thousands.
    if not _CANON_UUID.fullmatch(record.id):
        object.__setattr__(record, "id", str(uuid.UUID(record.id)))
    if record.supersedes is not None and not _CANON_UUID.fullmatch(record.supersedes):
        object.__setattr__(record, "supersedes", str(uuid.UUID(record.supersedes)))
    if record.submitted_at.tzinfo is None or record.submitted_at.utcoffset() is None:
        raise ValueError("submitted_at needs a UTC offset")
    if record.supersedes and not (record.reason and record.reason.strip()):
        raise ValueError("a correction (supersedes) needs a reason")
    if record.supersedes == record.id:
        raise ValueError(f"{what} cannot supersede itself")


def _iso(t: datetime) -> str:
    """pydantic's JSON form of an aware date-time: "Z" for UTC, an offset in whole minutes."""
    off = t.utcoffset()
    assert off is not None  # Entry refuses naive times
    text = t.replace(tzinfo=None).isoformat()
    if not off:
        return text + "Z"
    secs = int(off.total_seconds())
    sign, secs = ("-", -secs) if secs < 0 else ("+", secs)
    return f"{text}{sign}{secs // 3600:02d}:{secs % 3600 // 60:02d}"


_FIELDS = [f.name for f in fields(Entry)]


def from_wire(doc: dict[str, Any]) -> Entry:
    """An Entry from its `wire()` form, as stored by this program (no validation beyond Entry's own)."""
    return Entry(**{**doc, "diary_date": date.fromisoformat(doc["diary_date"]),
                    "submitted_at": datetime.fromisoformat(doc["submitted_at"])})


def row_entry(row: Mapping[str, Any]) -> Entry:
    """An Entry from a table row of its fields, answers as JSON text, as the device's store writes
    it (trusted: no pydantic on the device's read path)."""
    doc = {k: row[k] for k in _FIELDS}
    doc["answers"] = json.loads(row["answers"])
    if not isinstance(doc["answers"], dict):  # a file changed behind the app's back (verify, a collected file)
        raise ValueError("answers is not a JSON object")
    return from_wire(doc)


def stored_entry(body: str | bytes) -> Entry:
    """An Entry from JSON that this program validated and wrote itself (a hub's stored body)."""
    return from_wire(orjson.loads(body))


@cache
def _adapter() -> TypeAdapter[Entry]:
    from pydantic import TypeAdapter

    return TypeAdapter(Entry)


def parse_entry(data: Any) -> Entry:
    """An Entry from outside input (an API body, an import file), validated by pydantic
    (`pydantic.ValidationError` says what is wrong)."""
    return _adapter().validate_python(data)


@cache
def _list_adapter() -> TypeAdapter[list[Entry]]:
    from pydantic import TypeAdapter

    return TypeAdapter(list[Entry])


def parse_entries_json(body: bytes, *, extra: Literal["forbid", "ignore"] = "forbid") -> list[Entry]:
    """Entries from a JSON array of them (the hub's history page), validated by pydantic
    (`pydantic.ValidationError` locates what is wrong); `extra="ignore"` passes over fields an
    entry does not have (a newer hub's)."""
    return _list_adapter().validate_json(body, extra=extra)



_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(entry: Entry) -> tuple[str, str]:
    """The entry's canonical JSON and its SHA-256 (UnicodeEncodeError for lone surrogates)."""
    raw, digest = entry._canonical
    return raw.decode(), digest


def canonical_json(entry: Entry) -> bytes:
    """The entry's canonical JSON as UTF-8: its wire form, as the device uploads it."""
    return entry._canonical[0]


def _canonical_of(entry: Entry) -> tuple[bytes, str]:
    """The canonical JSON's bytes and their SHA-256.

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
            return raw, hashlib.sha256(raw).hexdigest()
    raw = _CANON.encode(doc).encode()
    return raw, hashlib.sha256(raw).hexdigest()


def content_hash(entry: Entry) -> str:
    """SHA-256 of the entry's canonical JSON: equal content, equal hash, on device and hub."""
    return entry._canonical[1]


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
