"""Who of the hub's participants a coordinator's command can use, and who is left out and why.

`hub status`, `hub report` and `hub export` read the hub one participant at a time through
here, so one participant without a day 1 or with a damaged value (an entry that no longer
parses, an unknown time zone, an unreadable protocol) is named and passed over, never the
reason a whole study's command fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from diary_client.entry import Entry

from .database import PARTICIPANTS, participant_of_row
from .rules import Participant, valid_zone
from .store import HubStore

NO_DAY_1 = "no day 1 yet (enrolled on the hub; no device has enrolled and no file was imported)"
DAMAGE = (ValueError, TypeError, KeyError, ArithmeticError)  # what a damaged row raises when read


@dataclass(frozen=True)
class LeftOut:
    participant_id: str
    reason: str

    def as_json(self) -> dict:
        return {"participant_id": self.participant_id, "reason": self.reason}


def participants(hub: HubStore) -> tuple[list[Participant], list[LeftOut]]:
    """Every participant whose row can be used (day 1 may be missing), by id; the damaged ones apart."""
    with hub.db.read() as db:
        cur = db.conn.execute(PARTICIPANTS + " ORDER BY p.participant_id")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    good, bad = [], []
    for row in rows:
        problem = _row_problem(row)
        if problem:
            bad.append(LeftOut(str(row["participant_id"]), problem))
        else:
            good.append(participant_of_row(row))
    return good, bad


def _row_problem(row: dict) -> str | None:
    try:
        p = participant_of_row(row)
    except DAMAGE as e:
        return f"its hub record is damaged (day 1 {row.get('start')!r}: {e})"
    if not valid_zone(p.tz):
        return f"its time zone {p.tz!r} is not an IANA zone"
    try:
        p.protocol  # noqa: B018 - parsed once, cached
    except DAMAGE as e:
        return f"its study protocol (version {p.protocol_version}) cannot be read: {e}"
    return None


def entries(hub: HubStore, p: Participant) -> list[Entry] | LeftOut:
    """The participant's entries, or why they cannot be used (an entry stored on the hub that no longer parses)."""
    try:
        return hub.reads.entries(p.participant_id)
    except DAMAGE as e:
        return LeftOut(p.participant_id, f"an entry on the hub is damaged and cannot be read ({_first_line(e)})")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def describe(left_out: list[LeftOut]) -> str:
    """One line for stderr: who is left out and why."""
    return "left out: " + "; ".join(f"{x.participant_id} ({x.reason})" for x in left_out)

