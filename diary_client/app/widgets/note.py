"""A text item's field: several lines that wrap, so a long note stays in view while it is typed."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea


class NoteArea(TextArea):
    """Enter goes on to the next question as everywhere in the report; Ctrl+J starts a new line."""

    class Submitted(Message):
        """Enter in the note: the report moves on (the screen reads `text`)."""

    def __init__(self, text: str = "", placeholder: str = "", **kw) -> None:
        super().__init__(text, soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                         placeholder=placeholder, **kw)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted())
            return
        if event.key == "ctrl+j":
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)
