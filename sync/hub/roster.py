"""Who of the hub's participants a coordinator's command can use, and who is left out and why.

`hub status`, `hub report` and `hub export` all walk the hub through `read` (the participants,
checked) and, for their entries, `members` (one participant at a time), so one participant
without a day 1 or with a damaged value (an entry that no longer parses, an unknown time zone,
an unreadable protocol) is named and passed over, never the reason a whole study's command fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from diary_client.core.entry import Entry
from sync.hub.database import PARTICIPANTS, participant_of_row
from sync.hub.rules import Participant, valid_zone
from sync.hub.store import HubStore

NO_DAY_1 = "no day 1 yet (enrolled on the hub; no device has enrolled and no file was imported)"
DAMAGE = (ValueError, TypeError, KeyError, ArithmeticError)  # what a damaged row raises when read


@dataclass(frozen=True)
class LeftOut:
    participant_id: str
    reason: str
    study_id: str | None = None  # None: the record is too damaged to say

    def as_json(self) -> dict:
        return {"participant_id": self.participant_id, "reason": self.reason}


@dataclass(frozen=True)
class Roster:
    """The hub's participants whose record can be used (day 1 may be missing), by id, and those
    left out with why."""

    people: list[Participant]
    left_out: list[LeftOut] = field(default_factory=list)

    def studies(self) -> list[str]:
        """The studies of everyone on it (the left out whose study can be told included), sorted."""
        return sorted({p.study_id for p in self.people} | {x.study_id for x in self.left_out if x.study_id})

    def of_study(self, study_id: str | None) -> Roster:
        """Its people of one study, and those left out of it or of no study that can be told."""
        return Roster([p for p in self.people if p.study_id == study_id],
                      [x for x in self.left_out if x.study_id in (study_id, None)])


@dataclass(frozen=True)
class Member:
    """One participant with what the hub holds of them: entries with their receipts (`Reads.received`)."""

    participant: Participant
    received: list[dict]

    @property
    def entries(self) -> list[Entry]:
        return [r["entry"] for r in self.received]


def read(hub: HubStore) -> Roster:
    """The hub's participants, checked: the one walk `hub status`, `hub report` and `hub export` start
    from. Every participant whose row can be used (day 1 may be missing), by id; the damaged ones apart."""
    good: list[Participant] = []
    bad: list[LeftOut] = []
    texts: dict[str, str] = {}  # sqlite3 makes a new string per row: a study's participants share one protocol text
    with hub.db.read() as db:
        cur = db.conn.execute(PARTICIPANTS + " ORDER BY p.participant_id")
        names = [d[0] for d in cur.description]
        for r in cur:  # row by row: 10,000 rows' copies of the protocol text never live at once
            row = dict(zip(names, r))
            text = row.get("protocol_toml")
            if isinstance(text, str):
                row["protocol_toml"] = texts.setdefault(text, text)
            got = _checked(row)
            if isinstance(got, LeftOut):
                bad.append(got)
            else:
                good.append(got)
    return Roster(good, bad)


def members(hub: HubStore, people: Iterable[Participant]) -> Iterator[Member | LeftOut]:
    """Each participant in turn with their entries, read then (memory holds one participant's at a
    time), or why they are left out (an entry stored on the hub that no longer parses)."""
    for p in people:
        got = _received(hub, p)
        yield got if isinstance(got, LeftOut) else Member(p, got)


def _checked(row: dict) -> Participant | LeftOut:
    pid, study = str(row["participant_id"]), row.get("study_id")
    try:
        p = participant_of_row(row)
    except DAMAGE as e:
        return LeftOut(pid, f"its hub record is damaged (day 1 {row.get('start')!r}: {e})", study)
    if not valid_zone(p.tz):
        return LeftOut(pid, f"its time zone {p.tz!r} is not an IANA zone", study)
    try:
        p.protocol  # noqa: B018 - parsed once, cached
    except DAMAGE as e:
        return LeftOut(pid, f"its study protocol (version {p.protocol_version}) cannot be read: {e}", study)
    return p


def _received(hub: HubStore, p: Participant) -> list[dict] | LeftOut:
    """The participant's stored entries with their receipts (`Reads.received`), or why they cannot
    be used: an entry stored on the hub that no longer parses."""
    try:
        return hub.reads.received(p.participant_id)
    except DAMAGE as e:
        return LeftOut(p.participant_id, f"an entry on the hub is damaged and cannot be read ({_first_line(e)})",
                       p.study_id)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def describe(left_out: list[LeftOut]) -> str:
    """One line for stderr: who is left out and why."""
    return "left out: " + "; ".join(f"{x.participant_id} ({x.reason})" for x in left_out)

