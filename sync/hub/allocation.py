"""`hub allocation`: a study's allocation as the hub made it — balance and a hash that commits to it;
the sequences only when revealed with a reason (audited). The seed itself is never shown."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from diary_client.core import design
from sync.hub.errors import HubError
from sync.hub.rules import protocol_from
from sync.hub.store import HubStore


@dataclass(frozen=True)
class Allocated:
    participant_id: str
    index: int | None  # place in the study's enrolment order
    sequence: tuple[str, ...]  # her phases in order (the fixed design's file order where none was drawn)


@dataclass(frozen=True)
class StudyAllocation:
    study_id: str
    method: str
    allocation_hash: str
    balance: dict[str, int]
    participants: list[Allocated]

    def as_json(self, revealed: bool) -> dict:
        return {"study_id": self.study_id, "method": self.method, "allocation_hash": self.allocation_hash,
                "balance": self.balance,
                "participants": [{"participant_id": a.participant_id,
                                  "sequence": list(a.sequence) if revealed else None} for a in self.participants]}


def os_user() -> str:
    """Who runs the command, for the audit (the OS account; "unknown" where it has no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def study_ids(hub: HubStore) -> list[str]:
    return sorted({s for s, _, _ in hub.reads.studies()})


def chosen_study(hub: HubStore, study_id: str | None) -> str:
    """The study asked for, or the hub's only one; HubError naming the choices otherwise."""
    known = study_ids(hub)
    if study_id is not None:
        if study_id not in known:
            raise HubError(f"no study {study_id!r} on this hub (studies: {', '.join(known) or 'none yet'})")
        return study_id
    if len(known) != 1:
        raise HubError("this hub has no study yet" if not known else
                       f"this hub has {len(known)} studies: give --study ({', '.join(known)})")
    return known[0]


def allocation(hub: HubStore, study_id: str) -> StudyAllocation:
    """The study's allocation in enrolment order, its balance and its hash (design.allocation_hash)."""
    latest = protocol_from([t for s, _, t in hub.reads.studies() if s == study_id][-1])
    fixed = design.fixed_sequence(latest)
    with hub.db.read() as db:
        rows = db.execute("SELECT participant_id, allocation_index, sequence FROM participants WHERE study_id = ?"
                          " ORDER BY allocation_index IS NULL, allocation_index, enrolled_at, participant_id",
                          [study_id]).fetchall()
        seed_row = db.execute("SELECT seed FROM allocation_seeds WHERE study_id = ?", [study_id]).fetchone()
    people = [Allocated(pid, index, design.parse_sequence(seq) if seq else fixed) for pid, index, seq in rows]
    seed = seed_row[0] if seed_row else b""  # a fixed design draws nothing: the hash holds the empty seed's
    digest = design.allocation_hash(study_id, seed, [(a.participant_id, a.sequence) for a in people])
    return StudyAllocation(study_id, latest.allocation.method, digest,
                           design.balance([a.sequence for a in people], latest), people)


def reveal(hub: HubStore, study_id: str, reason: str, now: datetime, what: str = "allocation") -> str:
    """Audit a reveal (who: the OS user; when; why) before anything is shown; returns the user."""
    if not reason.strip():
        raise HubError("--reveal needs --reason TEXT: why the allocation is shown (it is audited)")
    user = os_user()
    hub.audit("coordinator", f"reveal_{what}", now, None, study_id=study_id, user=user, reason=reason)
    return user
