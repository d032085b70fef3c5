"""The hub's checks of an uploaded entry against its participant and protocol, and compliance.

Both reuse the device's own rules (diary_client.core.answers, diary_client.core.schedule), so a value or a
day is judged the same way on the device, on the hub and in the reports.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from diary_client.core import schedule as sch
from diary_client.core.answers import problems
from diary_client.core.clock import CLOCK_FLAGS
from diary_client.core.entry import Entry, filed_timing
from diary_client.core.protocol import Protocol, masked, parse_protocol, to_toml

MAX_INT = 2**62  # SQLite stores 64-bit integers: larger ones are refused, not crashed on


@lru_cache(maxsize=64)
def protocol_from(toml: str) -> Protocol:
    """Parsing TOML on every request would dominate ingest time: parse each text once."""
    return parse_protocol(toml, "hub protocol")


@lru_cache(maxsize=256)
def _spans(toml: str, start: date) -> tuple[sch.PhaseSpan, ...]:
    """A participant's phase spans, once per protocol text and day 1 (each entry of a batch asks)."""
    return tuple(sch.phase_spans(protocol_from(toml), start))


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def valid_zone(name: str) -> bool:
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@dataclass(frozen=True)
class Participant:
    """A participant as the hub knows them (the public read API for analysis)."""

    participant_id: str
    study_id: str
    protocol_version: int
    protocol_toml: str
    start: date | None  # day 1; None until the device enrols, if the coordinator gave none
    tz: str  # the participant's time zone: diary windows are local times
    unblinded: bool
    enrolled_at: str
    damaged: str | None = None  # why the stored record could not be read as is (its day 1 is then None)

    @property
    def protocol(self) -> Protocol:
        return protocol_from(self.protocol_toml)

    def local(self, now: datetime) -> datetime:
        return now.astimezone(zone(self.tz))


def spans_of(p: Participant) -> tuple[sch.PhaseSpan, ...]:
    """The participant's phase spans (they need a day 1), parsed and computed once per protocol and day 1."""
    assert p.start is not None, "a participant without a day 1 has no phases yet"
    return _spans(p.protocol_toml, p.start)


def released(p: Participant, now: datetime) -> bool:
    """May the participant's device know the true phases? (The device's own rule, on the hub's clock.)"""
    return sch.unblinded(p.protocol, p.start, p.local(now), p.unblinded)


@lru_cache(maxsize=64)
def _masked_toml(toml: str) -> str:
    return to_toml(masked(protocol_from(toml)))


def device_protocol(p: Participant, now: datetime) -> str:
    """The protocol text the participant's device gets: masked while a double blind holds."""
    if p.protocol.blinding == "double" and not released(p, now):
        return _masked_toml(p.protocol_toml)
    return p.protocol_toml


IMPORT_MISMARKED = "an imported entry is marked timing = import and source = import, and only such an entry is"
DEVICE_IMPORT = ("the study's protocol does not let a device import days ([schedule] device_import): paper or "
                 "legacy days come in through the coordinator (`diary hub import`)")


def timing_problem(entry: Entry, p: Participant, uploaded: bool) -> str | None:
    """Why the hub refuses how the entry says it was filed: an import marked as filed (or the other
    way round), a device's import the protocol does not allow (`uploaded`: it came over the
    network, not in a file the coordinator collected), or a report whose day's grace period was
    over, in the participant's registered zone, when it says it was saved (another zone set on
    the device reopens nothing)."""
    if (entry.timing == "import") != (entry.source == "import"):
        return IMPORT_MISMARKED
    if entry.timing == "import":
        return DEVICE_IMPORT if uploaded and not p.protocol.schedule.device_import else None
    grace_ends = sch.window(p.protocol.schedule, entry.diary_date, zone(p.tz)).grace_ends
    if entry.submitted_at > grace_ends:
        return (f"saved at {entry.submitted_at.isoformat()}, after the grace period of {entry.diary_date} ended "
                f"({grace_ends.isoformat()} in the participant's zone {p.tz}): that day is missed")
    return None


