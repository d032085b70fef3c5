"""The Textual app: a small App that owns the store, the clock and sync; the screens do the rest."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from diary_client.core import clock
from diary_client.device.store import Store, StoreError

if TYPE_CHECKING:
    from diary_client.device.diary import Diary  # imported when used: the app's path to home loads it late

SYNC_EVERY_S = 300
FIRST_SYNC_S = 1.0  # after the first frame: importing the HTTP client takes a moment


class DiaryApp(App):
    """Opens on enrolment (first run) or home; re-syncs at start, after each save and every few minutes."""

    CSS_PATH = "app.tcss"
    TITLE = "Symptom diary"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, data_dir: Path, now_fn: Callable[[], datetime], store: Store | None, problem: str | None = None,
                 first_sync_s: float = FIRST_SYNC_S):
        super().__init__()
        self.first_sync_s = first_sync_s  # when the first timed sync runs (a test of the start-up path waits it out)
        self.data_dir = data_dir
        self.now_fn = now_fn
        self.store = store
        self.problem = problem
        self.diary: Diary | None = None
        self.protocol_note: str | None = None  # a protocol update taken by a sync, said on home
        from diary_client.app.themes import DARK, THEMES

        for theme in THEMES.values():
            self.register_theme(theme)
        # Chosen before the CSS is first parsed, without the watcher: setting `theme` once running
        # parses all of it again. `set_reactive` is Textual's way to set a theme in a constructor;
        # the stylesheet, made in App.__init__, then takes that theme's variables.
        self.set_reactive(App.theme, DARK)
        self.stylesheet.set_variables(self.get_css_variables())

    def on_mount(self) -> None:
        from diary_client.app.screens.common import USER_ERRORS, ErrorScreen, human
        from diary_client.app.themes import DARK, LIGHT, THEMES

        if self.store is None:
            self.push_screen(ErrorScreen(self.problem or "the diary database cannot be opened"))
            return
        try:
            self.now_fn()
            if "participant_id" not in self.store.settings():
                from diary_client.app.screens.enrol import EnrolScreen

                self.push_screen(EnrolScreen(self.store, self.now_fn))
                return
            from diary_client.device.diary import Diary

            self.diary = Diary(self.store)
            chosen = {"textual-light": LIGHT, "textual-dark": DARK}.get(self.diary.settings.theme or "",
                                                                    self.diary.settings.theme)
            if chosen in THEMES and chosen != DARK:
                self.theme = chosen  # the participant's choice in Settings
        except USER_ERRORS as e:
            self.push_screen(ErrorScreen(human(e)))
            return
        self.show_home()
        self.call_after_refresh(self.backup_daily)  # after home is on screen: a long diary takes a moment to copy

    def backup_daily(self) -> None:
        """The day's copy of the diary, kept for 7 days."""
        assert self.store is not None
        try:
            self.store.backup_daily(self.now_fn().date())
        except (OSError, sqlite3.Error) as e:
            self.notify(f"The daily backup copy failed: {e}", severity="warning")

    def show_home(self) -> None:
        from diary_client.app.screens.home import HomeScreen

        assert self.diary is not None  # home opens once the diary is read (on_mount, enrolment)
        home = HomeScreen(self.diary, self.now_fn)
        self.push_screen(home)
        self.offer_draft(home)
        if self.diary.settings.hub_url:
            self.start_syncing()

    def start_syncing(self) -> None:
        """Sync soon and every few minutes (at start with a hub, or once Settings linked one)."""
        if getattr(self, "_sync_timer", None) is None:
            self._sync_timer = self.set_interval(SYNC_EVERY_S, self.timed_sync)
        self.set_timer(self.first_sync_s, self.timed_sync)

    def offer_draft(self, home) -> None:
        """A report left unfinished (a crash, kill -9, Ctrl+Q, a closed terminal): offer to go on."""
        from diary_client.app.screens.common import USER_ERRORS, ChoiceScreen, DiscardScreen

        diary = self.diary
        assert diary is not None
        try:
            report = diary.resumable(self.now_fn())
            kept = diary.kept_answers()
        except USER_ERRORS:
            return  # home says what is wrong with the file
        if report is None:
            return

        def chosen(choice: str | None) -> None:
            if choice == "resume":
                home.open(report)
            elif choice == "discard":
                self.push_screen(DiscardScreen(kept), callback=confirmed)

        def confirmed(choice: str | None) -> None:
            if choice == "discard":
                diary.drop_draft()
                self.notify("Your unfinished report was thrown away.", timeout=4)
            home.refresh_status()

        self.push_screen(ChoiceScreen(
            "Go on with your unfinished report?",
            f"{report.title()}: {kept} answered so far, kept on this device (not saved as a report yet).",
            [("enter,g", "go on with it", "resume"), ("d", "throw it away", "discard")],
            escape="not now (it stays kept)"), callback=chosen)

    async def action_quit(self) -> None:
        """Quitting while a report holds answers asks first (they are kept as a draft anyway)."""
        from diary_client.app.screens.common import QuitScreen

        filling = any(getattr(s, "FILLING_IN", False) for s in self.screen_stack)
        try:
            kept = filling and bool(self.diary and self.diary.kept_answers())
        except Exception:  # a file problem must not stop a quit
            kept = False
        if kept:
            def chosen(choice: str | None) -> None:
                if choice == "quit":
                    self.exit()

            self.push_screen(QuitScreen(), callback=chosen)
            return
        self.exit()

    def on_enrolled(self, message) -> None:
        self.diary = message.diary
        self.pop_screen()
        self.show_home()

    def on_report_saved(self, message) -> None:
        self.sync()

    def on_event_saved(self, message) -> None:
        """An event goes up at once (a serious adverse event must not wait for the timed round)."""
        self.sync()

    def timed_sync(self) -> None:
        """Sync, unless a report is being filled in: a protocol update taken now would change the
        questions under the participant's hands (saving the report syncs anyway)."""
        if not any(getattr(s, "FILLING_IN", False) for s in self.screen_stack):
            self.sync()

    def _home(self):
        from diary_client.app.screens.home import HomeScreen

        return next((s for s in self.screen_stack if isinstance(s, HomeScreen)), None)

    def _sync_note(self, note: str | None) -> None:
        home = self._home()
        if home is not None:
            home.sync_note = note

    def sync(self) -> None:
        """Start a sync round unless one is running (a round cut short would lose what it says)."""
        if not any(w.group == "sync" and not w.is_finished for w in self.workers):
            self._sync()

    @work(group="sync")
    async def _sync(self) -> None:
        """Upload pending entries; an async worker, so SQLite stays on the UI thread."""
        diary = self.diary
        if diary is None or not diary.settings.hub_url:
            return
        from sync.client.upload import sync_diary

        self._sync_note("syncing…")
        try:
            result = await sync_diary(diary, self.now_fn())
            note = getattr(result, "error", None)
            if getattr(result, "protocol_version", None):
                self.protocol_note = f"The study protocol was updated to version {result.protocol_version}."
        except Exception as e:  # a network or hub problem must never take the diary down
            note = f"sync failed: {e}"
        diary.reload()  # last upload, last error, unblinding, a protocol update
        # An update is said until the app closes; a failure only until the next round.
        self._sync_note("\n".join(n for n in (self.protocol_note, note) if n) or None)


def create_app(data_dir: Path, now_fn: Callable[[], datetime] = clock.now, first_sync_s: float = FIRST_SYNC_S) -> DiaryApp:
    """The app over the diary in `data_dir`; a database that cannot be opened is shown, not raised."""
    data_dir = Path(data_dir)
    try:
        store, problem = Store.in_dir(data_dir), None
    except StoreError as e:
        from diary_client.app.screens.common import human

        store, problem = None, human(e)
    return DiaryApp(data_dir, now_fn, store, problem, first_sync_s)


def run_app(data_dir: Path) -> None:
    create_app(Path(data_dir)).run()
