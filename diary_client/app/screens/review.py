"""Review: every answer on one screen, any one editable; Enter saves, durably, before it says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from diary_client.app.screens.common import USER_ERRORS, ReportSaved, human
from diary_client.core.answers import format_value
from diary_client.core.entry import Entry, Value
from diary_client.core.protocol import Item
from diary_client.device.diary import Diary, Report


def shown(item: Item, v: Value) -> str:
    if v is None:
        return "skipped" if item.optional else "—"
    if item.kind == "multi":
        return ", ".join(v) if v else "none"  # type: ignore[arg-type]  # a multi item's value is a list of its options
    return " / ".join(format_value(item, v).splitlines())  # a note of several lines, on its row


class Row(Static, can_focus=True):
    """One answer; focus it with ↑/↓ and press E (or click) to change it. In a correction, a
    changed answer shows what it was: `42 → 24`."""

    def __init__(self, index: int, item: Item, value: Value, prompt: str, was: Value | str = "unchanged") -> None:
        super().__init__(classes="row changed" if was != "unchanged" else "row")
        self.index = index
        self.item = item
        self.value = value
        self.prompt = prompt
        self.was = was

    def render(self) -> str:
        value = shown(self.item, self.value)
        if self.was != "unchanged":
            value = f"{shown(self.item, self.was)} → {value}"
        label = self.item.label or self.prompt  # the short name, else the prompt as asked that day
        room = max(8, self.size.width - len(value) - 7)
        text = label if len(label) <= room else label[: room - 1] + "…"
        return f"{self.index + 1:>2}. {text.ljust(room)}  {value}"

    def on_click(self) -> None:
        self.screen.edit(self.index)  # type: ignore[attr-defined]  # a Row lives only on the ReviewScreen, which has edit()


class ReviewScreen(Screen):
    """Dismisses with "saved", "back", or the index of the item to change."""

    FILLING_IN = True  # the app holds timed syncs meanwhile (DiaryApp.timed_sync)

    BINDINGS = [
        Binding("enter", "submit", "Save"),
        Binding("enter", "home", "Home"),
        Binding("e", "edit", "Change"),
        Binding("up", "app.focus_previous", "Up", show=False, priority=True),
        Binding("down", "app.focus_next", "Down", show=False, priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, diary: Diary, report: Report, answers: dict[str, Value],
                 now_fn: Callable[[], datetime], focus: int = 0) -> None:
        super().__init__()
        self.diary = diary
        self.report = report
        self.items = list(report.items)
        self.answers = answers
        self.now_fn = now_fn
        self.correcting = report.corrects is not None
        self.focus_index = focus
        self.saved: Entry | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        what = "Check the correction of" if self.correcting else "Review"
        title = self.report.title().removeprefix("Correcting ")
        title = title[0].lower() + title[1:]
        changes = self.report.changes(self.answers)
        extra = ""
        if self.correcting:
            extra = f" · {len(changes)} changed" if changes else " · nothing changed yet"
        yield Static(f"{what} {title}{extra} — Enter saves, ↑/↓ then E changes one",
                     id="review-title", classes="muted")
        with VerticalScroll(id="rows", can_focus=False):
            for i, item in enumerate(self.items):
                was = changes[item.id][0] if item.id in changes else "unchanged"
                yield Row(i, item, self.answers.get(item.id), self.report.prompt(item), was)
        yield Static(id="review-message", classes="message")
        yield Footer()

    def on_mount(self) -> None:
        rows = list(self.query(Row))
        rows[min(self.focus_index, len(rows) - 1)].focus()

    def say(self, text: str) -> None:
        self.query_one("#review-message", Static).update(text)

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("edit", "back", "submit"):
            return self.saved is None
        if action == "home":
            return self.saved is not None
        return True

    def edit(self, index: int) -> None:
        if self.saved is None:
            self.dismiss(index)

    def action_edit(self) -> None:
        focused = self.focused
        self.edit(focused.index if isinstance(focused, Row) else 0)

    def action_back(self) -> None:
        self.dismiss("back")

    def action_home(self) -> None:
        self.dismiss("saved")

    def action_submit(self) -> None:
        if self.correcting:
            from diary_client.app.screens.correction import CorrectionScreen

            if not self.report.changes(self.answers):
                self.say("⚠ Not saved: nothing changed. Press E on an answer to change it, or Esc to go back.")
                return
            self.app.push_screen(CorrectionScreen(self.report.title()), callback=self._with_reason)
        else:
            self.save(None)

    def _with_reason(self, reason: str | None) -> None:
        if reason:
            self.save(reason)
        else:
            self.say("Not saved: a correction needs a reason.")

    @work(exclusive=True, group="save")
    async def save(self, reason: str | None) -> None:
        """Check and save; an async worker so SQLite stays on the UI thread. Says "saved" only after."""
        self.say("Saving…")
        now = self.now_fn()
        try:
            entry = self.diary.save_report(self.report, self.answers, now, "app", reason)
        except USER_ERRORS as e:
            why = human(e)
            self.say(f"⚠ {why}" if why.lower().startswith("not saved") else f"⚠ Not saved: {why}")
            return
        self.saved = entry
        local = entry.submitted_at.astimezone(now.tzinfo)
        late = " — marked late (the window had closed; still within the grace period)" if entry.timing == "late" else ""
        kind = "Correction saved" if reason else "Saved"
        self.say(f"✓ {kind} at {local:%H:%M}{late}. Press Enter to go home.")
        self.refresh_bindings()
        self.post_message(ReportSaved(entry))
