"""Sync: the device's upload client and the coordinator's hub (FastAPI + SQLite)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

# The largest upload body a device sends (sync.client.upload's batches; one entry larger than this goes
# alone). The hub reads and throws away a refused body at least this long (hub/limits.BodyLimit),
# so the device always receives its 413 and sends less, never a connection reset.
BATCH_BYTES = 1024 * 1024

# The most entry ids one reconciliation request may ask about (sync.wire's ReconcileRequest; the
# device's reconcile sends them in chunks of this size). These rules live here, not in sync.wire,
# so the device need not load pydantic.
MAX_RECONCILE_IDS = 5000

# The most entries (or events) one upload may hold (sync.wire's EntriesRequest, EventsRequest; the
# hub's pages of history hold at most as many).
MAX_BATCH = 1000

# An audit-chain hash and an ids digest as both sides write them: SHA-256, lower-case hex.
HASH = r"^[0-9a-f]{64}$"


def ids_digest(ids: Iterable[str]) -> str:
    """SHA-256 of the entry ids, sorted, joined by newlines (`Held.digest`: device and hub compute it alike)."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
