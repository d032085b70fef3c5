"""The hub's HTTP wire models (requests and responses), apart from the domain's Entry; the device
reads the answers as `sync.client.answers`, both sides' rules (`ids_digest`) are in `sync`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeAlias

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from diary_client.core.entry import Entry
from diary_client.core.event import AdverseEvent, Dose, Medication
from sync import HASH, MAX_BATCH, MAX_RECONCILE_IDS

CODE_PATTERN = r"^[ \t-]*(?:[A-HJKMNPQRT-Ya-hjkmnpqrt-y346-9][ \t-]*){8}$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnrollRequest(_Wire):
    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN,
                      description="The one-time code, e.g. ABCD-EFGH: 8 of ABCDEFGHJKMNPQRTUVWXY346789, "
                                  "any case, spaces and dashes anywhere")
    device: str = Field(min_length=1, max_length=200, description="A label for this device")
    device_id: str | None = Field(None, pattern=UUID_PATTERN, description="The device's id (a UUID, kept from before enrolment): "
                                  "the same device redeeming the same code again within 10 minutes gets a new token")
    participant_id: str | None = Field(None, max_length=100, description="Refuse the code unless it is this participant's")
    start: date | None = Field(None, description="Day 1, if the coordinator set none")
    timezone: str | None = Field(None, max_length=64, description="IANA zone of the device, e.g. Europe/Berlin")
    today: date | None = Field(None, description="The device's own date: day 1 when neither the coordinator nor "
                                                 "`start` set one (the hub's date if the two differ by more than a day)")


class EnrollResponse(_Wire):
    participant_id: str
    token: str
    protocol: str = Field(description="The study protocol as TOML text")
    study_id: str
    start: date


class EntryFlag(_Wire):
    entry_id: str = Field(max_length=100)
    flag: str = Field(min_length=1, max_length=50, description="e.g. clock_off, clock_backwards")
    detail: str = Field("", max_length=1000)


class EntriesRequest(_Wire):
    entries: list[Entry] = Field(max_length=MAX_BATCH)
    flags: list[EntryFlag] = Field(default_factory=list, max_length=2 * MAX_BATCH,
                                   description="The device's doubts about the batch's entries (a clock that was off)")


class Rejection(_Wire):
    id: str
    error: str
    retry: bool = Field(False, description="Time may cure the refusal (a day to come on the hub's clock): "
                                           "the device sends the entry again at later syncs")


class Receipt(_Wire):
    id: str
    received_at: str
    content_hash: str


class EntriesResponse(_Wire):
    accepted: list[str]
    duplicate: list[str]
    rejected: list[Rejection]
    receipts: list[Receipt] = Field(description="For every accepted and duplicate entry")


class EntriesPage(_Wire):
    entries: list[Entry]
    receipts: list[Receipt] = Field(description="One per entry, in the same order")
    next_after: int | None = Field(description="Pass as `after` for the next page (how many of the participant's "
                                               "entries came before it); null on the last page")


    @model_validator(mode="after")
    def _one_receipt_each(self) -> EntriesPage:
        if len(self.receipts) != len(self.entries):
            raise ValueError(f"{len(self.entries)} entries but {len(self.receipts)} receipts")
        return self


class PhaseDates(_Wire):
    id: str
    label: str
    role: str
    first_day: int
    last_day: int
    start: date
    end: date


class MeResponse(_Wire):
    participant_id: str
    study_id: str
    protocol_version: int = Field(description="The study protocol version the participant is on (newer: GET /api/v1/protocol)")
    entries: int
    last_received_at: str | None
    unblinded: bool
    server_time: AwareDatetime
    start: date | None = None
    phases: list[PhaseDates] | None = Field(None, description="The true phase assignment, once unblinded")


class ProtocolResponse(_Wire):
    study_id: str
    version: int
    protocol: str = Field(description="The study protocol as TOML text")


class Problem(_Wire):
    detail: str


class Invalid(Problem):
    """422: the first problem in words (`detail`), then each one located."""

    errors: list[dict[str, object]]


class Health(_Wire):
    ok: bool


class ChainHead(_Wire):
    length: int = Field(ge=0, le=2**62, description="How many records the device's audit chain holds")
    hash: str = Field(pattern=HASH, description="The last record's hash (SHA-256, hex)")


class Held(_Wire):
    count: int = Field(ge=0, le=2**62)
    digest: str = Field(pattern=HASH, description="SHA-256 of the entry ids, sorted, joined by newlines")


class ReconcileRequest(_Wire):
    device_id: str = Field(min_length=1, max_length=100, description="The device's id (its entries' device_id)")
    head: ChainHead | None = Field(None, description="The device's audit-chain head; the hub keeps it")
    held: dict[str, Held] = Field(default_factory=dict, max_length=100,
                                  description="Per device id: the entries this device holds receipts for")
    ids: list[str] | None = Field(None, max_length=MAX_RECONCILE_IDS,
                                  description="Entry ids to look up: the answer lists those the hub lacks")


class ReconcileResponse(_Wire):
    differ: list[str] = Field(description="Device ids whose count or digest is not the hub's")
    missing: list[str] = Field(description="Of the ids sent, those the hub does not hold")
    head: ChainHead | None = Field(description="The head the hub holds for this device now")


EventBody: TypeAlias = Annotated[AdverseEvent | Medication | Dose, Field(discriminator="kind")]


class EventsRequest(_Wire):
    events: list[EventBody] = Field(max_length=MAX_BATCH, description="Adverse events, medications and dose "
                                    "changes (`kind`), as diary_client/core/event.py defines them")


class EventsResponse(_Wire):
    """As for entries: same id and content is a duplicate, same id and other content is rejected."""

    accepted: list[str]
    duplicate: list[str]
    rejected: list[Rejection]
    receipts: list[Receipt] = Field(description="For every accepted and duplicate event")
