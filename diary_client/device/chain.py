"""The device's audit hash chain: each record's hash covers the one before it (`GENESIS` for the first).

The store writes records with `chain_hash`; `diary verify` (integrity.py) and the hub's checks of
a collected file recompute it.
"""

from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64  # the `prev_hash` of the first record, and the head of an empty chain


def chain_hash(prev: str, at: str, action: str, entry_id: str | None, entry_hash: str | None,
               detail: str | None) -> str:
    """The hash of one audit record: SHA-256 of its fields and the previous record's hash, as compact JSON."""
    body = json.dumps([prev, at, action, entry_id, entry_hash, detail], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()
