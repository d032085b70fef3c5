"""Linking an enrolled device to a hub: the hub URL and enrolment code, asked in a modal."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class LinkScreen(ModalScreen[tuple[str, str] | None]):
    """Returns (hub URL, code), or None when the participant backs out."""

    BINDINGS = [Binding("escape", "cancel", "Back")]

    def compose(self) -> ComposeResult:
        with Vertical(id="link"):
            yield Static("Link this device to your study's hub", classes="prompt")
            yield Static("From your study coordinator. What this device holds is uploaded once linked.",
                         classes="muted")
            yield Input(placeholder="hub URL, e.g. https://hub.example.org", id="link-url", compact=True)
            yield Input(placeholder="enrolment code, e.g. ABCD-EFGH", id="link-code", compact=True)
            yield Static("Enter: next / link · Escape: back", classes="muted")
            yield Static(id="link-hint", classes="message")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        url, code = (self.query_one(f"#link-{k}", Input).value.strip() for k in ("url", "code"))
        if event.input.id == "link-url" and not code:
            self.query_one("#link-code", Input).focus()
            return
        if not url or not code:
            self.query_one("#link-hint", Static).update("⚠ Both the hub URL and the code are needed.")
            self.query_one("#link-url" if not url else "#link-code", Input).focus()
            return
        self.dismiss((url, code))

    def action_cancel(self) -> None:
        self.dismiss(None)
