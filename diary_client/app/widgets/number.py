"""A number item's field: an Input whose digits follow the VAS bar's typing rule (`typing.Typing`)."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import Input

from diary_client.app.widgets.typing import Typing


class NumberInput(Input):
    """Digits go on with the number typed so far (no pause restarts it); above `high` is refused with a hint."""

    class Hint(Message):
        """Why a digit was not taken (or "" once it is fine again)."""

        def __init__(self, field: NumberInput, text: str) -> None:
            super().__init__()
            self.field = field
            self.text = text

    def __init__(self, value: str = "", low: float | None = None, high: float | None = None, **kw) -> None:
        super().__init__(value, **kw)
        self.typing = Typing(low, high, decimals=True)

    async def _on_key(self, event: events.Key) -> None:
        ch = event.character
        if event.key == "backspace":
            self._show(self.typing.backspace(self.value), "")
        elif ch is not None and len(ch) == 1 and (ch.isdigit() or ch in ".-"):
            text, hint = self.typing.key(ch)
            self._show(self.value if text is None else text, hint or "")
        elif ch is not None and len(ch) == 1 and ch.isprintable():
            self.post_message(self.Hint(self, "type digits only"))
        else:
            self.typing.other_key()
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()

    def _show(self, text: str, hint: str) -> None:
        self.value = text
        self.cursor_position = len(text)
        self.post_message(self.Hint(self, hint))
