"""Events besides the daily report: adverse events, other medications and study-drug dose changes.

Each is a frozen dataclass (the wire contract), immutable like an entry: a correction is a new
event of the same kind that `supersedes` the old one with a `reason`. Built directly from trusted
values (the device's store, the hub's stored bodies), or through `parse_event` from outside
input, which pydantic validates first. The rules an event must meet (`event_problem`) are here
once, for the device, the hub and the import.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from diary_client.core import bounds
from diary_client.core import constraints as c
from diary_client.core.entry import _iso, check_record

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from diary_client.core.protocol import Protocol
    from diary_client.core.schedule import PhaseSpan

Kind = Literal["adverse_event", "medication", "dose"]
KINDS: tuple[Kind, ...] = ("adverse_event", "medication", "dose")
Severity = Literal["mild", "moderate", "severe"]
SEVERITIES: tuple[Severity, ...] = ("mild", "moderate", "severe")
Purpose = Literal["rescue", "regular"]
PURPOSES: tuple[Purpose, ...] = ("rescue", "regular")
MAX_TEXT = 200  # a name, a dose, what happened: a line, not a letter
FOLLOW_UP = timedelta(days=14)
"""Events may be dated, and filed, up to this long after the study's last day (an adverse event
that begins just after the last dose is still the study's to know)."""


@dataclass(frozen=True, kw_only=True)
class _Common:
    """What every event holds (the kind-specific fields follow in each kind's class)."""

    __pydantic_config__ = {"extra": "forbid"}

    id: str
    participant_id: c.Name
    study_id: c.Name
    submitted_at: datetime
    device_id: c.Name
    seq: Annotated[int, c.Ge(0)]
    supersedes: str | None = None
    reason: Annotated[str, c.MaxLen(2000)] | None = None

    def __post_init__(self) -> None:
        check_record(self, "an event")

    def wire(self) -> dict[str, Any]:
        """The event as JSON values (the content hash is taken over these)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = _iso(v) if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
        return out


@dataclass(frozen=True, kw_only=True)
class AdverseEvent(_Common):
    """Something unwanted that happened to the participant; `resolved` None: still going on."""

    kind: Literal["adverse_event"] = "adverse_event"
    what: Annotated[str, c.MinLen(1), c.MaxLen(MAX_TEXT)]
    started: date
    severity: Severity
    serious: bool = False
    resolved: date | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resolved is not None and self.resolved < self.started:
            raise ValueError(f"resolved {self.resolved} is before started {self.started}")

    @property
    def day(self) -> date:
        return self.started


@dataclass(frozen=True, kw_only=True)
class Medication(_Common):
    """A medicine taken besides the study drug: a rescue painkiller, or one taken regularly."""

    kind: Literal["medication"] = "medication"
    name: Annotated[str, c.MinLen(1), c.MaxLen(MAX_TEXT)]
    dose: Annotated[str, c.MaxLen(MAX_TEXT)] | None = None
    taken: datetime
    purpose: Purpose = "rescue"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.taken.tzinfo is None or self.taken.utcoffset() is None:
            raise ValueError("taken needs a UTC offset")

    @property
    def day(self) -> date:
        return self.taken.date()  # the participant's own calendar date (the offset she took it at)


@dataclass(frozen=True, kw_only=True)
class Dose(_Common):
    """A change of the study drug's dose (a titration step) from a date on."""

    kind: Literal["dose"] = "dose"
    amount: Annotated[str, c.MinLen(1), c.MaxLen(MAX_TEXT)]
    from_date: date

    @property
    def day(self) -> date:
        return self.from_date


Event: TypeAlias = AdverseEvent | Medication | Dose
_CLASSES: dict[str, type[Event]] = {"adverse_event": AdverseEvent, "medication": Medication, "dose": Dose}
KIND_NAMES = {"adverse_event": "adverse event", "medication": "medication", "dose": "dose change"}
A_KIND = {"adverse_event": "an adverse event", "medication": "a medication", "dose": "a dose change"}


def from_wire(doc: dict[str, Any]) -> Event:
    """An event from its `wire()` form, as stored by this program (no validation beyond the class's own)."""
    cls = _CLASSES[doc["kind"]]
    values = dict(doc)
    for f in fields(cls):
        v = values.get(f.name)
        if isinstance(v, str) and f.name in ("submitted_at", "taken"):
            values[f.name] = datetime.fromisoformat(v)
        elif isinstance(v, str) and f.name in ("started", "resolved", "from_date"):
            values[f.name] = date.fromisoformat(v)
    return cls(**values)


