"""A participant's diary: enrolment, filing rules, status and blinding over one Store.

The command line and the app both file reports through `Diary.file`, so the rules live here once.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING

import msgspec

from diary_client.core import answers as ans
from diary_client.core import bounds, clock, days
from diary_client.core import schedule as sch
from diary_client.core.entry import Entry, Source, Timing, Value, latest, new_id
from diary_client.core.ids import participant_id_problem
from diary_client.core.protocol import Item, Protocol, parse_protocol, stored_protocol
from diary_client.device.event_store import EventStore
from diary_client.device.settings import DeviceSettings
from diary_client.device.store import Store

if TYPE_CHECKING:  # the event rules load when an event is filed: the path to home needs none of them
    from diary_client.core import event as ev


class DiaryError(Exception):
    """A rule of the diary says no (no back-filling, not enrolled, ...); the message says why."""


class Status(msgspec.Struct, frozen=True):
    participant_id: str
    study_id: str
    study_day: int
    days_total: int
    diary_date: str
    start: str  # day 1
    phase_label: str | None
    today: str
    opens: str
    closes: str
    grace_ends: str
    done: int
    late: int
    missed: int
    expected: int
    compliance: float | None  # of the days done or missed: a day still fileable counts as neither
    still_open: int  # days whose window closed without a report, still accepted (late)
    imported: int  # days with paper or legacy data (`diary import`), counted apart: never on time
    flagged: int  # days with a report the clock guard doubts (clock_override, clock_jump, ...)
    on_time: int  # days filed in their window, with no doubt about the clock
    pending_upload: int
    quarantined: int
    blinded: bool
    last_upload: str | None
    last_error: str | None
    events_pending: int = 0  # events (adverse events, medications, dose changes) not yet on the hub
    events_quarantined: int = 0

    def as_dict(self) -> dict:
        return msgspec.structs.asdict(self)


class AlreadyFiled(DiaryError):
    """The day that may be filed now has its report saved already (a change is a correction)."""

    def __init__(self, d: date, day: int) -> None:
        super().__init__(f"the report for {d} (day {day}) is already saved; to change it, file a correction")
        self.diary_date, self.study_day = d, day


class NothingToCorrect(DiaryError):
    """A correction was asked for a day whose report is not saved yet."""

    def __init__(self, d: date, day: int) -> None:
        super().__init__(f"there is no report for {d} to correct (day {day} is not saved yet)")
        self.diary_date, self.study_day = d, day


class NothingChanged(DiaryError):
    """A correction with the same answers as the report it would replace."""


class Report(msgspec.Struct, frozen=True):
    """A report begun: which diary day, which items, the answers it starts from.

    `corrects` is the saved entry a correction replaces (its answers prefill `answers`);
    `today` is the calendar date it was begun on, so the day can be named when it is another."""

    diary_date: date
    study_day: int
    phase_id: str
    items: tuple[Item, ...]
    answers: dict[str, Value]
    today: date
    corrects: Entry | None = None
    position: int = 0  # the item shown first (a resumed draft goes on where it was)
    last_of_phase: bool = False  # the phase's last day: it may ask more (`Protocol.split_items`)
    resumed: bool = False  # begun from a kept draft: its answers are the participant's own work

    @property
    def is_today(self) -> bool:
        return self.diary_date == self.today

    def prompt(self, item: Item) -> str:
        return days.render_prompt(item.prompt, self.diary_date, self.today)

    def title(self) -> str:
        """The report's name for headers: "Day 15 · Mon 16 Mar — yesterday's report"."""
        head = f"Day {self.study_day} · {days.short_date(self.diary_date)}"
        rel = days.relative(self.diary_date, self.today)
        if not self.is_today:
            head += f" — {rel.lower()}'s report" if rel else " — not today's report"
        return ("Correcting " + head[0].lower() + head[1:]) if self.corrects else head

    def changes(self, answers: dict[str, Value]) -> dict[str, tuple[Value, Value]]:
        """Item id -> (saved, new) for the answers a correction changes (empty for a new report)."""
        if self.corrects is None:
            return {}
        old = self.corrects.answers
        return {i.id: (old.get(i.id), answers.get(i.id)) for i in self.items if old.get(i.id) != answers.get(i.id)}


