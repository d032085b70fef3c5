"""Devices' audit-chain heads and reconciliation on the hub.

Each sync sends the device's head (how many audit records, the last hash) and the hub keeps the
longest it saw per device; `hub import` refuses a file whose chain does not pass through that
head (records removed, or rewritten), or a file whose device is not one of its participant's.
Reconciliation: per device id, how many of the participant's entries the hub holds and a digest
of their ids, so a device notices entries the hub lost (a hub restored from an older copy).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sync import ids_digest
from sync.hub.database import HubDatabase, iso, write_audit


def held(db: HubDatabase, participant_id: str, device_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """Per device id: (how many of the participant's entries made on it the hub holds, their digest)."""
    wanted = set(device_ids)
    by_device: dict[str, list[str]] = {d: [] for d in wanted}
    with db.read() as conn:
        for entry_id, device in conn.conn.execute(
                "SELECT id, json_extract(body, '$.device_id') FROM entries WHERE participant_id = ?", [participant_id]):
            if device in wanted:
                by_device[device].append(entry_id)
    return {d: (len(ids), ids_digest(ids)) for d, ids in by_device.items()}


def lacking(db: HubDatabase, participant_id: str, ids: list[str]) -> list[str]:
    """Of these entry ids, those the hub does not hold for the participant."""
    with db.read() as conn:
        have = {r[0] for r in conn.conn.execute(
            "SELECT id FROM entries WHERE participant_id = ? AND id IN (SELECT value FROM json_each(?))",
            [participant_id, json.dumps(ids)])}
    return [i for i in ids if i not in have]


def head_of(db: HubDatabase, participant_id: str, device_id: str) -> tuple[int, str] | None:
    with db.read() as conn:
        row = conn.conn.execute("SELECT length, hash FROM device_heads WHERE participant_id = ? AND device_id = ?",
                                [participant_id, device_id]).fetchone()
    return (row[0], row[1]) if row else None


def keep_head(db: HubDatabase, participant_id: str, device_id: str, length: int, h: str, now: datetime,
              via: str) -> str | None:
    """Keep a device's head if it is longer than the one held; a shorter one is audited (the
    device's chain lost records: tampering, or a diary restored from its backup) and not kept.
    Returns that problem, or None."""
    at = iso(now)
    with db.tx() as conn:
        row = conn.conn.execute("SELECT length, hash FROM device_heads WHERE participant_id = ? AND device_id = ?",
                                [participant_id, device_id]).fetchone()
        if row and (length < row[0] or (length == row[0] and h != row[1])):
            problem = (f"device {device_id}'s audit chain is {length} records with head {h[:12]}…, but the hub "
                       f"holds {row[0]} records with head {row[1][:12]}…: records were removed or rewritten")
            write_audit(conn, at, via, "chain_conflict", participant_id, device_id=device_id, length=length,
                        held=row[0])
            return problem
        if row is None or length > row[0]:
            conn.execute("INSERT OR REPLACE INTO device_heads VALUES (?, ?, ?, ?, ?, ?)",
                         [participant_id, device_id, length, h, at, via])
    return None


def devices_of(db: HubDatabase, participant_id: str) -> set[str]:
    """The device ids the hub knows for a participant: from heads it holds, entries it stored and
    the devices its tokens were issued to."""
    with db.read() as conn:
        heads = {r[0] for r in conn.conn.execute("SELECT device_id FROM device_heads WHERE participant_id = ?",
                                                 [participant_id])}
        made = {r[0] for r in conn.conn.execute(
            "SELECT DISTINCT json_extract(body, '$.device_id') FROM entries WHERE participant_id = ?", [participant_id])}
        tokens = {r[0] for r in conn.conn.execute(
            "SELECT device_id FROM tokens WHERE participant_id = ? AND device_id IS NOT NULL", [participant_id])}
    return heads | made | tokens


def file_problem(db: HubDatabase, participant_id: str, device_id: str, chain: Sequence[str]) -> str | None:
    """Why a collected file's audit chain disagrees with the head the hub holds for its device, or None."""
    held_head = head_of(db, participant_id, device_id)
    if held_head is None:
        return None
    length, h = held_head
    if len(chain) < length:
        return (f"its audit chain holds {len(chain)} records, but the hub saw {length} from this device: "
                "records were removed (or this is an older copy of the file)")
    if length and chain[length - 1] != h:
        return (f"its audit chain does not pass through the head the hub holds for this device (record {length}): "
                "the file was rewritten")
    return None


def import_problems(db: HubDatabase, participant_id: str, device_id: str | None, chain: Sequence[str]) -> list[str]:
    """Why the hub should not trust a collected file's claims: its device is not one of the
    participant's (unless the participant has none yet: enrolled at a lab visit), or its chain
    disagrees with the head the hub holds for that device."""
    out = []
    if not device_id:
        return ["the file names no device"]
    known = devices_of(db, participant_id)
    if known and device_id not in known:
        out.append(f"the file says it is {participant_id}'s, but its device ({device_id}) is not one of "
                   f"{participant_id}'s devices on the hub: a file of another participant relabelled, or a "
                   "replacement device that never synced")
    problem = file_problem(db, participant_id, device_id, chain)
    if problem:
        out.append(problem)
    return out
