"""Correction: asks why a saved report is being changed; the reason is kept with the new entry."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class CorrectionScreen(ModalScreen[str | None]):
    """Returns the reason, or None when the participant backs out."""

    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, title: str = "") -> None:
        super().__init__()
        self.report_title = title  # which day's report, e.g. "Correcting day 15 · Mon 16 Mar"

    def compose(self) -> ComposeResult:
        with Vertical(id="correction"):
            yield Static(self.report_title, classes="muted")
            yield Static("Why are you changing this report?", classes="prompt")
            yield Static("The saved report stays in the record; the new one replaces it.", classes="muted")
            yield Input(placeholder="reason (required)", id="reason", compact=True)
            yield Static("Enter saves the correction · Escape goes back", classes="muted")
            yield Static(id="reason-hint", classes="message")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if not reason:
            self.query_one("#reason-hint", Static).update("⚠ A correction needs a reason.")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
