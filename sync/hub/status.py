"""`hub status` from a few aggregate queries: per participant and phase, days filed by timing and doubted days.

No entry is read or parsed: SQL counts each phase's days with a report (from one covering index)
and `diary_client.core.schedule.phase_tally`, the rule the device uses too, turns the counts into the
tally, so a 10,000-participant hub answers in about a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from diary_client.core import schedule as sch
from sync.hub.reads import PhaseDates
from sync.hub.rules import Participant, spans_of
from sync.hub.store import HubStore

NOTHING_FILED = sch.FiledDays({}, {}, 0, 0)


@dataclass(frozen=True)
class Status:
    """One participant's line of `hub status`."""

    participant: Participant
    entries: int
    last_received_at: str | None
    quarantined: int  # entries rejected and never stored
    flagged: int  # entries with the device's clock doubts
    phases: Mapping[str, sch.Tally]  # phase id -> tally, in study order; empty without a day 1
    overall: sch.Tally | None  # the phases together; None without a day 1


def statuses(hub: HubStore, now: datetime, people: list[Participant] | None = None) -> list[Status]:
    """Every participant's status, by id (or of `people`: those `roster.participants` can read)."""
    people = hub.reads.participants() if people is None else people
    cuts: dict[tuple[str, str], sch.Cutoffs] = {}  # participants of one protocol and zone share them
    dates: list[PhaseDates] = []
    spans: dict[str, list[sch.PhaseSpan]] = {}
    for p in people:
        if p.start is None:
            continue
        cut = cuts.get((p.protocol_toml, p.tz))
        if cut is None:
            cut = cuts[(p.protocol_toml, p.tz)] = sch.cutoffs(p.protocol.schedule, p.local(now))
        spans[p.participant_id] = list(spans_of(p))
        dates += [PhaseDates(p.participant_id, s.phase.id, s.start, s.end, cut.closed, cut.past_grace,
                             p.protocol.schedule, p.local(now).tzinfo)
                  for s in spans[p.participant_id]]
    counted = hub.reads.filed_counts(dates)
    summary, flagged = hub.reads.summary(), hub.reads.flagged_counts()
    out = []
    for p in people:
        pid = p.participant_id
        s = summary.get(pid, {})
        cut = cuts.get((p.protocol_toml, p.tz))
        phases = {span.phase.id: sch.phase_tally(span, cut, counted.get((pid, span.phase.id), NOTHING_FILED))
                  for span in spans.get(pid, [])} if cut else {}
        out.append(Status(p, s.get("entries", 0), s.get("last_received_at"), s.get("quarantined", 0),
                          flagged.get(pid, 0), phases, sch.combined(phases.values()) if phases else None))
    return out
