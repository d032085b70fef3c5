"""The daily report: one item per screen with `3 / 12` progress, Enter for next, Escape for back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, Static

from diary_client.app.screens.common import USER_ERRORS, DiscardScreen, LeaveScreen, human
from diary_client.app.widgets.choices import Picker, YesNo
from diary_client.app.widgets.note import NoteArea
from diary_client.app.widgets.number import NumberInput
from diary_client.app.widgets.vas import VasBar
from diary_client.core import answers as ans
from diary_client.core.entry import Value
from diary_client.core.protocol import Item
from diary_client.device.diary import Diary, Report

KEYS = {
    "vas": "0–9 type · ←/→ ±1 · PgUp/PgDn ±10 · Home/End 0/100",
    "yesno": "y yes · n no",
    "choice": "↑/↓ move · Space choose",
    "multi": "↑/↓ move · Space choose or un-choose · none is an answer",
    "text": "type (it wraps) · Ctrl+J new line · Enter next",
    "number": "type a number, then Enter",
}
NOT_ANSWERED = {
    "vas": "Please answer first: type a number (0–100), or press Home or End, or click the bar.",
    "yesno": "Please answer first: press y or n.",
    "choice": "Please answer first: move with ↑/↓ and press Space.",
    "number": "Please type a number first.",
    "text": "Please type an answer first.",
}


def editor_for(item: Item, value: Value) -> Widget:
    match item.kind:
        case "vas":
            return VasBar(item.min_label, item.max_label, value, id="editor")  # type: ignore[arg-type]  # a vas item's answer is an int or None (answers.check)
        case "yesno":
            return YesNo(value, id="editor")  # type: ignore[arg-type]  # a yesno item's answer is a bool or None
        case "choice" | "multi":
            return Picker(item.options or [], multi=item.kind == "multi", value=value, id="editor")
        case "number":
            return NumberInput("" if value is None else str(value), item.min, item.max, id="editor", compact=True,
                               placeholder="(optional — Enter to skip)" if item.optional else "")
        case "text":
            return NoteArea("" if value is None else str(value), id="editor",
                            placeholder="(optional — Enter to skip)" if item.optional else "")
        case _:
            return Input("" if value is None else str(value), id="editor", compact=True,
                         placeholder="(optional — Enter to skip)" if item.optional else "")


class ReportScreen(Screen):
    """Walks the participant through the day's items; the last Enter opens the review."""

    FILLING_IN = True  # the app holds timed syncs meanwhile (DiaryApp.timed_sync)

    BINDINGS = [
        Binding("enter", "next", "Next", priority=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, diary: Diary, report: Report, now_fn: Callable[[], datetime]) -> None:
        super().__init__()
        self.diary = diary
        self.report = report
        self.now_fn = now_fn
        self.items = list(report.items)
        self.answers: dict[str, Value] = dict(report.answers)
        self.correcting = report.corrects is not None
        self.index = report.position
        self.back_to_review = False

    @property
    def d(self) -> date:
        return self.report.diary_date

    @property
    def touched(self) -> bool:
        """Does leaving lose something the participant did (a new answer, or a changed one)? A
        resumed draft's answers count: Escape must not throw them away unasked."""
        return self.answers != dict(self.report.answers) or self.report.position > 0 or self.report.resumed

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        with Vertical(id="report"):
            yield Static(id="progress", classes="muted")
            yield Static(id="prompt", classes="prompt")
            yield Vertical(id="editor-box")
            yield Static(id="keys", classes="muted")
            yield Static(id="hint", classes="message")
        yield Footer()

    async def on_mount(self) -> None:
        await self.show(self.index)

    @property
    def item(self) -> Item:
        return self.items[self.index]

    async def show(self, index: int) -> None:
        self.index = index
        item = self.item
        self.query_one("#progress", Static).update(f"{self.report.title()}        {index + 1} / {len(self.items)}")
        self.query_one("#prompt", Static).update(self.report.prompt(item))
        self.query_one("#keys", Static).update(KEYS[item.kind] + ("   (optional: Enter skips)" if item.optional else ""))
        self.query_one("#hint", Static).update("")
        box = self.query_one("#editor-box", Vertical)
        await box.remove_children()
        editor = editor_for(item, self.answers.get(item.id))
        await box.mount(editor)
        editor.focus()

    # -- answers come up from the widgets ------------------------------------------------------

    def on_vas_bar_changed(self, event: VasBar.Changed) -> None:
        self._answer(event.value)

    def on_yes_no_changed(self, event: YesNo.Changed) -> None:
        self._answer(event.value)

    def on_picker_changed(self, event: Picker.Changed) -> None:
        self._answer(event.value)

    def on_vas_bar_hint(self, event: VasBar.Hint) -> None:
        self.query_one("#hint", Static).update(f"⚠ {event.text}" if event.text else "")

    def on_number_input_hint(self, event: NumberInput.Hint) -> None:
        self.query_one("#hint", Static).update(f"⚠ {event.text}" if event.text else "")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_next()

    async def on_note_area_submitted(self, event: NoteArea.Submitted) -> None:
        event.stop()
        await self.action_next()

    def _answer(self, value: Value) -> None:
        if value is None:
            self.answers.pop(self.item.id, None)
        else:
            self.answers[self.item.id] = value
        self.query_one("#hint", Static).update("")
        self.keep()

    def keep(self) -> None:
        """The draft after every answer: a crash, kill -9 or a closed terminal loses nothing."""
        try:
            self.diary.keep_draft(self.report, self.answers, self.index)
        except USER_ERRORS as e:
            self.query_one("#hint", Static).update(f"⚠ Your answers so far could not be kept: {human(e)}")

    def _read_input(self) -> str | None:
        """For text and number items, take the typed text; returns why it is not accepted."""
        item = self.item
        if item.kind not in ("text", "number"):
            return None
        editor = self.query_one("#editor")
        typed = editor.text if isinstance(editor, NoteArea) else editor.value  # type: ignore[attr-defined]  # the editor of a number item is an Input
        try:
            v = ans.parse_text(item, typed)
        except ans.AnswerError as e:
            return str(e).removeprefix(f"{item.id}: ")
        self._answer(v)
        if v is None and item.optional:
            self.answers[item.id] = None  # skipped, as the command line records it
        return None

    # -- moving --------------------------------------------------------------------------------

    async def action_next(self) -> None:
        item = self.item
        why = self._read_input()
        value = self.answers.get(item.id)
        if why is None and value is None and not item.optional:
            why = NOT_ANSWERED.get(item.kind, "Please answer first.")
        if why is None:
            why = ans.value_problem(item, value)
        if why is not None:
            self.query_one("#hint", Static).update(f"⚠ {why}")
            return
        if item.optional and item.id not in self.answers:
            self.answers[item.id] = None
        if self.back_to_review or self.index == len(self.items) - 1:
            self.open_review()
        else:
            await self.show(self.index + 1)
            self.keep()

    async def action_back(self) -> None:
        if self.item.kind in ("text", "number"):
            self._read_input()
        if self.index > 0:
            self.back_to_review = False
            await self.show(self.index - 1)
            self.keep()
        elif self.touched:
            self.app.push_screen(LeaveScreen(), callback=self._leave)
        else:
            self._leave("discard")

    def _leave(self, choice: str | None) -> None:
        """After "leave this report?": keep the draft, throw it away, or stay (None)."""
        if choice is None:
            return
        if choice == "discard" and self.touched:  # a second question: one D must not lose a report
            answered = sum(1 for v in self.answers.values() if v is not None)
            self.app.push_screen(DiscardScreen(answered), callback=self._discard)
            return
        self._discard(choice)

    def _discard(self, choice: str | None) -> None:
        """After the second question (or with nothing to lose): leave, throwing the draft away or keeping it."""
        if choice is None:
            return  # "no, keep them": back on the report, nothing lost
        if choice == "discard":
            try:
                self.diary.drop_draft()
            except USER_ERRORS:
                pass  # a draft that cannot be dropped is dropped at the next start if it is too late
            note = "Report not saved: you can start again until the window closes."
        else:
            note = "Your answers are kept: press Enter on home to go on with the report."
        self.dismiss(None)
        self.app.notify(note, timeout=4)

    def open_review(self) -> None:
        from diary_client.app.screens.review import ReviewScreen

        focus = self.index if self.back_to_review else 0  # back on the row just changed
        self.back_to_review = False
        self.app.push_screen(
            ReviewScreen(self.diary, self.report, dict(self.answers), self.now_fn, focus=focus),
            callback=self._after_review,
        )

    def _after_review(self, result) -> None:
        if result == "saved":
            self.dismiss("saved")
        elif result == "back":
            self.call_later(self.show, len(self.items) - 1)
        elif isinstance(result, int):
            self.back_to_review = True
            self.call_later(self.show, result)
