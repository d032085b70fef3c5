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

from .. import answers as ans
from .. import schedule as sch
from ..diary import Diary
from ..entry import Value
from ..protocol import Item
from ..widgets.choices import Picker, YesNo
from ..widgets.vas import VasBar

KEYS = {
    "vas": "0–9 type · ←/→ ±1 · PgUp/PgDn ±10 · Home/End 0/100",
    "yesno": "y yes · n no",
    "choice": "↑/↓ move · Space choose",
    "multi": "↑/↓ move · Space choose or un-choose · none is an answer",
    "text": "type, then Enter",
    "number": "type a number, then Enter",
}
NOT_ANSWERED = {
    "vas": "Please answer first: type a number, use ← → or click the bar.",
    "yesno": "Please answer first: press y or n.",
    "choice": "Please answer first: move with ↑/↓ and press Space.",
    "number": "Please type a number first.",
    "text": "Please type an answer first.",
}


def items_for(diary: Diary, d: date) -> list[Item]:
    """The items asked on day `d`: an item limited to some phases appears only in those."""
    span = sch.span_on(diary.protocol, diary.start, d)
    return diary.protocol.items_in(span.phase.id) if span else []


def editor_for(item: Item, value: Value) -> Widget:
    match item.kind:
        case "vas":
            return VasBar(item.min_label, item.max_label, value, id="editor")  # type: ignore[arg-type]
        case "yesno":
            return YesNo(value, id="editor")  # type: ignore[arg-type]
        case "choice" | "multi":
            return Picker(item.options or [], multi=item.kind == "multi", value=value, id="editor")
        case _:
            text = "" if value is None else str(value)
            return Input(text, placeholder="(optional — Enter to skip)" if item.optional else "",
                         id="editor", compact=True, type="number" if item.kind == "number" else "text")


class ReportScreen(Screen):
    """Walks the participant through the day's items; the last Enter opens the review."""

    FILLING_IN = True  # the app holds timed syncs meanwhile (DiaryApp.timed_sync)

    BINDINGS = [
        Binding("enter", "next", "Next", priority=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        diary: Diary,
        d: date,
        now_fn: Callable[[], datetime],
        answers: dict[str, Value] | None = None,
        correcting: bool = False,
    ) -> None:
        super().__init__()
        self.diary = diary
        self.d = d
        self.now_fn = now_fn
        self.items = items_for(diary, d)
        self.answers: dict[str, Value] = {k: v for k, v in (answers or {}).items() if k in {i.id for i in self.items}}
        if not correcting:
            # A multi item's "none chosen" is a real answer; start it empty rather than absent.
            self.answers |= {i.id: [] for i in self.items if i.kind == "multi" and i.id not in self.answers}
        self.correcting = correcting
        self.index = 0
        self.back_to_review = False

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
        await self.show(0)

    @property
    def item(self) -> Item:
        return self.items[self.index]

    async def show(self, index: int) -> None:
        self.index = index
        item = self.item
        day = sch.study_day(self.diary.start, self.d)
        what = "Correcting day" if self.correcting else "Day"
        self.query_one("#progress", Static).update(f"{what} {day} · {self.d:%a %d %b}        {index + 1} / {len(self.items)}")
        self.query_one("#prompt", Static).update(item.prompt)
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

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_next()

    def _answer(self, value: Value) -> None:
        if value is None:
            self.answers.pop(self.item.id, None)
        else:
            self.answers[self.item.id] = value
        self.query_one("#hint", Static).update("")

    def _read_input(self) -> str | None:
        """For text and number items, take the typed text; returns why it is not accepted."""
        item = self.item
        if item.kind not in ("text", "number"):
            return None
        try:
            v = ans.parse_text(item, self.query_one("#editor", Input).value)
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

    async def action_back(self) -> None:
        if self.item.kind in ("text", "number"):
            self._read_input()
        if self.index > 0:
            self.back_to_review = False
            await self.show(self.index - 1)
        else:
            self.dismiss(None)
            self.app.notify("Report not saved: you can start again until the window closes.", timeout=4)

    def open_review(self) -> None:
        from .review import ReviewScreen

        self.back_to_review = False
        self.app.push_screen(
            ReviewScreen(self.diary, self.d, self.items, dict(self.answers), self.now_fn, self.correcting),
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
