"""Home: Day N of M, the period, today's state in words, recent days, compliance and sync; E reports an event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from diary_client.app.screens.common import USER_ERRORS, human
from diary_client.core import days
from diary_client.core import schedule as sch
from diary_client.core.days import plural
from diary_client.device.diary import AlreadyFiled, Diary, NothingToCorrect

RECENT_DAYS = 7


def _hm(iso: str | datetime, now: datetime) -> str:
    t = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    t = t.astimezone(now.tzinfo)
    return f"{t:%H:%M}" if t.date() == now.date() else f"{t:%a} {t.day} {t:%b} {t:%H:%M}"


def today_words(diary: Diary, now: datetime, filed: dict[date, str] | None = None) -> str:
    """The day that matters now, in words, named when it is not today:
    opens at 18:00 / open now / "Yesterday's report — Mon 16 Mar — is late: accepted until 11:59"."""
    t = diary.today(now, filed)
    w = t.window
    name = days.report_name(t.diary_date, now.date())
    match t.state:
        case "upcoming":
            if t.diary_date > now.date() and t.study_day == 1:  # enrolled before day 1
                return f"Day 1 is {days.long_date(t.diary_date)}: its report opens at {w.opens:%H:%M}"
            return f"{name} opens at {_hm(w.opens, now)}"
        case "open" if t.diary_date == now.date():
            return f"Open now until {_hm(w.closes, now)} — press Enter"
        case "open":
            return f"{name} is open until {_hm(w.closes, now)} — press Enter"
        case "late" if t.diary_date == now.date():
            return f"Late — still accepted until {_hm(w.grace_ends, now)} — press Enter"
        case "late":
            return f"{name} is late: still accepted until {_hm(w.grace_ends, now)} — press Enter"
        case "done":
            e = diary.report_for(t.diary_date)
            late = " (late)" if e and e.timing == "late" else ""
            done = "Done" if t.diary_date == now.date() else f"{name} done"
            return f"{done} at {_hm(e.submitted_at, now)}{late} — C to correct" if e else done
        case "missed":
            return f"Missed: {name[0].lower()}{name[1:]} can no longer be filed"
        case _:
            return "The study is over — thank you for every report"


def recent_marks(diary: Diary, now: datetime, upto: date, filed: dict[date, str] | None = None) -> str:
    """The last days up to `upto`, marked by the one day-mark rule (`days.day_mark`)."""
    first = max(diary.start, upto - timedelta(days=RECENT_DAYS - 1))
    if upto < first:
        return ""
    marks = diary.marks(now, first, upto, filed)
    a, b = sch.study_day(diary.start, first), sch.study_day(diary.start, upto)
    span = f"Day {a}" if a == b else f"Days {a}–{b}"
    return f"{span}: {' '.join(days.MARK_SYMBOL[m] for m in marks)}\n{days.LEGEND}"


class HomeScreen(Screen):
    """The study at a glance; Enter starts today's report."""

    BINDINGS = [
        Binding("enter,r", "report", "Report"),
        Binding("c", "correct", "Correct"),
        Binding("e", "event", "Event"),
        Binding("p", "progress", "Progress"),
        Binding("s", "settings", "Settings"),
        Binding("q", "app.quit", "Quit"),
    ]

    sync_note: reactive[str | None] = reactive(None)
    """A word from the app about sync (syncing…, unavailable, the last failure)."""

    def __init__(self, diary: Diary, now_fn: Callable[[], datetime]) -> None:
        super().__init__()
        self.diary = diary
        self.now_fn = now_fn

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        with VerticalScroll(id="home"):
            yield Static(id="day", classes="big")
            yield Static(id="phase")
            yield Static(id="today", classes="today")
            yield Static(id="recent")
            yield Static(id="compliance")
            yield Static(id="sync", classes="muted")
            yield Static(id="message", classes="message")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(30, self.refresh_status)  # the first refresh: on_screen_resume, as home shows

    def on_screen_resume(self) -> None:
        self.refresh_status()

    def watch_sync_note(self) -> None:
        if self.is_mounted:
            self.refresh_status()

    def say(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    def refresh_status(self) -> None:
        try:
            now = self.now_fn()
            filed = self.diary.filed()  # read once for the three below: it spans the whole history
            s = self.diary.status(now, filed)
            today = today_words(self.diary, now, filed)
            recent = recent_marks(self.diary, now, date.fromisoformat(s.diary_date), filed)
        except USER_ERRORS as e:
            self.query_one("#day", Static).display = False  # no empty box above the message
            self.say(human(e))
            return
        self.query_one("#day", Static).display = True
        self.ended = s.today == "ended"
        started = now.date() >= self.diary.start
        self.query_one("#day", Static).update(
            f"Day {s.study_day} of {s.days_total}" if started else f"Day 1 starts {days.short_date(self.diary.start)}")
        kept = self.diary.kept_answers()
        if kept is not None and s.today in ("open", "late"):
            today += f"\nYour unfinished report is kept ({plural(kept, 'answer')}) — press Enter to go on with it"
        if self.ended:
            today += "\nP shows your progress and your summary"
        self.query_one("#phase", Static).update(f"{s.phase_label or ''}  ·  {self.diary.protocol.title}")
        self._place_today(earlier_open=s.today in ("open", "late") and s.diary_date < now.date().isoformat())
        self.query_one("#today", Static).update(today)
        self.query_one("#recent", Static).update(recent if started else "")
        self.query_one("#compliance", Static).update(days.compliance_words(s) if started
                                                     else "Nothing is counted before day 1.")
        sync = self._sync_line(s, now)
        self.query_one("#sync", Static).display = bool(sync)
        self.query_one("#sync", Static).update(sync)
        self.refresh_bindings()  # a finished study offers no Report or Correct

    def _place_today(self, earlier_open: bool) -> None:
        """A report still open for an earlier day is said first, above any figure: the morning
        after, "Day 2 of 98" and a compliance figure must not read as a failure before it."""
        box, today, day = self.query_one("#home"), self.query_one("#today"), self.query_one("#day")
        first = box.children[0] is today
        if earlier_open and not first:
            box.move_child(today, before=day)
        elif not earlier_open and first:
            box.move_child(today, after=self.query_one("#phase"))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("report", "correct") and getattr(self, "ended", False):
            return False  # nothing can be filed or corrected once the last day's grace is over
        return True

    def _sync_line(self, s, now: datetime) -> str:
        if not self.diary.settings.hub_url:
            return self.sync_note or ""  # no hub: nothing is uploaded, so nothing to say about uploads
        parts = [f"Sync: {s.pending_upload} pending"]
        if s.events_pending:
            parts.append(f"{plural(s.events_pending, 'event')} to send")
        parts.append(f"last upload {_hm(s.last_upload, now)}" if s.last_upload else "no upload yet")
        if s.quarantined:
            parts.append(f"{s.quarantined} refused by the hub (kept here)")
        line = " · ".join(parts)
        if s.last_error:
            line += f"\nLast sync error: {s.last_error}"
        if self.sync_note and self.sync_note not in (s.last_error or ""):  # not the same failure twice
            line += f"\n{self.sync_note}"
        return line

    # -- actions -------------------------------------------------------------------------------

    def _open_report(self, correcting: bool) -> None:
        now = self.now_fn()
        try:
            report = None if correcting else self.diary.resumable(now)
            report = report or self.diary.begin_report(now, correcting)
        except AlreadyFiled as e:
            self.say(f"Day {e.study_day}'s report is saved already; press C to correct it")
            return
        except NothingToCorrect as e:
            self.say(f"Day {e.study_day}'s report is not saved yet: press Enter to fill it in")
            return
        except USER_ERRORS as e:
            self.say(human(e))
            return
        self.open(report)

    def open(self, report) -> None:
        from diary_client.app.screens.report import ReportScreen

        self.say("")
        self.app.push_screen(ReportScreen(self.diary, report, self.now_fn))

    def action_report(self) -> None:
        self._open_report(correcting=False)

    def action_correct(self) -> None:
        self._open_report(correcting=True)

    def action_progress(self) -> None:
        self.say("Opening progress…")
        self.call_after_refresh(self._push_progress)

    def _push_progress(self) -> None:
        from diary_client.app.screens.progress import ProgressScreen

        self.say("")
        self.app.push_screen(ProgressScreen(self.diary, self.now_fn))

    def action_event(self) -> None:
        """Report an event (an adverse event, a medicine, a dose change) at any time of day."""
        from diary_client.app.screens.event import EventScreen, KindScreen

        def chosen(kind: str | None) -> None:
            if kind:
                self.app.push_screen(EventScreen(self.diary, kind, self.now_fn))  # type: ignore[arg-type]  # one of KindScreen's values

        self.say("")
        self.app.push_screen(KindScreen(), callback=chosen)

    def action_settings(self) -> None:
        from diary_client.app.screens.settings import SettingsScreen

        self.app.push_screen(SettingsScreen(self.diary, self.now_fn))
