"""A participant's diary: enrolment, filing rules, status and blinding over one Store.

The command line and the app both file reports through `Diary.file`, so the rules live here once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

from . import answers as ans
from . import bounds, clock, days
from . import schedule as sch
from .device import DeviceSettings
from .entry import Entry, Source, Timing, Value, latest, new_id
from .protocol import Item, Protocol, parse_protocol, stored_protocol
from .store import Store


class DiaryError(Exception):
    """A rule of the diary says no (no back-filling, not enrolled, ...); the message says why."""


def participant_id_problem(participant_id: str) -> str | None:
    """Why this cannot be a participant id (device and hub use the same rule), or None."""
    if not 1 <= len(participant_id) <= 100 or participant_id != participant_id.strip():
        return "a participant id is 1 to 100 characters without surrounding spaces"
    return None


@dataclass(frozen=True)
class Status:
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

    def as_dict(self) -> dict:
        return asdict(self)


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


@dataclass(frozen=True)
class Report:
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

    def phase_label(self, span: sch.PhaseSpan | None, now: datetime) -> str | None:
        if span is None:
            return None
        return span.phase.label if self.unblinded(now) else span.phase.participant_label

    def filed(self) -> dict[date, str]:
        """Per diary date, how its first report was filed (read narrowly: no entries built)."""
        return self.store.filed_timing()

    def today(self, now: datetime, filed: dict[date, str] | None = None) -> sch.Today:
        """Today's state; `filed` (from `filed()`) spares a second read when the caller holds it."""
        return sch.today(self.protocol, self.start, now, self.filed() if filed is None else filed)

    def status(self, now: datetime, filed: dict[date, str] | None = None) -> Status:
        filed = self.filed() if filed is None else filed
        t = sch.today(self.protocol, self.start, now, filed)
        tally = sch.tally(self.protocol, self.start, now, filed, flagged=self.store.flagged_dates())
        return Status(
            participant_id=self.participant_id,
            study_id=self.protocol.id,
            study_day=t.study_day,
            days_total=self.protocol.days_total,
            diary_date=t.diary_date.isoformat(),
            start=self.start.isoformat(),
            phase_label=self.phase_label(t.span, now),
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
        )

    def report_for(self, d: date, entries: list[Entry] | None = None) -> Entry | None:
        if entries is None:
            return self.store.report_for(d)
        return latest(entries).get(d)

    # -- filing --------------------------------------------------------------------------------

    def fileable(self, now: datetime) -> date:
        """The diary date that may be filed now, or DiaryError saying why none may."""
        d = sch.fileable_date(self.protocol, self.start, now)
        if d is None:
            t = self.today(now)
            if t.state == "ended":
                raise DiaryError("the study is over: no more reports can be filed")
            if t.state == "upcoming":
                when = t.window.opens.strftime("%H:%M") if t.diary_date == now.date() else t.window.opens.strftime("%Y-%m-%d %H:%M")
                raise DiaryError(f"day {t.study_day}'s report opens at {when}")
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
        ans.check(self.protocol, span.phase.id, answers)
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
        items = tuple(self.protocol.items_in(span.phase.id))
        if old is not None:
            answers = {k: v for k, v in old.answers.items() if k in {i.id for i in items}}
        else:  # a multi item's "none chosen" is a real answer: it starts empty rather than absent
            answers = {i.id: [] for i in items if i.kind == "multi"}
        return Report(d, day, span.phase.id, items, answers, now.date(), old)

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
        return self.store.save(self.prepare(answers, now, source, reason, report.diary_date), drop_draft=True)

    def file(self, answers: dict[str, Value], now: datetime, source: Source = "app", reason: str | None = None) -> Entry:
        """Begin, check and durably save a report (or a correction, with `reason`) in one call."""
        report = self.begin_report(now, correcting=reason is not None)
        return self.save_report(report, answers, now, source, reason)

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
        return replace(report, answers=answers, position=position, resumed=True)

    # -- the day marks -------------------------------------------------------------------------

    def marks(self, now: datetime, first: date, last: date, filed: dict[date, str] | None = None) -> list[days.Mark]:
        """Each day from `first` to `last` as home and progress show it (`days.day_mark`)."""
        return days.day_marks(self.protocol, now, self.filed() if filed is None else filed, first, last)

    def import_rows(self, rows: list[tuple[int, date, dict[str, str]]], now: datetime) -> list[Entry]:
        """Legacy or paper rows (line number, date, ITEM -> text): all saved in one transaction, or none."""
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
                answers = ans.parse_answers(self.protocol, span.phase.id, texts)
            except ans.AnswerError as e:
                raise DiaryError(f"{where}: {e}") from None
            out.append(self.entry(d, answers, now, "import", "import"))
        return self.store.save_all(out)

