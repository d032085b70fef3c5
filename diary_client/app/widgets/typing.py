"""How digits typed into a number field combine: the rule the VAS bar and number items share.

Every digit goes on with the digits typed so far, however long the pause before it: the number
shown is the number typed, and it is taken by Enter or by moving on, never restarted by the clock
(a slow typist's `4` … `5` is 45). A digit that would pass the top of the range is refused with a
hint, never wrapped; Backspace takes the last digit off the number shown. Another key (an arrow, a
click) ends the typing: the next digit starts a new number.
"""

from __future__ import annotations


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class Typing:
    """The typed text of one field. `key` returns (the new text or None when refused, a hint)."""

    def __init__(self, low: float | None, high: float | None, decimals: bool = False) -> None:
        self.low, self.high, self.decimals = low, high, decimals
        self.text = ""  # what typing has built so far; "" = the next digit starts a new number

    def other_key(self) -> None:
        """Any key that is not a digit (an arrow, a click, Enter): the next digit starts anew."""
        self.text = ""

    def key(self, ch: str) -> tuple[str | None, str | None]:
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
            return None, (f"{_fmt(self.high)} is the highest: {candidate} is not taken "
                          f"(Backspace takes a digit off)")
        self.text = candidate
        return candidate, None

    def backspace(self, shown: str) -> str:
        """The number shown less its last digit ("" when none is left); typing goes on from it."""
        self.text = shown[:-1].rstrip(".") if shown else ""
        if self.text == "-":
            self.text = ""
        return self.text
