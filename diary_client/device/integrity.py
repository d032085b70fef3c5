"""`diary verify`'s checks: the file, its audit hash chain, and every table the diary relies on
(entries, flags, settings, receipts) against what the chain says was written.

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