def zone_doubt(entry: Entry, p: Participant) -> str | None:
    """Why the hub doubts an entry marked on time: its day's window had closed in the participant's
    registered zone when it was saved (a device in another zone); None when it has no doubt."""
    if entry.timing != "on_time" or p.start is None:
        return None
    closes = sch.window(p.protocol.schedule, entry.diary_date, zone(p.tz)).closes
    if entry.submitted_at <= closes:
        return None
    return f"on time in the device's zone, but after the window closed in the participant's zone {p.tz} ({closes.isoformat()})"


def entry_problem(entry: Entry, p: Participant) -> str | None:
    """Why this participant's hub refuses the entry's content, or None if it fits the protocol."""
    if entry.study_id != p.study_id:
        return f"study {entry.study_id!r} is not this participant's study ({p.study_id})"
    if entry.protocol_version != p.protocol_version:
        return f"protocol version {entry.protocol_version} is not the hub's ({p.protocol_version})"
    if entry.seq >= MAX_INT or entry.study_day >= MAX_INT:
        return "seq or study_day is out of range"
    if p.start is None:
        return "the hub has no day 1 for this participant yet"
    protocol = p.protocol
    # sch.span_on over the cached spans
    span = next((s for s in _spans(p.protocol_toml, p.start) if entry.diary_date in s), None)
    if span is None:
        end = sch.end_date(protocol, p.start)
        return f"{entry.diary_date} is not a day of the study ({p.start} to {end})"
    day = sch.study_day(p.start, entry.diary_date)
    if entry.study_day != day:
        return f"study_day {entry.study_day} does not match {entry.diary_date} (day {day})"
    try:
        found = problems(protocol, span.phase.id, entry.answers)
    except (ArithmeticError, ValueError, TypeError):  # e.g. an integer too large for a float
        found = ["answers: a value is not a usable number"]
    if found:
        return found[0] + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
    return None


def tally_dict(t: sch.Tally) -> dict:
    return {"expected": t.expected, "done": t.done, "late": t.late, "missed": t.missed,
            "compliance": t.compliance, "on_time": t.on_time, "imported": t.imported, "flagged": t.flagged}


def compliance(p: Participant, entries: list[Entry], now: datetime, flags: Mapping[str, Collection[str]] | None = None,
               received_at: Mapping[str, str] | None = None) -> dict:
    """Done / late / missed (and on time, imported, flagged) overall and per phase, by the same
    code the device uses. `flags`: entry id -> its flags (the device's doubts); `received_at`:
    entry id -> when the hub received it (a doubted report counts only if it came in time)."""
    if p.start is None:
        return {"overall": None, "phases": {}}
    local, filed = p.local(now), filed_timing(entries)
    flags, received_at = flags or {}, received_at or {}
    protocol = p.protocol
    doubted = {e.diary_date: datetime.fromisoformat(received_at[e.id]) if e.id in received_at else None
               for e in entries if not e.supersedes and e.timing != "import" and set(flags.get(e.id, ())) & set(CLOCK_FLAGS)}
    unproven = sch.unproven_dates(protocol.schedule, zone(p.tz), doubted)
    phases = sch.tally_by_phase(protocol, p.start, local, filed, {e.diary_date for e in entries if flags.get(e.id)},
                                unproven)
    return {
        "overall": tally_dict(sch.combined(phases.values())),
        "phases": {ph_id: tally_dict(t) for ph_id, t in phases.items()},
    }


def phase_dates(p: Participant) -> list[dict]:
    """The participant's phases with their true labels and dates (coordinators; after unblinding)."""
    if p.start is None:
        return []
    return [
        {"id": s.phase.id, "label": s.phase.label, "role": s.phase.role, "first_day": s.first_day,
         "last_day": s.last_day, "start": s.start.isoformat(), "end": s.end.isoformat()}
        for s in sch.phase_spans(p.protocol, p.start)
    ]
