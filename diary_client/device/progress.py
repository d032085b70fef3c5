"""What the progress view shows, computed from entries: daily series, weekly means, the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean

from diary_client.core import days
from diary_client.core import schedule as sch
from diary_client.core.entry import Entry, filed_timing, latest
from diary_client.core.protocol import Item, Protocol


@dataclass(frozen=True)
class Week:
    number: int  # 1-based study week
    first_day: int
    last_day: int
    label: str  # the period(s) it falls in, as the participant may see them
    filed: int
    means: dict[str, float | None]  # numeric item id -> mean of the days with a value


@dataclass(frozen=True)
class CalendarWeek:
    number: int
    start: date
    marks: list[str]  # one symbol per day (days.MARK_SYMBOL)
    label: str


def numeric_items(protocol: Protocol) -> list[Item]:
    return [i for i in protocol.items if i.numeric]


def series(protocol: Protocol, start: date, entries: list[Entry], item_id: str) -> list[tuple[int, float]]:
    """(study day, value) for each day whose latest report has a number for the item."""
    out = []
    for d, e in latest(entries).items():
        v = e.answers.get(item_id)
        if isinstance(v, int | float) and not isinstance(v, bool):
            out.append((sch.study_day(start, d), float(v)))
    return out


def _labels(spans: list[sch.PhaseSpan], first: int, last: int, label_of) -> str:
    names = [label_of(s) for s in spans if s.first_day <= last and s.last_day >= first]
    return " / ".join(dict.fromkeys(n for n in names if n))


def weekly_means(protocol: Protocol, start: date, entries: list[Entry], upto: date, label_of) -> list[Week]:
    """Study weeks up to `upto`, each with the mean of every numeric item over its filed days."""
    spans = sch.phase_spans(protocol, start)
    days = latest(entries)
    last_day = min(sch.study_day(start, upto), protocol.days_total)
    out = []
    for w, first in enumerate(range(1, last_day + 1, 7), 1):
        last = min(first + 6, protocol.days_total)
        ds = [sch.diary_date(start, n) for n in range(first, last + 1)]
        got = [days[d] for d in ds if d in days]
        means = {}
        for item in numeric_items(protocol):
            vals = [e.answers[item.id] for e in got
                    if isinstance(e.answers.get(item.id), int | float) and not isinstance(e.answers.get(item.id), bool)]
            means[item.id] = fmean(vals) if vals else None  # type: ignore[arg-type]  # vals holds only the numbers filtered above (Value is wider)
        out.append(Week(w, first, last, _labels(spans, first, last, label_of), len(got), means))
    return out


def calendar(protocol: Protocol, start: date, entries: list[Entry], now: datetime, label_of) -> list[CalendarWeek]:
    """Every study week as marks per day, from the same day rules as the home screen."""
    spans = sch.phase_spans(protocol, start)
    filed = filed_timing(entries)
    out = []
    for w, first in enumerate(range(1, protocol.days_total + 1, 7), 1):
        last = min(first + 6, protocol.days_total)
        marks = days.day_marks(protocol, now, filed, sch.diary_date(start, first), sch.diary_date(start, last))
        out.append(CalendarWeek(w, sch.diary_date(start, first), [days.MARK_SYMBOL[m] for m in marks],
                                _labels(spans, first, last, label_of)))
    return out


def bands(protocol: Protocol, start: date, label_of) -> list[tuple[int, int, str]]:
    """(first day, last day, label) of each period, for the chart."""
    return [(s.first_day, s.last_day, label_of(s)) for s in sch.phase_spans(protocol, start)]

