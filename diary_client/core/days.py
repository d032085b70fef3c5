"""Naming a diary day for people, and the one rule for a day's mark (home, progress, status read it).

Pure: the calendar date of "now" comes in as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal

from diary_client.core.protocol import Protocol
from diary_client.core.schedule import Window, window, window_state

Mark = Literal["done", "late", "imported", "missed", "open", "upcoming"]

MARK_SYMBOL: dict[Mark, str] = {
    "done": "✓", "late": "L", "imported": "i", "missed": "✗", "open": "…", "upcoming": "·",
}
LEGEND = "✓ done  L filed late  i imported  ✗ missed  … can be filed now  · not yet"


def day_mark(win: Window, now: datetime, timing: str | None) -> Mark:
    """A day's mark from how its first report was filed (None: not filed) and its window.

    An unfiled day in its window or its grace period is `open` (it can still be filed); `late`
    only ever means a report that was filed late."""
    if timing is not None:
        return {"late": "late", "import": "imported"}.get(timing, "done")  # type: ignore[return-value]  # timing is one of Entry's Timing values; the dict's values are Marks
    state = window_state(win, now)
    return "open" if state in ("open", "late") else state


def day_marks(protocol: Protocol, now: datetime, filed: Mapping[date, str], first: date, last: date) -> list[Mark]:
    """The mark of each date from `first` to `last` (`filed`: date -> timing of its first report)."""
    tz = now.tzinfo
    assert tz is not None, "now must be an aware datetime"
    return [day_mark(window(protocol.schedule, d, tz), now, filed.get(d))
            for d in map(date.fromordinal, range(first.toordinal(), last.toordinal() + 1))]


def long_date(d: date) -> str:
    """Monday 16 March"""
    return f"{d:%A} {d.day} {d:%B}"


def short_date(d: date) -> str:
    """Mon 16 Mar"""
    return f"{d:%a} {d.day} {d:%b}"


def relative(d: date, today: date) -> str | None:
    """"Today", "Yesterday" or "Tomorrow"; None further away."""
    return {0: "Today", -1: "Yesterday", 1: "Tomorrow"}.get((d - today).days)


def day_phrase(d: date, today: date) -> str:
    """What a prompt's {day} becomes: "today", or the day named ("on Monday 16 March")."""
    return "today" if d == today else f"on {long_date(d)}"


def night_phrase(d: date, today: date) -> str:
    """What a prompt's {night} becomes: "last night", or "the night before Monday 16 March"."""
    return "last night" if d == today else f"the night before {long_date(d)}"


def render_prompt(text: str, d: date, today: date) -> str:
    """A protocol prompt for diary date `d`, read on calendar date `today`.

    Only the two placeholders are replaced (a prompt may hold other braces)."""
    return text.replace("{day}", day_phrase(d, today)).replace("{night}", night_phrase(d, today))


def report_name(d: date, today: date) -> str:
    """"Today's report", or "Yesterday's report — Mon 16 Mar —", or "The report for Mon 16 Mar"."""
    rel = relative(d, today)
    if rel == "Today":
        return "Today's report"
    if rel is not None:
        return f"{rel}'s report — {short_date(d)} —"
    return f"The report for {short_date(d)}"


def plural(n: int, word: str) -> str:
    """"1 entry", "2 entries", "1 day", "3 days"."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else f"{n} {word}s"


def compliance_words(s) -> str:
    """The compliance line: the figure counts days done or missed, never a day still open."""
    still = f" · {plural(s.still_open, 'day')} still open" if s.still_open else ""
    if s.compliance is None:
        return (f"Nothing counted yet{still.replace(' ·', ':')}" if still
                else "Nothing counted yet: a day counts once it is filed or over.")
    extra = "".join(f", {n} {what}" for n, what in ((s.late, "late"), (s.imported, "imported"),
                                                    (s.flagged, "with clock doubts")) if n)
    return f"Compliance {s.compliance:.0%}: {plural(s.done, 'day')} done{extra}, {s.missed} missed{still}"
