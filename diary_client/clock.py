"""The one place that reads the clock: local time zone, and DIARY_NOW for tests and demos."""

from __future__ import annotations

import os
from datetime import datetime, tzinfo


class ClockError(ValueError):
    pass


def local_tz() -> tzinfo:
    """The machine's time zone as a real zone (with DST rules), not a fixed offset."""
    try:
        import tzlocal

        return tzlocal.get_localzone()
    except Exception:  # no zone configured: fall back to the current fixed offset
        return datetime.now().astimezone().tzinfo  # type: ignore[return-value]


def now(tz: tzinfo | None = None) -> datetime:
    """Aware local now; DIARY_NOW (ISO-8601 local date-time, or with an offset) overrides it."""
    tz = tz or local_tz()
    fake = os.environ.get("DIARY_NOW")
    if not fake:
        return datetime.now(tz)
    try:
        t = datetime.fromisoformat(fake)
    except ValueError:
        raise ClockError(f"DIARY_NOW={fake!r} is not an ISO-8601 date-time like 2026-03-01T19:30") from None
    return t.replace(tzinfo=tz) if t.tzinfo is None else t.astimezone(tz)
