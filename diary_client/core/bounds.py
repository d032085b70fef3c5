"""The sane window for every date and time that comes from outside: start dates, `submitted_at`,
diary dates, DIARY_NOW. One place, so the device, the hub and the import refuse the same values.

Nothing here reads the clock: "today" comes in as an argument.

- Any instant or date: from 2000-01-01 up to, not including, 2100-01-01. Far inside what
  `datetime` can hold, so adding a study's length never overflows (a start of 9999-12-20 made
  every reader of the hub fail).
- A participant's day 1: from 2000-01-01 to two years after today (a study may be planned ahead,
  not centuries ahead).
- A diary day: within the participant's study (the hub checks that against day 1), and never
  after the hub's own date plus one day (time zones): a report for a day to come is refused.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

EARLIEST = date(2000, 1, 1)
END = date(2100, 1, 1)  # exclusive
START_AHEAD = timedelta(days=731)  # two years
FUTURE_ALLOWANCE = timedelta(days=1)


def date_problem(d: date) -> str | None:
    """Why a date is outside the window any diary date may have, or None."""
    if not EARLIEST <= d < END:
        return f"{d.isoformat()} is outside {EARLIEST} to {END - timedelta(days=1)}"
    return None


def instant_problem(t: datetime) -> str | None:
    """Why a date-time is outside the window, or None (judged by its own calendar date)."""
    return date_problem(t.date())


def start_problem(start: date, today: date) -> str | None:
    """Why this day 1 is refused (before 2000, or more than two years after `today`), or None."""
    latest = today + START_AHEAD
    if not EARLIEST <= start <= latest:
        return f"day 1 {start.isoformat()} is outside {EARLIEST} to {latest} (two years from today)"
    return None


NOT_COME_YET = "has not come yet"
"""The words of the one refusal that time cures (the hub's clock behind): `time_cures` finds them."""


def future_day_problem(day: date, today: date) -> str | None:
    """Why a report for `day` is refused on `today` (the hub's date): it is for a day to come."""
    if day > today + FUTURE_ALLOWANCE:
        return f"{day.isoformat()} {NOT_COME_YET} (it is {today.isoformat()} on the hub): a report is for a day that has begun"
    return None


def time_cures(problem: str) -> bool:
    """Is this refusal one that a later try may not meet (a day to come on the hub's clock)?"""
    return NOT_COME_YET in problem


def entry_problem(diary_date: date, submitted_at: datetime) -> str | None:
    """Why an entry's own dates are outside the window (its diary date, or when it was saved), or None."""
    problem = date_problem(diary_date)
    if problem:
        return f"diary_date {problem}"
    problem = instant_problem(submitted_at)
    return f"submitted_at {problem}" if problem else None
