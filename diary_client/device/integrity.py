"""`diary verify`'s checks: the file, its audit hash chain, and every table the diary relies on
(entries, events, flags, settings, receipts) against what the chain says was written.

What a file alone cannot show (README, security): a chain cut short at its end (the last entries
deleted with their audit records) or extended by a forged entry with a correctly chained record,
and a chain recomputed from the start. Those are caught only against a head the hub holds
(`hub import`), so only for a device that synced, or whose file the hub saw, before the change.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Protocol

from diary_client.core.entry import content_hash, row_entry
from diary_client.device.chain import GENESIS, chain_hash


class ReadableDiary(Protocol):
    """What the checks read a diary file through (the device's Store, or one over a collected file)."""

    conn: sqlite3.Connection

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]: ...

    def has_table(self, name: str) -> bool: ...


def check(store: ReadableDiary) -> list[str]:
    """Every problem found (empty when all is well)."""
    problems: list[str] = []
    try:
        ok = [r[0] for r in store.conn.execute("PRAGMA integrity_check").fetchall()]
        if ok != ["ok"]:
            problems += [f"integrity_check: {m}" for m in ok]
        prev = GENESIS
        audited: dict[str, str] = {}  # entry id -> its content hash, as audited
        flags: dict[tuple[str, str | None], str | None] = {}  # (entry id, flag) -> detail, as audited
        from_hub: set[str] = set()
        receipts: set[str] = set()
        events: dict[str, str] = {}  # event id -> its content hash, as audited
        event_receipts: set[str] = set()
        settings: dict = {}
        for r in store.rows("SELECT * FROM audit ORDER BY seq"):
            if r["prev_hash"] != prev:
                problems.append(f"audit record {r['seq']}: chain broken (prev_hash does not match)")
            want = chain_hash(r["prev_hash"], r["at"], r["action"], r["entry_id"], r["entry_hash"], r["detail"])
            if r["hash"] != want:
                problems.append(f"audit record {r['seq']}: altered (hash does not match its content)")
            prev = r["hash"]
            detail = _json(r["detail"])
            if r["action"] == "entry":
                audited[r["entry_id"]] = r["entry_hash"]
                if isinstance(detail, dict) and detail.get("from_hub"):
                    from_hub.add(r["entry_id"])
            elif r["action"] == "flag" and isinstance(detail, dict):
                flags.setdefault((r["entry_id"], detail.get("flag")), detail.get("detail"))
            elif r["action"] == "receipt":
                receipts.add(r["entry_id"])
            elif r["action"] == "event":
                events[r["entry_id"]] = r["entry_hash"]
            elif r["action"] == "event_receipt":
                event_receipts.add(r["entry_id"])
            elif r["action"] == "settings" and isinstance(detail, dict):
                settings.update(detail)
        own: dict[str, list[int]] = {}
        for r in store.rows("SELECT * FROM entries ORDER BY rowid"):
            try:
                h = content_hash(row_entry(r))
            except (ValueError, TypeError, RecursionError) as e:
                problems.append(f"entry {r['id']}: unreadable ({e})")
                continue
            if r["id"] not in audited:
                problems.append(f"entry {r['id']}: has no audit record (added behind the app's back)")
                continue
            if audited.pop(r["id"]) != h or r["content_hash"] != h:
                problems.append(f"entry {r['id']} ({r['diary_date']}): altered after it was saved")
            if r["id"] not in from_hub:
                own.setdefault(r["device_id"], []).append(r["seq"])
        problems += [f"entry {i}: in the audit log but missing from entries (deleted)" for i in audited]
        for device, seqs in own.items():  # a device numbers its own entries 1, 2, 3, ...
            gaps = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
            if gaps:
                problems.append(f"device {device}: its entries {', '.join(map(str, gaps[:5]))} are missing "
                                "(numbered entries deleted together with their audit records)")
        problems += _flags(store, flags) + _settings(store, settings) + _receipts(store, receipts | from_hub)
        problems += _events(store, events, event_receipts)
    except sqlite3.DatabaseError as e:
        problems.append(f"database unreadable: {e}")
    return problems


