"""How digits typed into a number field combine: the rule the VAS bar and number items share.

Digits typed after any other key, or after a pause, start a new number; the number shown is the
number typed; a number beyond the top of the range is refused with a hint, never wrapped;
Backspace takes the last digit off the number shown. The clock comes in, so tests need no sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable

PAUSE_S = 1.0


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class Typing:
    """The typed text of one field. `key` returns (the new text or None when refused, a hint)."""

    def __init__(self, low: float | None, high: float | None, clock: Callable[[], float] = time.monotonic,
                 decimals: bool = False, pause: float = PAUSE_S) -> None:
        self.low, self.high, self.clock, self.decimals, self.pause = low, high, clock, decimals, pause
        self.text = ""  # what typing has built so far; "" = the next digit starts a new number
        self._last: float | None = None
        self._editing = False  # just after Backspace: the next digit goes on with the number shown

    def other_key(self) -> None:
        """Any key that is not a digit (an arrow, a click, Enter): the next digit starts anew."""
        self.text, self._last, self._editing = "", None, False

    def key(self, ch: str) -> tuple[str | None, str | None]:
        now = self.clock()
        if not self._editing and (self._last is None or now - self._last >= self.pause):
            self.text = ""
        self._last, self._editing = now, False
        if ch == "-" and self.decimals and self.text == "" and (self.low is None or self.low < 0):
            self.text = "-"
            return self.text, None
        if ch == "." and self.decimals and "." not in self.text:
            self.text = (self.text or "0") + "."
            return self.text, None
        if not ch.isdigit():
            return None, None
        candidate = self.text + ch
        if "." not in candidate and candidate.lstrip("-").startswith("0") and len(candidate.lstrip("-")) > 1:
            candidate = candidate.replace("0", "", 1)  # "05" is 5
        if self.high is not None and float(candidate) > self.high:
            return None, f"{_fmt(self.high)} is the highest: {candidate} is not taken (a pause starts a new number)"
        self.text = candidate
        return candidate, None

    def backspace(self, shown: str) -> str:
        """The number shown less its last digit ("" when none is left)."""
        self.text = shown[:-1].rstrip(".") if shown else ""
        if self.text == "-":
            self.text = ""
        self._editing = True
        return self.text
