"""Pickers for yes/no, one-of (choice) and any-of (multi) items: arrows to move, space to pick."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class Picker(Widget, can_focus=True):
    """A list of options with a cursor. `multi`: space toggles each; else space picks one.

    The value is a list (multi: chosen options in their order) or a string / None (one-of).
    Enter is left to the screen (it means Next).
    """

    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("space", "pick", "Pick", show=False),
    ]

    cursor: reactive[int] = reactive(0)
    """Index of the highlighted option."""

    class Changed(Message):
        """The picked option(s) changed."""

        def __init__(self, picker: Picker, value) -> None:
            super().__init__()
            self.picker = picker
            self.value = value

        @property
        def control(self) -> Picker:
            return self.picker

    def __init__(self, options: list[str], multi: bool = False, value=None, **kw) -> None:
        super().__init__(**kw)
        self.options = list(options)
        self.multi = multi
        self.chosen: list[str] = list(value or []) if multi else ([value] if value else [])

    @property
    def value(self):
        if self.multi:
            return [o for o in self.options if o in self.chosen]
        return self.chosen[0] if self.chosen else None

    def action_move(self, delta: int) -> None:
        self.cursor = (self.cursor + delta) % len(self.options)

    def action_pick(self) -> None:
        self._pick(self.cursor)

    def _pick(self, i: int) -> None:
        opt = self.options[i]
        if self.multi:
            self.chosen = [o for o in self.chosen if o != opt] if opt in self.chosen else [*self.chosen, opt]
        else:
            self.chosen = [opt]
        self.refresh()
        self.post_message(self.Changed(self, self.value))

    def on_click(self, event: events.Click) -> None:
        row = event.get_content_offset_capture(self).y
        if 0 <= row < len(self.options):
            self.cursor = row
            self._pick(row)
        self.focus()

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.options)

    def render(self) -> Text:
        lines = []
        for i, opt in enumerate(self.options):
            on = opt in self.chosen
            box = ("[x]" if on else "[ ]") if self.multi else ("(•)" if on else "( )")
            here = i == self.cursor
            style = "reverse" if here and self.has_focus else ("bold" if on else "")
            lines.append(Text.assemble(("› " if here else "  ", "bold"), (f"{box} {opt}", style)))
        return Text("\n").join(lines)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class YesNo(Widget, can_focus=True):
    """Yes or no: y / n, or Left/Right then Space. Starts unanswered."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No", show=False),
        Binding("left", "answer(True)", "Yes", show=False),
        Binding("right", "answer(False)", "No", show=False),
    ]

    value: reactive[bool | None] = reactive(None)
    """True for yes, False for no, None while not answered."""

    class Changed(Message):
        """The answer changed."""

        def __init__(self, widget: YesNo, value: bool | None) -> None:
            super().__init__()
            self.widget = widget
            self.value = value

        @property
        def control(self) -> YesNo:
            return self.widget

    def __init__(self, value: bool | None = None, **kw) -> None:
        super().__init__(**kw)
        self.set_reactive(YesNo.value, value)

    def action_answer(self, v: bool) -> None:
        self.value = v

    def watch_value(self, v: bool | None) -> None:
        self.post_message(self.Changed(self, v))

    def on_click(self, event: events.Click) -> None:
        x = event.get_content_offset_capture(self).x
        self.value = x < 12
        self.focus()

    def get_content_height(self, container, viewport, width: int) -> int:
        return 1

    def render(self) -> Text:
        def box(label: str, key: str, on: bool) -> tuple[str, str]:
            mark = "●" if on else " "
            return (f"[{mark}] {label} ({key})", "bold reverse" if on else "")

        return Text.assemble(box("Yes", "y", self.value is True), "   ", box("No", "n", self.value is False))