def _json(text: str | None):
    try:
        return None if text is None else json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None


def _flags(store: ReadableDiary, audited: dict) -> list[str]:
    out, have = [], {}
    for r in store.rows("SELECT entry_id, flag, detail FROM flags"):
        have[(r["entry_id"], r["flag"])] = r["detail"]
    for key in audited.keys() - have.keys():
        out.append(f"flag {key[1]} of entry {key[0]}: in the audit log but missing from flags (deleted)")
    for key in have.keys() - audited.keys():
        out.append(f"flag {key[1]} of entry {key[0]}: has no audit record (added behind the app's back)")
    for key in have.keys() & audited.keys():
        if have[key] != audited[key]:
            out.append(f"flag {key[1]} of entry {key[0]}: altered after it was saved")
    return sorted(out)


def _settings(store: ReadableDiary, audited: dict) -> list[str]:
    """The settings table must be what the audited writes left; masked values (tokens) are not compared."""
    out = []
    have = {r["key"]: r["value"] for r in store.rows("SELECT key, value FROM settings")}
    for key in sorted(have.keys() | audited.keys()):
        if key not in audited:
            out.append(f"setting {key}: has no audit record (added behind the app's back)")
        elif key not in have:
            out.append(f"setting {key}: in the audit log but missing from settings (deleted)")
        elif audited[key] != "***" and _json(have[key]) != audited[key]:
            out.append(f"setting {key}: edited behind the app's back (the audit log says otherwise)")
    return out


def _receipts(store: ReadableDiary, audited: set[str]) -> list[str]:
    return [f"receipt of entry {r[0]}: has no audit record (added behind the app's back)"
            for r in store.conn.execute("SELECT entry_id FROM receipts ORDER BY entry_id") if r[0] not in audited]


def _events(store: ReadableDiary, audited: dict[str, str], receipts: set[str]) -> list[str]:
    """Events (and their receipts) against their audit records, as entries are checked: each one
    audited with its content, none missing, the device's numbering without gaps."""
    from diary_client.core.event import content_hash, from_wire

    if not store.has_table("events"):  # a file from before events (a collected one is not migrated)
        return [f"event {i}: in the audit log but the file has no events table (deleted)" for i in audited]
    out: list[str] = []
    own: dict[str, list[int]] = {}
    for r in store.rows("SELECT * FROM events ORDER BY rowid"):
        try:
            e = from_wire(json.loads(r["body"]))
            h = content_hash(e)
        except (ValueError, TypeError, KeyError, RecursionError) as x:
            out.append(f"event {r['id']}: unreadable ({x})")
            continue
        if r["id"] not in audited:
            out.append(f"event {r['id']}: has no audit record (added behind the app's back)")
            continue
        columns = (r["id"], r["kind"], r["supersedes"], r["device_id"], r["seq"])
        if audited.pop(r["id"]) != h or r["content_hash"] != h or columns != (e.id, e.kind, e.supersedes, e.device_id, e.seq):
            out.append(f"event {r['id']} ({r['kind']}): altered after it was saved")
        own.setdefault(r["device_id"], []).append(r["seq"])
    out += [f"event {i}: in the audit log but missing from events (deleted)" for i in audited]
    for device, seqs in own.items():
        gaps = sorted(set(range(1, max(seqs) + 1)) - set(seqs))
        if gaps:
            out.append(f"device {device}: its events {', '.join(map(str, gaps[:5]))} are missing "
                       "(numbered events deleted together with their audit records)")
    out += [f"receipt of event {i}: has no audit record (added behind the app's back)"
            for (i,) in store.conn.execute("SELECT event_id FROM event_receipts ORDER BY event_id") if i not in receipts]
    return out
