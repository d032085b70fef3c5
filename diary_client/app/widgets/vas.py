"""The VAS bar: a 0–100 horizontal scale with no default position, keyboard first, mouse too."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from diary_client.app.widgets.typing import Typing

MAX = 100
FIRST_STEP = "Not answered yet: type your number (0–100), or press Home for 0 or End for 100; then ← → move it."


class VasBar(Widget, can_focus=True):
    """A visual analogue scale. It starts "not answered" (no thumb) so the screen never anchors.

    Digits type a value (the rule of `typing.Typing`: the digits typed so far make the number,
    however slowly they come; above 100 is refused with a hint), Left/Right step 1, Shift+Left/Right
    and PageUp/PageDown step 10, Home/End jump to 0/100, a click on the bar sets the value.
    An arrow on a scale not answered yet sets nothing and says how to answer: any start it chose
    would be an anchor (the middle) or an extreme one slip away from Enter (an end).
    """

    BINDINGS = [
        Binding("left", "step(-1)", "−1", show=False),
        Binding("right", "step(1)", "+1", show=False),
        Binding("shift+left,pagedown", "step(-10)", "−10", show=False),
        Binding("shift+right,pageup", "step(10)", "+10", show=False),
        Binding("home", "set(0)", "0", show=False),
        Binding("end", "set(100)", "100", show=False),
        Binding("backspace", "erase", "Erase digit", show=False),
    ]

    value: reactive[int | None] = reactive(None, layout=False)
    """The answer, 0–100, or None while not answered."""

    class Changed(Message):
        """The participant moved the thumb (or typed a value)."""

        def __init__(self, bar: VasBar, value: int | None) -> None:
            super().__init__()
            self.bar = bar
            self.value = value

        @property
        def control(self) -> VasBar:
            return self.bar

    class Hint(Message):
        """A word for the participant: why a digit was refused, where a first step started."""

        def __init__(self, bar: VasBar, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.text = text

    def __init__(self, min_label: str = "", max_label: str = "", value: int | None = None, **kw) -> None:
        super().__init__(**kw)
        self.min_label = min_label
        self.max_label = max_label
        self.typing = Typing(0, MAX)
        self.hint = ""  # a word under the bar: why a digit was refused, where a first step started
        self.set_reactive(VasBar.value, value)

    # -- input ---------------------------------------------------------------------------------

    def _say(self, hint: str) -> None:
        if hint or self.hint:
            self.post_message(self.Hint(self, hint))
        self.hint = hint

    def _set(self, v: int | None, hint: str = "") -> None:
        self.value = None if v is None else max(0, min(MAX, v))
        self._say(hint)  # after Changed: the screen clears its hint on a change

    def action_step(self, delta: int) -> None:
        self.typing.other_key()
        if self.value is None:
            self._say(FIRST_STEP)
        else:
            self._set(self.value + delta)

    def action_set(self, v: int) -> None:
        self.typing.other_key()
        self._set(v)

    def action_erase(self) -> None:
        left = self.typing.backspace("" if self.value is None else str(self.value))
        self._set(int(left) if left else None)

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit() and len(event.character) == 1:
            event.stop()
            text, hint = self.typing.key(event.character)
            if text is None:
                self._say(hint or "")
            else:
                self._set(int(text))
        elif event.key not in ("backspace",):
            self.typing.other_key()

    def on_click(self, event: events.Click) -> None:
        left, width = self._track()
        x = event.get_content_offset_capture(self).x - left
        self.typing.other_key()
        self._set(round(max(0, min(width - 1, x)) * MAX / max(1, width - 1)))
        self.focus()

    def watch_value(self, value: int | None) -> None:
        self.post_message(self.Changed(self, value))

    # -- drawing -------------------------------------------------------------------------------

    def _track(self) -> tuple[int, int]:
        """(left offset, width) of the track inside the content area: room for end caps."""
        return 1, max(11, self.content_size.width - 2)

    def get_content_height(self, container, viewport, width: int) -> int:
        return 6

    def render(self) -> Text:
        left, width = self._track()
        v = self.value
        pos = None if v is None else round(v * (width - 1) / MAX)
        thumb = "bold reverse" if self.has_focus else "bold"
        rows = []
        for row in range(3):
            cap = "├" if row == 1 else "│"
            line = Text(cap, style="bold")
            for i in range(width):
                if i == pos:
                    line.append("█", style=thumb)
                elif row != 1:
                    line.append(" ")
                elif pos is not None and i < pos:
                    line.append("━", style="bold")
                else:
                    line.append("─", style="dim" if pos is None else "")
            line.append("┤" if row == 1 else "│", style="bold")
            rows.append(line)
        ends = Text("0" + " " * max(1, width + left * 2 - 4) + "100", style="dim")
        labels = _two_ends(self.min_label, self.max_label, width + 2 * left)
        if v is None:
            state = Text("not answered", style="italic")
        else:
            state = Text.assemble(("Your answer: ", ""), (f"{v}", "bold"), (" of 100", ""))
            if self.typing.text:  # digits still being typed: say that more go on and Enter takes it
                state.append(" · typing; Enter takes it", style="dim")
        return Text("\n").join([*rows, ends, labels, state])


def _two_ends(left: str, right: str, width: int) -> Text:
    """Two labels under the ends of the bar, each cut to fit half the width."""
    half = max(4, (width - 1) // 2)
    if len(left) > half:
        left = left[: half - 1] + "…"
    if len(right) > half:
        right = right[: half - 1] + "…"
    return Text(left + " " * max(1, width - len(left) - len(right)) + right)
