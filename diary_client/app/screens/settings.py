"""Settings / About: data dir, protocol, device id, reminder time; install the daily reminder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from diary_client.app.screens.common import USER_ERRORS, human
from diary_client.app.screens.link import LinkScreen
from diary_client.device.diary import Diary
from diary_client.device.store import Store


class SettingsScreen(Screen):
    """What this device is set up with; I installs the reminder, T switches light/dark."""

    BINDINGS = [
        Binding("i", "install", "Install reminder"),
        Binding("h", "link", "Link to a hub"),
        Binding("t", "theme", "Light/dark"),
        Binding("escape,q", "app.pop_screen", "Back"),
    ]

    def __init__(self, diary: Diary, now_fn: Callable[[], datetime]) -> None:
        super().__init__()
        self.diary = diary
        self.now_fn = now_fn

    def compose(self) -> ComposeResult:
        d, p = self.diary, self.diary.protocol
        s = d.settings
        from diary_client import __version__ as version

        yield Header(icon="")
        with VerticalScroll(id="settings"):
            yield Static(f"Participant {d.participant_id} · day 1 was {d.start:%a %d %b %Y}", classes="title")
            yield Static(f"Study: {p.title}\n  {p.id}, version {p.version}, {p.days_total} days, blinding {p.blinding}")
            yield Static(f"Data dir: {d.store.path.parent}\nDevice id: {d.device_id}")
            yield Static(f"Daily window {p.schedule.opens:%H:%M}–{p.schedule.closes:%H:%M}, "
                         f"{p.schedule.grace_hours:g} h grace · reminder at {', '.join(f'{t:%H:%M}' for t in p.schedule.reminders)}")
            yield Static(f"Hub: {s.hub_url}" if s.hub_url else
                         "Hub: none (entries stay on this device) — press H to link it to your study's hub", id="hub")
            yield Static("Reminder: press I to install it (a systemd timer, or else a line in your crontab)",
                         id="remind")
            yield Static(f"symptom-diary {version}", classes="muted")
        yield Footer()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "link":
            return not self.diary.settings.hub_url  # a device already syncing keeps its hub
        return True

    def action_link(self) -> None:
        self.app.push_screen(LinkScreen(), callback=self._link)

    def _link(self, got: tuple[str, str] | None) -> None:
        if got:
            self.query_one("#hub", Static).update("Hub: asking the hub…")
            self.link(*got)

    @work(thread=True, exclusive=True, group="link")
    def link(self, url: str, code: str) -> None:
        """Like `diary enroll --hub` on a device enrolled offline: the same participant, then sync
        uploads everything this device holds. The network call runs in a thread with its own file."""
        from sync.client.upload import enroll_device

        store = Store(self.diary.store.path)
        try:
            enroll_device(Diary(store), url, code, participant_id=self.diary.participant_id, start=self.diary.start)
        except Exception as e:  # SyncError, DiaryError, network: said on screen, nothing changed
            self.app.call_from_thread(self._linked, human(e))
            return
        finally:
            store.close()
        self.app.call_from_thread(self._linked, None)

    def _linked(self, problem: str | None) -> None:
        if problem:
            self.query_one("#hub", Static).update(f"Hub: not linked — {problem}")
            return
        self.diary.reload()
        self.query_one("#hub", Static).update(f"Hub: {self.diary.settings.hub_url} — linked; uploading what "
                                              "this device holds (see the sync line on home)")
        self.refresh_bindings()
        self.app.start_syncing()  # type: ignore[attr-defined]  # self.app is the DiaryApp (Textual types it as App)

    def action_theme(self) -> None:
        """Switch between light and dark, and keep the choice for the next start."""
        from diary_client.app.themes import other

        self.app.theme = other(self.app.theme)
        try:
            self.diary.set_theme(self.app.theme)
        except USER_ERRORS as e:
            self.notify(f"The theme is not kept for next time: {human(e)}", severity="warning")

    def action_install(self) -> None:
        self.query_one("#remind", Static).update("Reminder: installing…")
        self.install()

    @work(thread=True, exclusive=True)
    def install(self) -> None:
        from diary_client.device.reminder import RemindError, install_reminder

        try:  # pressing I is her consent: a crontab line is written where there is no systemd timer
            text = install_reminder(self.diary.store.path.parent, self.diary.protocol.schedule.reminders)
        except (OSError, RemindError) as e:
            text = f"could not install the reminder ({e})"
        self.app.call_from_thread(self.query_one("#remind", Static).update, f"Reminder: {text}")
