"""Report an event (E on home) at any time of day: an adverse event, a medicine taken, a dose change.

Keys only: Tab / Shift+Tab move between fields, arrows and Space choose in a list, Ctrl+S (or
Enter in the last field) saves through `Diary.file_event`, Escape goes back. A serious adverse
event is synced at once (the app starts its sync worker on `EventSaved`) and the screen says to
call the study team too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Checkbox, Footer, Input, RadioButton, RadioSet, Static

from diary_client.app.screens.common import USER_ERRORS, ChoiceScreen, human
from diary_client.core import event as ev
from diary_client.core.printable import printable
from diary_client.device.diary import Diary

FORM_ERRORS: tuple[type[Exception], ...] = (ValueError, *USER_ERRORS)  # ValueError: a date or time that is not one
TITLES = {"adverse_event": "Report an adverse event", "medication": "Report a medicine you took",
          "dose": "Report a change of your study dose"}


def KindScreen() -> ChoiceScreen:  # noqa: N802 - reads as the screen it makes
    """Which kind of event to report."""
    return ChoiceScreen("Report an event", "Any time of day: it is saved at once and sent at the next sync.",
                        [("a", "something unwanted happened (adverse event)", "adverse_event"),
                         ("m", "I took a medicine besides the study drug", "medication"),
                         ("d", "my study dose changed", "dose")], escape="back")


class EventSaved(Message):
    """An event is durably saved; the app syncs at once."""

    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self.event = event


class EventScreen(Screen):
    """One event's form; dismisses with the saved event, or None."""

    FILLING_IN = True  # the app holds timed syncs meanwhile (DiaryApp.timed_sync)

    AUTO_FOCUS = "#event Input"
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "back", "Back")]
    DEFAULT_CSS = """
    EventScreen #event { padding: 0 1; }
    EventScreen .label { margin-top: 1; }
    EventScreen RadioSet { height: auto; border: none; padding: 0; }
    EventScreen #event-message { margin-top: 1; }
    """

    def __init__(self, diary: Diary, kind: ev.Kind, now_fn: Callable[[], datetime]) -> None:
        super().__init__()
        self.diary, self.kind, self.now_fn = diary, kind, now_fn
        self.saved: ev.Event | None = None

    def compose(self) -> ComposeResult:
        now = self.now_fn()
        with VerticalScroll(id="event"):
            yield Static(TITLES[self.kind], classes="prompt")
            if self.kind == "adverse_event":
                yield from self._field("What happened?", Input(placeholder="e.g. nausea", id="what", compact=True))
                yield from self._field("The day it started", Input(now.date().isoformat(), id="started", compact=True))
                yield Static("How bad is it, at its worst? (↑/↓, Space)", classes="label")
                yield RadioSet(*(RadioButton(s, value=s == "mild", name=s) for s in ev.SEVERITIES), id="severity")
                yield Checkbox("Serious: hospital, life-threatening or disabling", id="serious", compact=True)
                yield from self._field("The day it ended (empty: still going on)",
                                       Input(placeholder="YYYY-MM-DD", id="resolved", compact=True))
            elif self.kind == "medication":
                yield from self._field("Which medicine?", Input(placeholder="e.g. ibuprofen", id="name", compact=True))
                yield from self._field("How much? (optional)", Input(placeholder="e.g. 400 mg", id="dose", compact=True))
                yield from self._field("When did you take it?", Input(f"{now:%Y-%m-%d %H:%M}", id="taken", compact=True))
                yield Static("Why? (↑/↓, Space)", classes="label")
                yield RadioSet(RadioButton("rescue: for a flare of symptoms", value=True, name="rescue"),
                               RadioButton("regular: on a schedule", name="regular"), id="purpose")
            else:
                yield from self._field("Your new dose", Input(placeholder="e.g. 3 mg", id="amount", compact=True))
                yield from self._field("From which day?", Input(now.date().isoformat(), id="from", compact=True))
            yield Static("Ctrl+S saves · Tab next · Escape back", classes="muted")
            yield Static(id="event-message", classes="message")
        yield Footer()

    @staticmethod
    def _field(label: str, widget: Input) -> ComposeResult:
        yield Static(label, classes="label")
        yield widget

    def say(self, text: str) -> None:
        self.query_one("#event-message", Static).update(text)

    def _text(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def _choice(self, wid: str) -> str | None:
        pressed = self.query_one(f"#{wid}", RadioSet).pressed_button
        return pressed.name if pressed else None

    def details(self) -> dict[str, Any]:
        """What the form holds, typed; ValueError names the field that is not a date or time."""
        def day(wid: str, optional: bool = False) -> date | None:
            text = self._text(wid)
            if optional and not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text or 'an empty field'!r} is not a date: type it as year-month-day, "
                                 "e.g. 2026-03-05") from None

        if self.kind == "adverse_event":
            return {"what": self._text("what"), "started": day("started"), "severity": self._choice("severity"),
                    "serious": self.query_one("#serious", Checkbox).value, "resolved": day("resolved", True)}
        if self.kind == "medication":
            try:
                taken = datetime.fromisoformat(self._text("taken")).replace(tzinfo=self.now_fn().tzinfo)
            except ValueError:
                raise ValueError(f"{self._text('taken')!r} is not a time: type it as 2026-03-05 10:00") from None
            return {"name": self._text("name"), "dose": self._text("dose") or None, "taken": taken,
                    "purpose": self._choice("purpose")}
        return {"amount": self._text("amount"), "from_date": day("from")}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            self.action_save()
        else:
            self.focus_next()

    def action_save(self) -> None:
        if self.saved is not None:
            self.dismiss(self.saved)
            return
        now = self.now_fn()
        try:
            saved = self.diary.file_event(self.kind, self.details(), now)
        except FORM_ERRORS as e:
            self.say(f"⚠ {human(e)}")
            return
        self.saved = saved
        self.post_message(EventSaved(saved))
        text = f"Saved at {now:%H:%M}; it goes to the study team at the next sync. Ctrl+S or Escape: back home."
        if isinstance(saved, ev.AdverseEvent) and saved.serious:
            contact = self.diary.protocol.contact
            who = printable(contact.words() if contact else "the study team")
            text = (f"Saved at {now:%H:%M} and being sent now.\n⚠ This is a serious adverse event: "
                    f"please ALSO call {who} now.\nEscape: back home.")
        self.say(text)
        self.query_one("#event-message", Static).scroll_visible()

    def action_back(self) -> None:
        self.dismiss(self.saved)