def week_of(day: int, days_total: int) -> str:
    """ "Week 7 of 22": where a concealed schedule stands, without naming a period."""
    return f"Week {(day - 1) // 7 + 1} of {-(-days_total // 7)}"


class Diary:
    def __init__(self, store: Store):
        self.store = store
        if "participant_id" not in store.settings():
            raise DiaryError("this device is not enrolled yet: run `diary enroll --participant ID` first")
        self.reload()

    def reload(self) -> None:
        """Read the settings again (after a sync: last upload, unblinding, a protocol update)."""
        rows = self.store.settings()
        try:
            s = DeviceSettings.from_rows(rows)
        except (KeyError, TypeError, ValueError) as e:
            key = e.args[0] if isinstance(e, KeyError) else "start"
            raise DiaryError(f"{self.store.path}: the setting {key!r} is missing or damaged ({rows.get(key)!r}); "
                             "`diary verify` shows what changed, and backups/ holds daily copies") from None
        self.settings = s
        self.participant_id: str = s.participant_id
        self.device_id: str = s.device_id
        self.start = s.start
        if getattr(self, "_protocol_toml", None) != s.protocol_toml:
            self.protocol: Protocol = stored_protocol(s.protocol_toml)  # checked when it was stored
            self._protocol_toml = s.protocol_toml

    @staticmethod
    def enroll(store: Store, participant_id: str, protocol_toml: str, start: date, **extra) -> Diary:
        if "participant_id" in store.settings():
            raise DiaryError(f"this device is already enrolled ({store.path}); use another --data-dir")
        problem = participant_id_problem(participant_id)
        if problem:
            raise DiaryError(f"{participant_id!r}: {problem}")
        problem = bounds.start_problem(start, clock.now().date())
        if problem:
            raise DiaryError(f"start: {problem}")
        protocol = parse_protocol(protocol_toml)
        if protocol.allocation.randomized and not extra.get("hub_url"):
            raise DiaryError(f"study {protocol.id} is a randomized design: each participant's sequence is allocated on "
                             "the coordinator's hub, so enrol with --hub URL --code CODE")
        DeviceSettings.check_keys(extra)
        store.set_settings(
            participant_id=participant_id,
            study_id=protocol.id,
            device_id=store.settings().get("device_id") or new_id(),  # kept if made before enrolment (device_id_of)
            start=start.isoformat(),
            protocol_toml=protocol_toml,
            # timezone: the zone the diary windows are local times of (a hub importing the file takes it)
            **{k: v for k, v in ({"timezone": getattr(clock.local_tz(), "key", None)} | extra).items()
               if v is not None},
        )
        store.start_clock()
        return Diary(store)

    @staticmethod
    def device_id_of(store: Store) -> str:
        """This device's id, made and kept before its first enrolment call (a retried enrolment
        carries the same id and the hub recognises it); enrolment keeps it."""
        device_id = store.settings().get("device_id")
        if not device_id:
            device_id = new_id()
            store.set_settings(device_id=device_id)
        return device_id

    @staticmethod
    def start_problem(protocol: Protocol, start: date, now: datetime) -> str | None:
        """Why a start date needs confirming (more than 3 days back), saying how many days would
        count as missed at once; None when it needs none. The app asks, the command line wants --yes."""
        back = (now.date() - start).days
        if back <= 3:
            return None
        missed = sch.tally(protocol, start, now, {}).missed
        return (f"day 1 on {start} is {back} days ago: {days.plural(missed, 'day')} "
                "will count as missed from the first screen")

    # -- settings: Diary is their only writer --------------------------------------------------

    def update_settings(self, **changes) -> None:
        """Write device settings (field names of DeviceSettings only) and read them back."""
        DeviceSettings.check_keys(changes)
        self.store.set_settings(**changes)
        self.reload()

    def set_theme(self, theme: str) -> None:
        self.update_settings(theme=theme)

    def link_hub(self, hub_url: str, hub_device: str) -> None:
        """This enrolled device now syncs with a hub (the token is kept apart, in its 0600 file)."""
        self.update_settings(hub_url=hub_url, hub_device=hub_device)

    # -- reading -------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        return self.store.entries()

    def unblinded(self, now: datetime) -> bool:
        return sch.unblinded(self.protocol, self.start, now, self.settings.unblinded)

    def conceals(self, now: datetime) -> bool:
        """Are the period names and boundaries hidden now? (A blinded randomized design whose period
        lengths would tell the order: the hub's copy says `conceal_periods`; docs/designs.md.)"""
        return self.protocol.conceal_periods and not self.unblinded(now)

    def phase_label(self, span: sch.PhaseSpan | None, now: datetime, day: int | None = None) -> str | None:
        """The period's name as the participant may see it; while periods are concealed, the study
        week of `day` ("Week 7 of 22"), or nothing when no day is given."""
        if span is None:
            return None
        if self.conceals(now):
            return None if day is None else week_of(day, self.protocol.days_total)
        return span.phase.label if self.unblinded(now) else span.phase.participant_label

    def filed(self) -> dict[date, str]:
        """Per diary date, how its first report was filed (read narrowly: no entries built)."""
        return self.store.filed_timing()

    # -- the registered zone -------------------------------------------------------------------

    def zone(self) -> tzinfo | None:
        """The participant's registered zone (kept at enrolment; the hub's zone for them too):
        compliance is counted in it, and no other zone reopens a day whose grace is over in it.
        None on a device enrolled before the zone was kept."""
        return clock.zone(self.settings.timezone)

    def registered(self, now: datetime) -> datetime:
        """`now` in the registered zone (as it is, without one)."""
        tz = self.zone()
        return now if tz is None else now.astimezone(tz)

    def closed_upto(self, now: datetime) -> date | None:
        """The last diary date missed for good: its grace period is over in the registered zone,
        whatever the device's zone says now (a zone set back a day reopens nothing)."""
        return None if self.zone() is None else sch.cutoffs(self.protocol.schedule, self.registered(now)).past_grace

    def zone_seen(self, now: datetime) -> clock.ZoneSeen | None:
        """The registered zone and the one `now` is in, for the store's zone record and flag."""
        if self.settings.timezone is None:
            return None
        return clock.ZoneSeen(self.settings.timezone, clock.zone_name(now.tzinfo))

    def unproven(self) -> set[date]:
        """Days whose report the clock guard doubts and no hub received in time (they fill nothing)."""
        tz = self.zone() or clock.local_tz()
        return sch.unproven_dates(self.protocol.schedule, tz, self.store.clock_doubted())

    def today(self, now: datetime, filed: dict[date, str] | None = None) -> sch.Today:
        """Today's state; `filed` (from `filed()`) spares a second read when the caller holds it."""
        return sch.today(self.protocol, self.start, now, self.filed() if filed is None else filed,
                         self.closed_upto(now))

    def status(self, now: datetime, filed: dict[date, str] | None = None) -> Status:
        filed = self.filed() if filed is None else filed
        t = self.today(now, filed)
        tally = sch.tally(self.protocol, self.start, self.registered(now), filed,
                          flagged=self.store.flagged_dates(), unproven=self.unproven())
        return Status(
            participant_id=self.participant_id,
            study_id=self.protocol.id,
            study_day=t.study_day,
            days_total=self.protocol.days_total,
            diary_date=t.diary_date.isoformat(),
            start=self.start.isoformat(),
            phase_label=self.phase_label(t.span, now, t.study_day),
            today=t.state,
            opens=t.window.opens.isoformat(),
            closes=t.window.closes.isoformat(),
            grace_ends=t.window.grace_ends.isoformat(),
            done=tally.done,
            late=tally.late,
            missed=tally.missed,
            expected=tally.expected,
            compliance=tally.settled_compliance,
            still_open=tally.still_open,
            imported=tally.imported,
            flagged=tally.flagged,
            on_time=tally.on_time,
            pending_upload=self.store.pending_count(),
            quarantined=len(self.store.quarantined()),
            blinded=not self.unblinded(now),
            last_upload=self.settings.last_upload,
            last_error=self.settings.last_error,
            events_pending=self.events.pending_count(),
            events_quarantined=len(self.events.quarantined()),
        )

    def report_for(self, d: date, entries: list[Entry] | None = None) -> Entry | None:
        if entries is None:
            return self.store.report_for(d)
        return latest(entries).get(d)

    # -- filing --------------------------------------------------------------------------------

    def fileable(self, now: datetime) -> date:
        """The diary date that may be filed now, or DiaryError saying why none may."""
        d = sch.fileable_date(self.protocol, self.start, now, self.closed_upto(now))
        if d is None:
            t = self.today(now)
            if t.state == "ended":
                raise DiaryError("the study is over: no more reports can be filed")
            if t.state == "upcoming":
                when = t.window.opens.strftime("%H:%M") if t.diary_date == now.date() else t.window.opens.strftime("%Y-%m-%d %H:%M")
                raise DiaryError(f"day {t.study_day}'s report opens at {when}")
            upto = self.closed_upto(now)
            if upto is not None and t.diary_date <= upto:
                raise DiaryError(f"no report can be filed now: day {t.study_day} ({t.diary_date}) is missed, its grace "
                                 f"period over in your study's time zone ({self.settings.timezone})")
            raise DiaryError(f"no report can be filed now: day {t.study_day} ({t.diary_date}) is {t.state}")
        return d

    def prepare(
        self,
        answers: dict[str, Value],
        now: datetime,
        source: Source,
        reason: str | None = None,
        d: date | None = None,
    ) -> Entry:
        """Check a report for day `d` (default: the fileable one) against every rule; build its Entry.

        With `reason`, it is a correction of that day's report. Raises DiaryError or AnswerError.
        """
        d = d or self.fileable(now)
        win = sch.window(self.protocol.schedule, d, now.tzinfo)
        timing = sch.timing_now(win, now)
        upto = self.closed_upto(now)
        if upto is not None and d <= upto:
            raise DiaryError(f"the report for {d} can no longer be filed: its window and grace period have passed "
                             f"in your study's time zone ({self.settings.timezone})")
        if timing is None:
            state = sch.window_state(win, now)
            raise DiaryError(
                f"the report for {d} can no longer be filed: its window and grace period have passed"
                if state == "missed"
                else f"the report for {d} opens at {win.opens:%Y-%m-%d %H:%M}"
            )
        span = sch.span_on(self.protocol, self.start, d)
        if span is None:
            raise DiaryError(f"{d} is not a day of the study")
        ans.check(self.protocol, span.phase.id, answers, d == span.end)
        old = self._saved(d, correcting=reason is not None)
        if reason is not None and not reason.strip():
            raise DiaryError("a correction needs a reason")
        if reason is not None and len(reason.strip()) > ans.MAX_TEXT:  # Entry.reason's limit too
            raise DiaryError(f"the reason is {len(reason.strip())} characters long: at most {ans.MAX_TEXT}")
        return self.entry(d, answers, now, timing, source,
                          supersedes=old.id if reason is not None and old else None,
                          reason=reason.strip() if reason else None)

    def entry(self, d: date, answers: dict[str, Value], submitted_at: datetime, timing: Timing, source: Source,
              supersedes: str | None = None, reason: str | None = None) -> Entry:
        """A new Entry of this enrolment for diary date `d` (the store gives it its seq); no rules checked."""
        return Entry(
            id=new_id(), participant_id=self.participant_id, study_id=self.protocol.id,
            protocol_version=self.protocol.version, diary_date=d, study_day=sch.study_day(self.start, d),
            answers=answers, submitted_at=submitted_at, timing=timing, source=source,
            device_id=self.device_id, seq=0, supersedes=supersedes, reason=reason,
        )

    def _saved(self, d: date, correcting: bool) -> Entry | None:
        """The saved report of day `d` a correction replaces; the one rule for "already filed" and
        "nothing to correct" (checked when a report begins and again when it is saved)."""
        old = self.report_for(d)
        if correcting and old is None:
            raise NothingToCorrect(d, sch.study_day(self.start, d))
        if not correcting and old is not None:
            raise AlreadyFiled(d, sch.study_day(self.start, d))
        return old

    def begin_report(self, now: datetime, correcting: bool = False) -> Report:
        """The report that may be filed now: its day, its items, the answers it starts from.

        Raises DiaryError when no day may be filed now, AlreadyFiled for a new report of a day
        already saved, NothingToCorrect for a correction of a day not saved yet."""
        d = self.fileable(now)
        old = self._saved(d, correcting)
        day = sch.study_day(self.start, d)
        span = sch.span_on(self.protocol, self.start, d)
        assert span is not None  # fileable() only gives days of the study
        last = d == span.end
        items = tuple(self.protocol.items_on(span.phase.id, last))
        if old is not None:
            answers = {k: v for k, v in old.answers.items() if k in {i.id for i in items}}
        else:  # a multi item's "none chosen" is a real answer: it starts empty rather than absent
            answers = {i.id: [] for i in items if i.kind == "multi"}
        return Report(d, day, span.phase.id, items, answers, now.date(), old, last_of_phase=last)

    def save_report(self, report: Report, answers: dict[str, Value], now: datetime, source: Source = "app",
                    reason: str | None = None) -> Entry:
        """Check and durably save a begun report (a correction needs `reason` and a change);
        its draft goes once it is saved."""
        if report.corrects is not None:
            if reason is None or not reason.strip():
                raise DiaryError("a correction needs a reason")
            if not report.changes(answers):
                raise NothingChanged(f"nothing changed: the answers are those of day {report.study_day}'s "
                                     "saved report, so no correction was saved")
        elif reason is not None:
            raise DiaryError(f"day {report.study_day}'s report is not saved yet: there is nothing to correct")
        return self.store.save(self.prepare(answers, now, source, reason, report.diary_date), drop_draft=True,
                               zone=self.zone_seen(now))

    # -- the draft of the report in progress ---------------------------------------------------

    def keep_draft(self, report: Report, answers: dict[str, Value], position: int) -> None:
        """Keep the answers so far (after every answer): a crash or a closed terminal loses nothing."""
        self.store.put_draft(report.diary_date, report.corrects.id if report.corrects else None,
                             answers, position)

    def drop_draft(self) -> None:
        self.store.drop_draft()

    def kept_answers(self) -> int | None:
        """How many answers the kept draft holds (None: there is no draft)."""
        kept = self.store.draft()
        return None if kept is None else sum(v not in (None, []) for v in kept["answers"].values())

    def resumable(self, now: datetime) -> Report | None:
        """The kept draft as a report to go on with, if its day may still be filed the same way;
        a draft that can no longer be used is dropped."""
        kept = self.store.draft()
        if kept is None:
            return None
        try:
            report = self.begin_report(now, correcting=kept["corrects"] is not None)
        except DiaryError:
            report = None
        usable = (report is not None and report.diary_date == kept["diary_date"]
                  and (report.corrects.id if report.corrects else None) == kept["corrects"])
        if not usable or not isinstance(kept["answers"], dict):
            self.store.drop_draft()
            return None
        assert report is not None
        ids = {i.id for i in report.items}
        answers = {k: v for k, v in kept["answers"].items() if k in ids}
        position = min(max(0, int(kept["position"])), len(report.items) - 1)
        return msgspec.structs.replace(report, answers=answers, position=position, resumed=True)

    # -- the day marks -------------------------------------------------------------------------

    def marks(self, now: datetime, first: date, last: date, filed: dict[date, str] | None = None) -> list[days.Mark]:
        """Each day from `first` to `last` as home and progress show it (`days.day_mark`)."""
        return days.day_marks(self.protocol, now, self.filed() if filed is None else filed, first, last)

    def import_rows(self, rows: list[tuple[int, date, dict[str, str]]], now: datetime) -> list[Entry]:
        """Legacy or paper rows (line number, date, ITEM -> text): all saved in one transaction, or none.

        Imported days are counted apart and never done: a missed day stays missed. On a device that
        syncs with a hub, the study's days come in this way only if the protocol allows it
        (`[schedule] device_import = true`); otherwise through the coordinator (`hub import`)."""
        if self.settings.hub_url and not self.protocol.schedule.device_import and rows:
            raise DiaryError("this device syncs with the study's hub, and the study's protocol does not let a "
                             "device import days: give paper or legacy records to your coordinator")
        have = set(latest(self.entries()))
        seen: dict[date, int] = {}
        out = []
        for line, d, texts in rows:
            where = f"line {line}"
            span = sch.span_on(self.protocol, self.start, d)
            if span is None:
                raise DiaryError(f"{where}: {d} is not a day of the study ({self.start} to {sch.end_date(self.protocol, self.start)})")
            state = sch.window_state(sch.window(self.protocol.schedule, d, now.tzinfo), now)
            if state != "missed":
                raise DiaryError(f"{where}: {d} is not over yet ({state}): import is for past days; "
                                 "file this one with `diary record` or the app")
            if d in have:
                raise DiaryError(f"{where}: {d} already has a report")
            if d in seen:
                raise DiaryError(f"{where}: {d} appears twice (also line {seen[d]})")
            seen[d] = line
            try:
                answers = ans.parse_answers(self.protocol, span.phase.id, texts, d == span.end)
            except ans.AnswerError as e:
                raise DiaryError(f"{where}: {e}") from None
            out.append(self.entry(d, answers, now, "import", "import"))
        return self.store.save_all(out)


    # -- events: adverse events, medications, dose changes (diary_client/core/event.py) ----------

    @property
    def events(self) -> EventStore:
        return EventStore(self.store)

    def file_event(self, kind: ev.Kind, details: dict, now: datetime, supersedes: str | None = None,
                   reason: str | None = None) -> ev.Event:
        """Check and durably save an event, at any time of day from day 1 to the end of the study's
        follow-up (`event.FOLLOW_UP`). A correction names the event it `supersedes` with a `reason`;
        the details it does not give are the old event's. Raises DiaryError saying what is wrong."""
        from diary_client.core import event as ev

        end = ev.last_day(self.protocol, self.start)
        if now.date() < self.start:
            raise DiaryError(f"the study begins on {self.start}: events are reported from day 1 on")
        if now.date() > end:
            raise DiaryError(f"the study's follow-up ended on {end}: please tell the study team directly")
        old = None
        if supersedes is not None:
            old = self.events.get(supersedes)
            if old is None:
                raise DiaryError(f"there is no event {supersedes} on this device to correct (`diary events` lists them)")
            if not (reason and reason.strip()):
                raise DiaryError("a correction needs a reason")
            if old.kind != kind:
                raise DiaryError(f"event {old.id} is {ev.A_KIND[old.kind]}, not {ev.A_KIND[kind]}: correct it as one")
            details = {k: v for k, v in old.wire().items() if k not in COMMON} | details
        elif reason is not None:
            raise DiaryError("a reason is for a correction: name the event it corrects")
        doc = {k: v.strip() if isinstance(v, str) else v for k, v in details.items()} | {
            "id": new_id(), "kind": kind, "participant_id": self.participant_id, "study_id": self.protocol.id,
            "submitted_at": now, "device_id": self.device_id, "seq": 0, "supersedes": supersedes,
            "reason": reason.strip() if reason else None}
        event = _parse_event(doc)
        problem = ev.event_problem(event, self.protocol, self.start, now.date())
        if old is not None:
            problem = problem or ev.correction_problem(event, old, self.events.corrected_by(old.id))
            if problem is None and _details(event) == _details(old):
                raise NothingChanged("nothing changed: the correction holds what the event said already, so none was saved")
        if problem:
            raise DiaryError(problem)
        return self.events.save(event)


COMMON = ("id", "participant_id", "study_id", "submitted_at", "device_id", "seq", "supersedes", "reason")
"""The fields every event holds; the rest are its kind's details."""


def _details(e: ev.Event) -> dict:
    return {k: v for k, v in e.wire().items() if k not in COMMON}


def _parse_event(doc: dict) -> ev.Event:
    """An event from what a participant typed, checked by pydantic; its first problem as a DiaryError."""
    from pydantic import ValidationError

    from diary_client.core import event as ev

    try:
        return ev.parse_event(doc)
    except ValidationError as e:
        err = e.errors()[0]
        where = str(err["loc"][-1]) if err["loc"] else doc.get("kind", "event")
        where = "from" if where == "from_date" else where
        raise DiaryError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None
