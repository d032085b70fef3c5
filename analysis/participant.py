"""`ParticipantData`: what analysis receives of one participant (id, protocol, day 1, entries, time zone, adverse events, sequence)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Literal

import msgspec

from diary_client.core.entry import Entry
from diary_client.core.protocol import Protocol

Severity = Literal["mild", "moderate", "severe"]
SEVERITIES: tuple[Severity, ...] = ("mild", "moderate", "severe")


class AdverseEvent(msgspec.Struct, frozen=True):
    """An adverse event as the harms table counts it (the current version of a corrected event)."""

    event_id: str
    started: date  # its period is the one this date falls in
    severity: Severity
    serious: bool = False
    resolved: date | None = None
    what: str = ""


class ParticipantData(msgspec.Struct, frozen=True):
    """One participant's study as the reports read it; the hub yields these one at a time."""

    participant_id: str
    protocol: Protocol
    start: date  # day 1
    entries: Sequence[Entry]  # every stored entry, corrections and superseded ones included
    tz: tzinfo | None = None  # the participant's zone (diary windows are local times); None: `now` as given
    adverse_events: tuple[AdverseEvent, ...] = ()  # her current adverse events (a correction replaces its original)
    withdrawn: date | None = None  # the day she withdrew: no day from it on counts as taken part
    # her sequence of phase ids in a randomized design (`protocol` is then her schedule expanded into
    # periods, `design.expand`); None in the fixed design, where `protocol` is the study's own
    sequence: tuple[str, ...] | None = None

    def local(self, now: datetime) -> datetime:
        """`now` as the participant's clock shows it."""
        return now if self.tz is None else now.astimezone(self.tz)
