"""The hub's answers as the device reads them: msgspec Structs decoded at the edge (`sync.wire` is the hub's side)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from msgspec import Meta, Raw, Struct

from sync import HASH

# Unknown fields are passed over (msgspec's default): a newer hub may add some. Each Struct bears the
# name of the `sync.wire` model it reads; tests/test_sync_answers.py checks that the two agree.


class EnrollResponse(Struct):
    participant_id: str
    token: str
    protocol: str  # the study protocol as TOML text
    study_id: str
    start: date


class PhaseDates(Struct):
    id: str
    label: str
    role: str
    first_day: int
    last_day: int
    start: date
    end: date


class MeResponse(Struct):
    participant_id: str
    study_id: str
    protocol_version: int
    entries: int
    last_received_at: str | None
    unblinded: bool
    server_time: Annotated[datetime, Meta(tz=True)]
    start: date | None = None
    phases: list[PhaseDates] | None = None


class ProtocolResponse(Struct):
    study_id: str
    version: int
    protocol: str


class Rejection(Struct):
    id: str
    error: str
    retry: bool = False


class Receipt(Struct):
    id: str
    received_at: str
    content_hash: str


class EntriesResponse(Struct):
    accepted: list[str]
    duplicate: list[str]
    rejected: list[Rejection]
    receipts: list[Receipt]


class EventsResponse(Struct):
    accepted: list[str]
    duplicate: list[str]
    rejected: list[Rejection]
    receipts: list[Receipt]


class EntriesPage(Struct):
    """A page of the participant's history: the entries stay raw JSON here, validated as entries
    (pydantic, through `diary_client.core.entry`) only when a page holds some."""

    entries: list[Raw]
    receipts: list[Receipt]
    next_after: int | None

    def __post_init__(self) -> None:
        if len(self.receipts) != len(self.entries):
            raise ValueError(f"{len(self.entries)} entries but {len(self.receipts)} receipts")


class ChainHead(Struct):
    length: Annotated[int, Meta(ge=0, le=2**62)]
    hash: Annotated[str, Meta(pattern=HASH)]


class ReconcileResponse(Struct):
    differ: list[str]
    missing: list[str]
    head: ChainHead | None
