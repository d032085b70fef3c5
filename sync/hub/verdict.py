"""Judging an upload batch entry by entry: duplicates, conflicts, one report a day, corrections.

Pure (no database, no clock): the store looks up, with one query each, what the hub already holds that the batch's
verdicts depend on (a `Ledger`), and this module judges every entry against it in order, adding
each accepted entry so that later entries of the same batch see it, exactly as if each had been
stored before the next was judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import ClassVar

from diary_client.core import bounds
from diary_client.core.entry import Entry, canonical
from sync.hub.rules import Participant, entry_problem, timing_problem

UNICODE = "the entry holds text that is not valid Unicode"


def hashed(e: Entry) -> tuple[str | None, str | None]:
    """(body, content hash), or (None, None) for text that is not valid Unicode."""
    try:
        return canonical(e)
    except UnicodeEncodeError:
        return None, None


def problems_of(entries: list[Entry], p: Participant | None,
                versions: Mapping[int, str] | None = None, today: date | None = None,
                uploaded: bool = True) -> list[str | None]:
    """Per entry, why its content does not fit p's protocol (only p's own entries need asking).

    An entry is checked against the protocol version it was made under: any of the study's
    `versions` (number -> TOML) up to p's current one, so entries a device made before it took
    an update still fit. With `today` (the hub's date where the participant lives), a report
    for a day to come is refused (diary_client.core.bounds.future_day_problem); an entry dated outside
    the window any date may have is refused too.
    """
    if p is None:
        return [None] * len(entries)
    as_of = {v: replace(p, protocol_version=v, protocol_toml=toml)
             for v, toml in (versions or {}).items() if v < p.protocol_version}
    as_of[p.protocol_version] = p
    return [(bounds.entry_problem(e.diary_date, e.submitted_at)
             or (today and bounds.future_day_problem(e.diary_date, today))
             or entry_problem(e, as_of.get(e.protocol_version, p))
             or timing_problem(e, p, uploaded))
            if e.participant_id == p.participant_id else None
            for e in entries]


@dataclass(frozen=True)
class Stored:
    """What a verdict needs of an entry on the hub."""

    participant_id: str
    content_hash: str
    received_at: str
    diary_date: str


@dataclass(frozen=True)
class Accepted:
    """New: to be stored under its content hash."""

    content_hash: str
    kind: ClassVar[str] = "accepted"


@dataclass(frozen=True)
class Duplicate:
    """The same id and content are on the hub already: its receipt stands."""

    content_hash: str
    received_at: str
    kind: ClassVar[str] = "duplicate"


@dataclass(frozen=True)
class Rejected:
    reason: str
    kind: ClassVar[str] = "rejected"


Verdict = Accepted | Duplicate | Rejected


@dataclass
class Ledger:
    """One participant's relevant part of the hub, as it stands after each accepted entry."""

    participant_id: str
    entries: dict[str, Stored] = field(default_factory=dict)  # by id: the batch's ids and targets
    corrected_by: dict[str, str] = field(default_factory=dict)  # superseded id -> correcting id
    day_report: dict[str, str] = field(default_factory=dict)  # diary date -> id of its (first) report

    def judge(self, e: Entry, h: str | None, problem: str | None) -> Verdict:
        """The verdict on entry `e`: `Accepted`, `Duplicate` (with the receipt time) or `Rejected` (with why).

        `h` is its content hash (None: not valid Unicode); `problem` is why its content does
        not fit the participant's protocol (rules.entry_problem), or None.
        """
        if h is None:
            return Rejected(UNICODE)
        have = self.entries.get(e.id)
        if have is not None:
            if have.participant_id == self.participant_id and have.content_hash == h:
                return Duplicate(h, have.received_at)
            return Rejected("an entry with this id and other content is already on the hub")
        if e.participant_id != self.participant_id:
            return Rejected(f"the entry is participant {e.participant_id}'s, not {self.participant_id}'s")
        if problem:
            return Rejected(problem)
        day = e.diary_date.isoformat()
        if e.supersedes:
            target = self.entries.get(e.supersedes)
            if target is None or target.participant_id != self.participant_id:
                return Rejected(f"it corrects entry {e.supersedes}, which the hub does not have")
            if target.diary_date != day:
                return Rejected(f"it corrects entry {e.supersedes}, which is the report of {target.diary_date}")
            other = self.corrected_by.get(e.supersedes)
            if other:
                return Rejected(f"entry {e.supersedes} is already corrected by entry {other}")
        else:
            other = self.day_report.get(day)
            if other:
                return Rejected(f"{e.diary_date} already has a report on the hub (entry {other}); "
                                "a change must be a correction")
        return Accepted(h)

    def add(self, e: Entry, h: str, received_at: str) -> None:
        """Record an accepted entry, so the rest of the batch is judged with it on the hub."""
        day = e.diary_date.isoformat()
        self.entries[e.id] = Stored(self.participant_id, h, received_at, day)
        if e.supersedes:
            self.corrected_by[e.supersedes] = e.id
        else:
            self.day_report.setdefault(day, e.id)
