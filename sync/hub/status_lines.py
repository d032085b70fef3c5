"""`hub status` as text: one line of at most 80 columns per participant, or the long form (`--wide`).

The short line holds what a coordinator scans a roster for: who, which study day of how many,
the period by its true label, how long since the last upload, compliance and the marks that ask
for a call. Everything else (late, missed, imported, quarantined, flagged days) is in `--wide`
and `--json`. Ids and labels come from outside and are shown through `printable()`.
"""

from __future__ import annotations

from datetime import datetime

from diary_client.core.printable import printable
from sync.hub.rules import Participant, spans_of

WIDTH = 80
ID_WIDTH, DAY_WIDTH, PERIOD_WIDTH, AGO_WIDTH, COMP_WIDTH = 12, 9, 15, 9, 4
HEADER = (f"{'participant':<{ID_WIDTH}} {'day':<{DAY_WIDTH}} {'period':<{PERIOD_WIDTH}} "
          f"{'upload':<{AGO_WIDTH}} {'comp':>{COMP_WIDTH}}  marks")


def position(p: Participant, now: datetime) -> dict:
    """Where the participant is in the study today (in their zone): `study_day` (1-based, None before
    day 1, after the last day or without one), `days_total`, and `period` (`{"id", "label"}` of the
    period today falls in, its true label) or None; `stage`: no_day_1, before, running or finished."""
    if p.start is None:
        return {"stage": "no_day_1", "study_day": None, "days_total": None, "period": None}
    spans = spans_of(p)
    today, total = p.local(now).date(), spans[-1].last_day if spans else 0
    span = next((s for s in spans if today in s), None)
    stage = "running" if span else "before" if today < p.start else "finished"
    return {"stage": stage, "study_day": (today - p.start).days + 1 if span else None, "days_total": total,
            "period": {"id": span.phase.id, "label": span.phase.label} if span else None}


def ago(then: str | None, now: datetime) -> str:
    """A receipt time as a person reads it: "just now", "12 min ago", "5 h ago", "3 d ago", "never"."""
    if not then:
        return "never"
    seconds = (now - datetime.fromisoformat(then)).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600:.0f} h ago"
    return f"{seconds // 86400:.0f} d ago"


def cut(text: str, width: int) -> str:
    """`text` in at most `width` columns, an ellipsis where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def short_line(r: dict, now: datetime) -> str:
    """One participant in at most 80 columns (a row of `hub status --json`)."""
    pid = cut(printable(r["participant_id"]), ID_WIDTH)
    head = f"{pid:<{ID_WIDTH}} "
    if r["start"] is None:
        what = f"DAMAGED: {r['problem']}" if r["problem"] else "no day 1 yet: waiting for the device or a file"
        return cut(head + printable(what), WIDTH)
    stage, total = r["stage"], r["days_total"]
    day = {"before": "before", "finished": "ended"}.get(stage, f"d {r['study_day']}/{total}")
    period = (r["period"] or {}).get("label") or {"before": f"from {r['start']}", "finished": "finished"}.get(stage, "")
    comp = "—" if r["compliance"] is None else f"{r['compliance']:.0%}"
    line = (f"{head}{day:<{DAY_WIDTH}} {cut(printable(period), PERIOD_WIDTH):<{PERIOD_WIDTH}} "
            f"{ago(r['last_received_at'], now):<{AGO_WIDTH}} {comp:>{COMP_WIDTH}}")
    return line + fitted_marks(short_marks(r), WIDTH - len(line))


def short_marks(r: dict) -> list[str]:
    """The marks for the short line: no upload for days already says yesterday's report is not here."""
    marks = [m for m in r["marks"] if not (r["stale"] and r["missed_yesterday"] and m == "missed yesterday")]
    # "unblinded" first: short, and a lifted blind is what a coordinator must not miss mid-study.
    return ((["unblinded"] if r["unblinded"] else []) + marks
            + ([f"DAMAGED: {printable(r['problem'])}"] if r["problem"] else []))


def fitted_marks(marks: list[str], room: int) -> str:
    """"  ! a; b" in `room` columns: whole marks only, then how many more `--wide` shows."""
    for n in range(len(marks), 0, -1):
        more = len(marks) - n
        text = "  ! " + "; ".join(marks[:n]) + (f"; +{more} (--wide)" if more else "")
        if len(text) <= room:
            return text
    return cut(f"  ! {len(marks)} marks (--wide)", room) if marks else ""


def wide_line(r: dict) -> str:
    """One participant with every count (`hub status --wide`), as long as it needs."""
    head = f"{printable(r['participant_id']):<12} {printable(r['study_id']):<10} "
    if r["start"] is None:
        return head + (f"DAMAGED: {printable(r['problem'])}" if r["problem"] else
                       "no day 1 yet: waiting for the device to enrol or a collected file")
    comp = "—" if r["compliance"] is None else f"{r['compliance']:.0%}"
    where = f"day {r['study_day']}/{r['days_total']}" if r["study_day"] else r["stage"]
    period = f" {printable(r['period']['label'])}" if r["period"] else ""
    marks = "".join(f"  ! {m}" for m in r["marks"])
    return (head + f"{where}{period}  entries {r['entries']:>4}  compliance {comp:>4}  "
            f"late {r['late']:>3}  missed {r['missed']:>3}  imported {r['imported']:>3}  "
            f"quarantined {r['quarantined']:>3}  flagged {r['flagged']:>3} ({r['flagged_days']} days)  "
            f"last {r['last_received_at'] or 'never'}{'  unblinded' if r['unblinded'] else ''}{marks}"
            + (f"  DAMAGED: {printable(r['problem'])}" if r["problem"] else ""))
