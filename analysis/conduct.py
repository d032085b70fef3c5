"""The trial's conduct, gathered one participant at a time: blinding guesses, harms per period and role, the participant flow.

Pure: `Conduct.add` reads a `ParticipantData` (her schedule, counted reports, adverse events,
withdrawal) as the cohort stream passes it and keeps only counts, so it grows by a few numbers
per participant. The periods are the protocol's phases in order (today's fixed design).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from analysis import blinding as bl
from analysis.participant import SEVERITIES, ParticipantData
from analysis.results import BlindingResult, Flow, FlowPeriod, Harms, PeriodHarms
from diary_client.core.entry import latest
from diary_client.core.protocol import Protocol
from diary_client.core.schedule import cutoffs, phase_spans, span_on

OUTSIDE = "outside"  # the harms key of events dated on none of the study's days


class _HarmCount:
    def __init__(self) -> None:
        self.participants: set[str] = set()
        self.events = self.serious = 0
        self.by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)

    def add(self, pid: str, serious: bool, severity: str) -> None:
        self.participants.add(pid)
        self.events += 1
        self.serious += serious
        self.by_severity[severity] += 1

    def result(self) -> Harms:
        return Harms(len(self.participants), self.events, self.serious, dict(self.by_severity))


def sequence(protocol: Protocol) -> str:
    """A participant's sequence as the allocation names it: her phase ids joined by '>' (the phase
    each of her periods is an occurrence of, in a randomized design's expanded schedule)."""
    return ">".join(p.base for p in protocol.phases)


class Conduct:
    """Counts of the conduct of one study's trial, participant by participant (`add`), then the results."""

    def __init__(self, protocol: Protocol):
        self.protocol = protocol
        self.enrolled = self.withdrawn = 0
        self.allocated: Counter[str] = Counter()
        self.started: Counter[str] = Counter()
        self.completed: Counter[str] = Counter()
        self.reported: Counter[str] = Counter()
        self.by_role = {p.role: _HarmCount() for p in protocol.phases}
        self.by_period = {p.id: _HarmCount() for p in protocol.phases}
        # In a randomized design each participant has her own periods ("ldn-2"): every one seen is
        # counted, in the order first met (the first participant's schedule first).
        self.periods = {p.id: p for p in protocol.phases}
        self.outside = _HarmCount()
        self.guesses: list[tuple[str, str]] = []
        self.asked = False
        self.first_start: date | None = None
        self.last_start: date | None = None
        self.last_end: date | None = None

    def add(self, p: ParticipantData, now: datetime) -> None:
        """One participant: `now` as her clock shows it (`ParticipantData.local`)."""
        protocol, pid = p.protocol, p.participant_id
        spans = phase_spans(protocol, p.start)
        self.enrolled += 1
        self.allocated[sequence(protocol)] += 1
        self.withdrawn += p.withdrawn is not None
        gone = p.withdrawn or date.max
        cut = cutoffs(protocol.schedule, now)
        days = latest(p.entries)
        for s in spans:
            self.periods.setdefault(s.phase.id, s.phase)
            self.started[s.phase.id] += s.start <= now.date() and s.start < gone
            self.completed[s.phase.id] += s.end <= cut.past_grace and s.end < gone
            self.reported[s.phase.id] += any(d in days for d in s.dates())
        self.first_start = min(self.first_start or p.start, p.start)
        self.last_start = max(self.last_start or p.start, p.start)
        self.last_end = max(self.last_end or spans[-1].end, spans[-1].end)
        for ae in p.adverse_events:
            span = span_on(protocol, p.start, ae.started)
            if span is None:
                self.outside.add(pid, ae.serious, ae.severity)
                continue
            self.by_role.setdefault(span.phase.role, _HarmCount()).add(pid, ae.serious, ae.severity)
            self.by_period.setdefault(span.phase.id, _HarmCount()).add(pid, ae.serious, ae.severity)
        self.asked = self.asked or protocol.blinding_check is not None
        self.guesses += bl.guesses(protocol, p.start, p.entries)

    def harms(self) -> dict[str, Harms]:
        """Period role -> harms, in the protocol's order; "outside" only when some event is."""
        out: dict[str, Harms] = {role: c.result() for role, c in self.by_role.items()}
        if self.outside.events:
            out[OUTSIDE] = self.outside.result()
        return out

    def harms_by_period(self) -> tuple[PeriodHarms, ...]:
        return tuple(PeriodHarms(ph.id, ph.base, ph.role, self.by_period.setdefault(ph.id, _HarmCount()).result())
                     for ph in self.periods.values())

    def flow(self, analysed: int) -> Flow:
        periods = tuple(FlowPeriod(ph.id, ph.base, ph.role, self.started[ph.id], self.completed[ph.id],
                                   self.reported[ph.id]) for ph in self.periods.values())
        return Flow(self.enrolled, dict(self.allocated), periods, self.withdrawn, analysed,
                    self.first_start, self.last_start, self.last_end)

    def blinding(self) -> BlindingResult:
        return bl.blinding(self.asked, self.guesses)
