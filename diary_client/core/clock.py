"""The one place that reads the clock: local time zone, DIARY_NOW, and the clock guard's readings.

A reading pairs the wall clock with the monotonic boot clock and the boot id, so the device can
tell a wall clock that was moved (the boot clock did not move with it) from time that passed.
The source of readings is injectable (`use`): tests give a fake wall/boot-clock pair instead of
sleeping or setting the machine's clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Protocol

import msgspec

from diary_client.core import bounds

JUMP_TOLERANCE = timedelta(minutes=5)
"""How far the wall clock may drift against the boot clock between two records before it is a jump."""

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

CLOCK_FLAGS = ("clock_override", "clock_jump", "clock_off", "clock_backwards")
"""The clock guard's doubts about an entry: its time is not vouched for by the device's clock."""
MOVED_FLAGS = ("clock_jump", "clock_off", "clock_backwards")
"""The doubts that say the device's clock itself was wrong: a report carrying one fills its day only
if a hub received it before the day's grace ended. On the device, `clock_override` (DIARY_NOW, a
switch for tests and demos) only keeps a report from counting as on time; on the hub, whose
clock no device sets, every clock flag counts (CLOCK_FLAGS)."""
ZONE_FLAG = "zone_change"
"""An entry made in another zone than the registered one: its day is right, "on time" is not vouched for."""


class ClockError(ValueError):
    pass


class Source(Protocol):
    """Where readings come from: the machine, or a test's fake."""

    def wall(self) -> datetime: ...  # aware, UTC
    def boot(self) -> float: ...  # seconds on a clock that never jumps (it restarts at boot)
    def boot_id(self) -> str | None: ...  # changes at each boot; None where the system has none


class SystemSource:
    def wall(self) -> datetime:
        return datetime.now(UTC)

    def boot(self) -> float:
        # CLOCK_BOOTTIME also counts suspended time (a laptop lid closed overnight), monotonic does not.
        boottime = getattr(time, "CLOCK_BOOTTIME", None)
        return time.clock_gettime(boottime) if boottime is not None else time.monotonic()

    def boot_id(self) -> str | None:
        if getattr(time, "CLOCK_BOOTTIME", None) is None:
            return None  # a monotonic clock that stops in sleep would make every night a jump
        try:
            return BOOT_ID.read_text().strip() or None
        except OSError:
            return None


_source: Source = SystemSource()


@contextmanager
def use(source: Source) -> Iterator[Source]:
    """Read the clock from `source` inside the block (tests: a fake wall and boot clock)."""
    global _source
    before, _source = _source, source
    try:
        yield source
    finally:
        _source = before


class Reading(msgspec.Struct, frozen=True):
    """The clocks at one moment: what the clock guard keeps with each save and sync."""

    wall: datetime  # UTC, the machine's wall clock (never DIARY_NOW)
    boot: float
    boot_id: str | None
    overridden: bool  # DIARY_NOW is set: the diary's "now" is not the machine's

    def as_dict(self) -> dict:
        return {"wall": self.wall.isoformat(), "boot": self.boot, "boot_id": self.boot_id}


def reading() -> Reading:
    return Reading(_source.wall(), _source.boot(), _source.boot_id(), bool(os.environ.get("DIARY_NOW")))


def jump(before: dict, now: Reading) -> timedelta | None:
    """How far the wall clock moved against the boot clock since the reading `before` (as_dict),
    if more than JUMP_TOLERANCE; None when it kept time. After a reboot the boot clock starts
    again, so only a wall clock now earlier than the last record's can be caught; so too where the
    system has no boot id or boot clock that counts suspended time (not Linux)."""
    try:
        then = datetime.fromisoformat(before["wall"])
        same_boot = now.boot_id is not None and before.get("boot_id") == now.boot_id
        elapsed = now.boot - float(before["boot"]) if same_boot else None
    except (KeyError, TypeError, ValueError):
        return None  # a record from before the guard kept readings
    if elapsed is None or elapsed < 0:
        moved = now.wall - then
        return moved if moved < -JUMP_TOLERANCE else None
    moved = now.wall - (then + timedelta(seconds=elapsed))
    return moved if abs(moved) > JUMP_TOLERANCE else None


class ZoneSeen(msgspec.Struct, frozen=True):
    """The participant's registered zone (kept at enrolment) and the zone the device is in now."""

    registered: str
    current: str

    @property
    def changed(self) -> bool:
        return self.current != self.registered


def zone_name(tz: tzinfo | None) -> str:
    """An IANA name where the zone has one (Asia/Tokyo), else its offset now (UTC+09:00)."""
    key = getattr(tz, "key", None)
    return key if key else str(datetime.now(tz).strftime("UTC%z")) if tz else "UTC"


def zone(name: str | None) -> tzinfo | None:
    """The zone of an IANA name; None for no name or one this machine does not know."""
    if not name:
        return None
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return None


def local_tz() -> tzinfo:
    """The machine's time zone as a real zone (with DST rules), not a fixed offset."""
    try:
        import tzlocal

        return tzlocal.get_localzone()
    except Exception:  # no zone configured: fall back to the current fixed offset
        return datetime.now().astimezone().tzinfo  # type: ignore[return-value]  # an aware now() always has a zone


QUIET = "DIARY_NOW_QUIET"  # set (to anything) by a test suite that sets DIARY_NOW on purpose for every command


def override_notice() -> str | None:
    """The line every `diary` command writes to stderr while DIARY_NOW moves its clock (a value
    left over in a shell would otherwise shift every day silently); None when the clock is the
    machine's, DIARY_NOW is not a date-time (the command then says so), or DIARY_NOW_QUIET is set."""
    fake = os.environ.get("DIARY_NOW")
    if not fake or os.environ.get(QUIET):
        return None
    try:
        moved = now()
    except ClockError:
        return None
    real = _source.wall().astimezone(moved.tzinfo)
    return (f"diary: DIARY_NOW={fake} is in force: the clock reads {moved:%Y-%m-%d %H:%M} "
            f"(the machine's: {real:%Y-%m-%d %H:%M}); unset DIARY_NOW to use the real clock")


def now(tz: tzinfo | None = None) -> datetime:
    """Aware local now; DIARY_NOW (ISO-8601 local date-time, or with an offset) overrides it."""
    tz = tz or local_tz()
    fake = os.environ.get("DIARY_NOW")
    if not fake:
        return _source.wall().astimezone(tz)
    try:
        t = datetime.fromisoformat(fake)
    except ValueError:
        raise ClockError(f"DIARY_NOW={fake!r} is not an ISO-8601 date-time like 2026-03-01T19:30") from None
    problem = bounds.instant_problem(t)
    if problem:
        raise ClockError(f"DIARY_NOW={fake!r}: {problem}")
    return t.replace(tzinfo=tz) if t.tzinfo is None else t.astimezone(tz)
