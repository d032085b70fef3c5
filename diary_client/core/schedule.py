"""Diary-day rules as pure functions: study day, phase, each day's window and state, compliance.

Time always comes in as an argument (an aware local datetime); nothing here reads a clock.
A diary day is a calendar date, so a day with a DST change is still one day.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

import msgspec

from diary_client.core.protocol import Phase, Protocol, Schedule

DayState = Literal["upcoming", "open", "late", "done", "missed"]
TodayState = Literal["upcoming", "open", "late", "done", "missed", "ended"]


class PhaseSpan(msgspec.Struct, frozen=True):
    phase: Phase
    first_day: int  # study days, 1-based, inclusive
    last_day: int
    start: date
    end: date  # inclusive

    def __contains__(self, d: date) -> bool:
        return self.start <= d <= self.end

    def dates(self) -> list[date]:
        first = self.start.toordinal()  # ordinals: several times faster than adding timedeltas
        return list(map(date.fromordinal, range(first, first + self.phase.days)))


def phase_spans(protocol: Protocol, start: date) -> list[PhaseSpan]:
    spans, day = [], 1
    for ph in protocol.phases:
        first, last = day, day + ph.days - 1
        spans.append(PhaseSpan(ph, first, last, diary_date(start, first), diary_date(start, last)))
        day = last + 1
    return spans


def study_day(start: date, d: date) -> int:
    return (d - start).days + 1


def diary_date(start: date, day: int) -> date:
    return start + timedelta(days=day - 1)


def end_date(protocol: Protocol, start: date) -> date:
    return diary_date(start, protocol.days_total)


def span_on(protocol: Protocol, start: date, d: date) -> PhaseSpan | None:
    """The phase a date falls in, or None before the start or after the end."""
    return next((s for s in phase_spans(protocol, start) if d in s), None)


class Window(msgspec.Struct, frozen=True):
    opens: datetime
    closes: datetime
    grace_ends: datetime


def window(schedule: Schedule, d: date, tz: tzinfo | None) -> Window:
    """When the report of diary date `d` may be filed on time, and until when late (`tz`: an aware
    clock's zone, usually `now.tzinfo`)."""
    assert tz is not None, "diary windows are local times of an aware clock"
    opens = datetime.combine(d, schedule.opens, tzinfo=tz)
    close_day = d if schedule.closes > schedule.opens else d + timedelta(days=1)
    closes = datetime.combine(close_day, schedule.closes, tzinfo=tz)
    # Grace is elapsed time: add it in UTC so a DST change does not stretch or shrink it.
    grace_ends = (closes.astimezone(UTC) + timedelta(hours=schedule.grace_hours)).astimezone(tz)
    return Window(opens, closes, grace_ends)


def window_state(win: Window, now: datetime) -> Literal["upcoming", "open", "late", "missed"]:
    if now < win.opens:
        return "upcoming"
    if now <= win.closes:
        return "open"
    if now <= win.grace_ends:
        return "late"
    return "missed"


def day_state(win: Window, now: datetime, filed: bool) -> DayState:
    return "done" if filed else window_state(win, now)


def timing_now(win: Window, now: datetime) -> Literal["on_time", "late"] | None:
    """How an entry filed now for this window is marked, or None if it may not be filed."""
    return {"open": "on_time", "late": "late"}.get(window_state(win, now))  # type: ignore[return-value]  # the dict's values are exactly the Literal's


class Today(msgspec.Struct, frozen=True):
    """The diary day that matters now, and its state as the home screen shows it."""

    diary_date: date
    study_day: int
    state: TodayState
    window: Window
    span: PhaseSpan | None


def fileable_date(protocol: Protocol, start: date, now: datetime, closed_upto: date | None = None) -> date | None:
    """The study date whose window (preferred) or grace period is running now, if any.
    `closed_upto`: the last date missed for good whatever the zone of `now` says (its grace is
    over in the participant's registered zone): it and the days before it are never fileable."""
    tz = now.tzinfo
    assert tz is not None, "now must be an aware datetime"
    late = None
    for d in (now.date() - timedelta(days=k) for k in range(0, 4)):
        if span_on(protocol, start, d) is None or (closed_upto is not None and d <= closed_upto):
            continue
        st = window_state(window(protocol.schedule, d, tz), now)
        if st == "open":
            return d
        if st == "late" and late is None:
            late = d
    return late


def today(protocol: Protocol, start: date, now: datetime, filed: Mapping[date, object],
          closed_upto: date | None = None) -> Today:
    """`closed_upto` as for `fileable_date`: such a day shows as missed whatever its local window says."""
    tz = now.tzinfo
    assert tz is not None, "now must be an aware datetime"
    last = end_date(protocol, start)
    d = fileable_date(protocol, start, now, closed_upto)
    if d is not None and d in filed:
        d = None  # that one is done: look at the calendar date instead
    if d is None:
        d = min(max(now.date(), start), last)
    win = window(protocol.schedule, d, tz)
    state: TodayState = day_state(win, now, d in filed)
    if closed_upto is not None and d <= closed_upto and d not in filed:
        state = "missed"
    if d == last and state in ("done", "missed") and now > win.grace_ends:
        state = "ended"
    return Today(d, study_day(start, d), state, win, span_on(protocol, start, d))


class Tally(msgspec.Struct, frozen=True):
    expected: int  # days whose window has closed, or that were filed already
    done: int  # days filled by a report filed on a device (on time, late, or doubted but received in time)
    late: int  # of those, filed late
    missed: int  # days past their grace period that no report filled (imported and unproven ones included)
    compliance: float | None  # done / expected; None while nothing is expected
    imported: int = 0  # days with paper or legacy data (`diary import`): counted apart, never done
    flagged: int = 0  # days with a device report the clock guard (or a zone change) doubts
    on_time: int = 0  # of the days done, filed on the device in the window, with no doubt at all

    @property
    def still_open(self) -> int:
        """Days whose window has closed with no report yet, but whose grace period runs: not missed."""
        return self.expected - self.done - self.missed

    @property
    def settled_compliance(self) -> float | None:
        """done / (done + missed): the participant's figure, which never counts a day that can still
        be filed against her (the morning after, yesterday is neither done nor missed)."""
        settled = self.done + self.missed
        return self.done / settled if settled else None


def tally(
    protocol: Protocol,
    start: date,
    now: datetime,
    filed: Mapping[date, str],
    phase_id: str | None = None,
    flagged: Collection[date] = frozenset(),
    unproven: Collection[date] = frozenset(),
) -> Tally:
    """Count days for the whole study or one phase. `filed` maps date -> timing of its report;
    `flagged`: the dates with a report the clock guard doubts; `unproven`: of those, the ones
    whose report does not fill the day (`unproven_dates`)."""
    per_phase = tally_by_phase(protocol, start, now, filed, flagged, unproven)
    if phase_id is not None:
        return per_phase.get(phase_id, _tally(0, 0, 0, 0))
    return combined(per_phase.values())


def combined(tallies: Iterable[Tally]) -> Tally:
    """The tally of several phases together (e.g. the whole study from tally_by_phase)."""
    totals = [sum(col) for col in zip(*((t.expected, t.done, t.late, t.missed, t.imported, t.flagged, t.on_time)
                                        for t in tallies))]
    return _tally(*(totals or (0, 0, 0, 0)))


def tally_by_phase(protocol: Protocol, start: date, now: datetime, filed: Mapping[date, str],
                   flagged: Collection[date] = frozenset(),
                   unproven: Collection[date] = frozenset()) -> dict[str, Tally]:
    """Every phase's tally (phase id -> Tally) from one walk over the study's dates."""
    cut = cutoffs(protocol.schedule, now)
    return {span.phase.id: phase_tally(span, cut, filed_days(span, cut, filed, flagged, unproven))
            for span in phase_spans(protocol, start)}


class Cutoffs(msgspec.Struct, frozen=True):
    """The last diary dates whose window has closed, and whose grace period is over, by `now`
    (windows close later each day, so every earlier date is closed, or past its grace, too)."""

    closed: date
    past_grace: date


def cutoffs(schedule: Schedule, now: datetime) -> Cutoffs:
    tz = now.tzinfo
    assert tz is not None, "now must be an aware datetime"

    def last(past) -> date:
        d = now.date()  # a window closes at the earliest on its own date
        while not past(window(schedule, d, tz)):
            d -= timedelta(days=1)
        return d

    return Cutoffs(last(lambda w: now > w.closes), last(lambda w: now > w.grace_ends))


class FiledDays(msgspec.Struct, frozen=True):
    """What a phase's tally needs of its days with a report: how many were filed each way (the
    timing of the day's first report), how many of those are doubted, how many of those the
    report does not fill (unproven), and how many days a report fills on or before the cutoffs
    (imported and unproven days are not filled). The device counts them from its entries, the
    hub in SQL."""

    by_timing: Mapping[str, int]  # timing -> days
    doubted: Mapping[str, int]  # timing -> of those days, the ones with a report the clock guard doubts
    closed: int  # days filled by a report, on or before Cutoffs.closed
    past_grace: int  # days filled by a report, on or before Cutoffs.past_grace
    unproven: Mapping[str, int] = msgspec.field(default_factory=dict)  # timing -> doubted days the report does not fill


def fills(timing: str, unproven: bool) -> bool:
    """Does a day's report fill the day? Not an import (paper or legacy data), and not a report
    whose time the clock guard doubts and no hub received before the day's grace period ended."""
    return timing != "import" and not unproven


def filed_days(span: PhaseSpan, cut: Cutoffs, filed: Mapping[date, str], flagged: Collection[date],
               unproven: Collection[date] = frozenset()) -> FiledDays:
    by_timing: dict[str, int] = {}
    doubted: dict[str, int] = {}
    unfilled: dict[str, int] = {}
    closed = past_grace = 0
    for d in span.dates():
        timing = filed.get(d)
        if timing is None:
            continue
        by_timing[timing] = by_timing.get(timing, 0) + 1
        if d in flagged and timing != "import":
            doubted[timing] = doubted.get(timing, 0) + 1
            if d in unproven:
                unfilled[timing] = unfilled.get(timing, 0) + 1
        if fills(timing, d in unproven and d in flagged):
            closed += d <= cut.closed
            past_grace += d <= cut.past_grace
    return FiledDays(by_timing, doubted, closed, past_grace, unfilled)


def unproven_dates(schedule: Schedule, tz: tzinfo, doubted: Mapping[date, datetime | None]) -> set[date]:
    """Of the dates whose report the clock guard doubts (date -> when a hub received it, None: not
    yet), those it does not fill: no hub received the report before the day's grace period ended
    in the participant's zone `tz`. The device's own clock cannot vouch for such a report, so its
    day stays missed once its grace is over (on the device and on the hub)."""
    return {d for d, received in doubted.items()
            if received is None or received > window(schedule, d, tz).grace_ends}


def _days_upto(span: PhaseSpan, last: date) -> int:
    return max(0, min((last - span.start).days + 1, span.phase.days))


def phase_tally(span: PhaseSpan, cut: Cutoffs, filed: FiledDays) -> Tally:
    """A phase's tally: every day a report fills is expected and done; any other day is expected
    once its window has closed and missed once its grace period is over. Imported days are
    counted apart and never done (the day stays missed); a doubted report is never on time, and
    one no hub received in time (`unproven_dates`) does not fill its day either."""
    imported = filed.by_timing.get("import", 0)
    unfilled = sum(filed.unproven.values())
    done = sum(filed.by_timing.values()) - imported - unfilled
    doubted = sum(n for timing, n in filed.doubted.items() if timing != "import")
    on_time = filed.by_timing.get("on_time", 0) - filed.doubted.get("on_time", 0)
    late = filed.by_timing.get("late", 0) - filed.unproven.get("late", 0)
    expected = done + _days_upto(span, cut.closed) - filed.closed
    missed = _days_upto(span, cut.past_grace) - filed.past_grace
    return _tally(expected, done, late, missed, imported, doubted, on_time)


DayStatus = Literal["on_time", "late", "import", "flagged", "missed", "overdue", "open", "upcoming"]


def day_status(schedule: Schedule, d: date, now: datetime, cut: Cutoffs, filed: Mapping[date, str],
               flagged: Collection[date] = frozenset()) -> DayStatus:
    """One study day as `phase_tally` counts it. Filed: `on_time`, `late`, `import`, or `flagged`
    (a device report the clock guard doubts, whatever its timing). Not filed: `missed` (grace
    over), `overdue` (window closed, grace running), `open` (its window runs) or `upcoming`."""
    timing = filed.get(d)
    if timing is not None:
        return "flagged" if timing != "import" and d in flagged else timing  # type: ignore[return-value]
    if d <= cut.past_grace:
        return "missed"
    if d <= cut.closed:
        return "overdue"
    return "open" if now >= window(schedule, d, now.tzinfo).opens else "upcoming"


def day_statuses(protocol: Protocol, start: date, now: datetime, filed: Mapping[date, str],
                 flagged: Collection[date] = frozenset()) -> list[DayStatus]:
    """`day_status` of every study day, day 1 first (the coordinator's compliance heat map)."""
    cut = cutoffs(protocol.schedule, now)
    return [day_status(protocol.schedule, d, now, cut, filed, flagged)
            for span in phase_spans(protocol, start) for d in span.dates()]


def _tally(expected: int, done: int, late: int, missed: int, imported: int = 0, flagged: int = 0,
           on_time: int = 0) -> Tally:
    return Tally(expected, done, late, missed, done / expected if expected else None, imported, flagged, on_time)


def study_over(protocol: Protocol, start: date, now: datetime) -> bool:
    tz = now.tzinfo
    assert tz is not None, "now must be an aware datetime"
    return now > window(protocol.schedule, end_date(protocol, start), tz).grace_ends


def unblinded(protocol: Protocol, start: date | None, now: datetime, released: bool) -> bool:
    """May the participant see true phase names? An open study; released by the coordinator (the
    hub); or the protocol unblinds at the end and the study is over. Device and hub both ask this."""
    if released or protocol.blinding == "open":
        return True
    return protocol.unblind_after_end and start is not None and study_over(protocol, start, now)