def stored_event(body: str | bytes) -> Event:
    """An event from JSON that this program validated and wrote itself."""
    return from_wire(json.loads(body))


@cache
def _adapter() -> TypeAdapter[Event]:
    from pydantic import Field, TypeAdapter

    return TypeAdapter(Annotated[AdverseEvent | Medication | Dose, Field(discriminator="kind")])


def event_type() -> Any:
    """The discriminated union as pydantic reads it (for the hub's wire models)."""
    from pydantic import Field

    return Annotated[AdverseEvent | Medication | Dose, Field(discriminator="kind")]


def parse_event(data: Any) -> Event:
    """An event from outside input (an API body, a collected file), validated by pydantic."""
    return _adapter().validate_python(data)


_CANON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(event: Event) -> tuple[str, str]:
    """The event's canonical JSON and its SHA-256 (UnicodeEncodeError for lone surrogates)."""
    text = _CANON.encode(event.wire())
    return text, hashlib.sha256(text.encode()).hexdigest()


def content_hash(event: Event) -> str:
    """SHA-256 of the event's canonical JSON: equal content, equal hash, on device and hub."""
    return canonical(event)[1]


def current(events: Iterable[Event]) -> list[Event]:
    """The events that stand: every one not superseded by a correction, in the order given."""
    events = list(events)
    superseded = {e.supersedes for e in events if e.supersedes}
    return [e for e in events if e.id not in superseded]


# -- the rules ------------------------------------------------------------------------------------

def last_day(protocol: Protocol, start: date) -> date:
    """The last date an event may be about, and filed on: the study's last day plus FOLLOW_UP."""
    from diary_client.core.schedule import end_date

    return end_date(protocol, start) + FOLLOW_UP


def _dates(e: Event) -> list[tuple[str, date]]:
    if isinstance(e, AdverseEvent):
        return [("started", e.started)] + ([("resolved", e.resolved)] if e.resolved else [])
    if isinstance(e, Medication):
        return [("taken", e.taken.date())]
    return [("from", e.from_date)]


def event_problem(e: Event, protocol: Protocol, start: date, today: date, allowance: timedelta = timedelta(0)) -> str | None:
    """Why the event cannot be filed for a participant of `protocol` whose day 1 is `start`, on
    `today` (the device's date; the hub's, with a day's `allowance` for time zones), or None.

    Its dates lie within any date's window (diary_client.core.bounds), from day 1 to the study's
    last day plus FOLLOW_UP, and not after today: an event is reported once it has happened."""
    if e.study_id != protocol.id:
        return f"study {e.study_id!r} is not this participant's study ({protocol.id})"
    problem = bounds.instant_problem(e.submitted_at)
    if problem:
        return f"submitted_at {problem}"
    end = last_day(protocol, start)
    for name, d in _dates(e):
        problem = bounds.date_problem(d)
        if problem:
            return f"{name} {problem}"
        if d < start:
            return f"{name} {d} is before day 1 ({start}): only what happens during the study is reported here"
        if d > end:
            return f"{name} {d} is after the study's follow-up ({end})"
        if d > today + allowance:
            return f"{name} {d} has not come yet (today is {today}): report an event once it has happened"
    return None


def period_of(protocol: Protocol, start: date, e: Event) -> PhaseSpan | None:
    """The phase the event's date falls in (AE: started; medication: taken; dose: from), or None
    in the follow-up after the last day."""
    from diary_client.core.schedule import span_on

    return span_on(protocol, start, e.day)


def correction_problem(new: Event, old: Event | None, corrected_by: str | None) -> str | None:
    """Why `new` cannot correct `old` (None: the hub or device lacks it), or None."""
    if old is None:
        return f"it corrects event {new.supersedes}, which is not there"
    if old.kind != new.kind:
        return f"it corrects event {old.id}, which is {A_KIND[old.kind]}, not {A_KIND[new.kind]}"
    if old.participant_id != new.participant_id:
        return f"it corrects event {old.id}, which is another participant's"
    if corrected_by is not None:
        return f"event {old.id} is already corrected by event {corrected_by}: correct the newest one"
    return None
