"""Answer values: parsing typed text (command line, CSV) and checking answers against a protocol."""

from __future__ import annotations

import math

from diary_client.core.entry import Value
from diary_client.core.protocol import Item, Protocol

YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
MAX_TEXT = 2000


class AnswerError(ValueError):
    """An answer that does not fit its item; the message names the item and the problem."""


def parse_text(item: Item, text: str) -> Value:
    """One typed value -> its stored form. Empty text means not answered (None)."""
    t = text.strip()
    if t == "" and item.kind != "multi":
        return None
    try:
        match item.kind:
            case "vas":
                if not t.isdigit():
                    raise AnswerError(f"{item.id}: {text!r} is not a whole number from 0 to 100")
                return int(t)
            case "number":
                v = float(t)
                return int(v) if v.is_integer() and "." not in t else v
            case "yesno":
                if t.lower() in YES:
                    return True
                if t.lower() in NO:
                    return False
                raise AnswerError(f"{item.id}: {text!r} is not yes or no")
            case "multi":
                return [p.strip() for p in t.split(";") if p.strip()] if t else []
            case _:
                return text if item.kind == "text" else t
    except ValueError as e:
        if isinstance(e, AnswerError):
            raise
        raise AnswerError(f"{item.id}: {text!r} is not a number") from None


def value_problem(item: Item, v: Value) -> str | None:
    """Why `v` is not a valid answer to `item`, or None if it is."""
    if v is None:
        return None if item.optional else "is required"
    match item.kind:
        case "vas":
            if isinstance(v, bool) or not isinstance(v, int):
                return f"must be a whole number from 0 to 100, not {v!r}"
            if not 0 <= v <= 100:
                return f"{v} is outside 0–100"
        case "number":
            if isinstance(v, bool) or not isinstance(v, int | float):
                return f"must be a number, not {v!r}"
            if isinstance(v, float) and not math.isfinite(v) or isinstance(v, int) and abs(v) > 1e15:
                return f"{v!r} is not a usable number"
            if item.min is not None and v < item.min or item.max is not None and v > item.max:
                return f"{v} is outside {item.min}–{item.max}"
        case "yesno":
            if not isinstance(v, bool):
                return f"must be yes or no, not {v!r}"
        case "choice":
            if v not in (item.options or []):
                return f"{v!r} is not one of: {', '.join(item.options or [])}"
        case "multi":
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                return f"must be a list of options, not {v!r}"
            bad = [x for x in v if x not in (item.options or [])]
            if bad:
                return f"{bad[0]!r} is not one of: {', '.join(item.options or [])}"
            if len(set(v)) != len(v):
                return "names the same option twice"
        case "text":
            if not isinstance(v, str):
                return f"must be text, not {v!r}"
            if len(v) > MAX_TEXT:
                return f"is longer than {MAX_TEXT} characters"
    return None


def problems(protocol: Protocol, phase_id: str, answers: dict[str, Value], last_day: bool = False) -> list[str]:
    """Every reason the answers are not a valid report for a day in `phase_id` (empty if valid);
    `last_day`: the day is the phase's last (`Protocol.split_items`)."""
    out = []
    asked, not_asked = protocol.split_items(phase_id, last_day)
    for key in answers.keys() - protocol.item_ids:
        out.append(f"{key}: no such item in study {protocol.id}")
    for item in not_asked:
        if answers.get(item.id) is not None:
            out.append(f"{item.id}: is not asked in this period")  # no phase name: it may be blinded
    for item in asked:
        v = answers.get(item.id)
        if item.kind == "vas" and type(v) is int and 0 <= v <= 100:
            continue  # the common case, checked without the general rules below
        if item.id not in answers and not item.optional:
            out.append(f"{item.id}: is required")
            continue
        why = value_problem(item, v)
        if why:
            out.append(f"{item.id}: {why}")
    return out


def check(protocol: Protocol, phase_id: str, answers: dict[str, Value], last_day: bool = False) -> None:
    """AnswerError naming a bad value before the missing ones, and every missing item."""
    found = problems(protocol, phase_id, answers, last_day)
    if not found:
        return
    missing = [p.removesuffix(": is required") for p in found if p.endswith(": is required")]
    bad = [p for p in found if not p.endswith(": is required")]
    if not bad:
        raise AnswerError(f"{missing[0]}: is required" if len(missing) == 1
                          else f"{', '.join(missing)}: are required (no answer given)")
    extra = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    raise AnswerError(bad[0] + extra + (f"; also missing: {', '.join(missing)}" if missing else ""))


def format_value(item: Item, v: Value) -> str:
    """The stored value as typed text, the inverse of parse_text (used by export and review)."""
    if v is None:
        return ""
    if item.kind == "yesno":
        return "yes" if v else "no"
    if item.kind == "multi":
        return ";".join(v)  # type: ignore[arg-type]  # a multi item's value is a list of its options (answers.check)
    return str(v)


def parse_answers(protocol: Protocol, phase_id: str, texts: dict[str, str], last_day: bool = False) -> dict[str, Value]:
    """Typed ITEM -> text pairs for a day in `phase_id` -> checked answers (AnswerError if not);
    `last_day`: the day is the phase's last (`Protocol.split_items`).

    An empty text is "not asked" for an item not asked that day and "skipped" for an optional one.
    """
    asked = {i.id: i for i in protocol.items_on(phase_id, last_day)}
    answers: dict[str, Value] = {}
    for key, text in texts.items():
        item = asked.get(key)
        if item is None:
            if key not in protocol.item_ids:
                raise AnswerError(f"{key}: no such item in study {protocol.id}")
            if text.strip():
                raise AnswerError(f"{key}: is not asked in this period")
            continue
        answers[key] = parse_text(item, text)
    check(protocol, phase_id, answers, last_day)
    return answers
