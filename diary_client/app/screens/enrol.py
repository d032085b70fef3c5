"""Enrolment (first run): participant id, start date, protocol, optional hub URL and code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from diary_client.app.screens.common import USER_ERRORS, ChoiceScreen, Enrolled, human
from diary_client.core.protocol import DEFAULT_PROTOCOL, checked_protocol_text, parse_protocol
from diary_client.device.diary import Diary, DiaryError
from diary_client.device.store import Store

FIELDS = [
    ("participant", "Participant id", "e.g. P01 (from your coordinator)"),
    ("start", "Start date", "YYYY-MM-DD: day 1 of the study"),
    ("protocol", "Protocol file", f"empty: {DEFAULT_PROTOCOL} (or the hub's)"),
    ("hub", "Hub URL", "optional: from your coordinator"),
    ("code", "Enrolment code", "optional: goes with the hub URL"),
]


class EnrolScreen(Screen):
    """Sets up this device; Enter moves to the next field, and on the last one enrols."""

    BINDINGS = [
        Binding("ctrl+s", "enrol", "Enrol"),
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
        Binding("escape", "app.quit", "Quit"),
    ]

    def __init__(self, store: Store, now_fn: Callable[[], datetime]) -> None:
        super().__init__()
        self.store = store
        self.now_fn = now_fn

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        with VerticalScroll(id="enrol"):
            yield Static("Welcome. Set up this device for your study.", classes="prompt")
            for key, label, hint in FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield Input(placeholder=hint, id=key, compact=True)
            yield Button("Enrol", id="enrol-button", variant="primary", compact=True)
            yield Static(id="enrol-message", classes="message")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.query_one("#start", Input).value = self.now_fn().date().isoformat()
        except USER_ERRORS as e:
            self.say(human(e))
        self.query_one("#participant", Input).focus()

    def say(self, text: str) -> None:
        self.query_one("#enrol-message", Static).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == FIELDS[-1][0]:
            self.action_enrol()
        else:
            self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_enrol()

    def _value(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    def _back_to_start(self) -> None:
        self.say("Type the start date again (day 1 of the study).")
        self.query_one("#start", Input).focus()

    def action_enrol(self, confirmed: bool = False) -> None:
        pid, start_text, proto = self._value("participant"), self._value("start"), self._value("protocol")
        hub, code = self._value("hub"), self._value("code")
        field = "participant"  # the field a refusal sends the cursor back to
        try:
            if not pid:
                raise DiaryError("please type the participant id")
            field = "start"
            try:
                start = date.fromisoformat(start_text)
            except ValueError:
                raise DiaryError(f"{start_text!r} is not a date: type it as year-month-day, like 2026-03-02") from None
            field = "code" if hub else "hub"
            if bool(hub) != bool(code):
                raise DiaryError("the hub URL and the enrolment code go together: give both or neither")
            field = "protocol"
            if hub and proto:
                raise DiaryError("with a hub URL the study protocol comes from the hub: leave the protocol empty")
            text = checked_protocol_text(proto or None)
            late = None if confirmed else Diary.start_problem(parse_protocol(text), start, self.now_fn())
            if late:
                self.app.push_screen(ChoiceScreen(
                    "Start that far back?", late[:1].upper() + late[1:] + ".",
                    [("y,enter", "yes, that is day 1", "yes")]),
                    callback=lambda choice: self.action_enrol(confirmed=True) if choice else self._back_to_start())
                return
            if not hub:
                field = "participant"
                diary = Diary.enroll(self.store, pid, text, start)
        except USER_ERRORS as e:
            self.say(f"⚠ {human(e)}")
            self.query_one(f"#{field}", Input).focus()
            return
        if hub:
            self.say("Asking the hub…")
            self.register(pid, start, hub, code)
        else:
            self.post_message(Enrolled(diary))

    @work(thread=True, exclusive=True)
    def register(self, pid: str, start: date, hub: str, code: str) -> None:
        """The hub is asked first (a bad code leaves the device as it was), as `diary enroll` does.

        It blocks on the network, so it runs in a thread with its own connection to the file.
        """
        from sync.client.upload import enroll_device

        store = Store(self.store.path)
        try:
            enroll_device(store, hub, code, participant_id=pid, start=start)
        except Exception as e:  # SyncError, DiaryError, network: said on screen, nothing enrolled
            self.app.call_from_thread(self.say, f"⚠ {human(e)}")
            return
        finally:
            store.close()
        self.app.call_from_thread(self._registered)

    def _registered(self) -> None:
        try:
            diary = Diary(self.store)
        except USER_ERRORS as e:
            self.say(f"⚠ {human(e)}")
            return
        self.post_message(Enrolled(diary))
