"""Reconciliation, each sync round: the device sends its audit-chain head and, per device id, a
count and digest of the entries it holds receipts for; where the hub's differ (a hub restored
from an older copy), it sends those ids, and uploads again the entries the hub lacks.

`ids_digest` is shared with the hub (sync/hub/chains.py), so both compute it the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sync import MAX_RECONCILE_IDS  # not sync.wire: its pydantic models cost a device round ~0.1 s

if TYPE_CHECKING:
    from sync.client.upload import _Round


def ids_digest(ids: Iterable[str]) -> str:
    """SHA-256 of the entry ids, sorted, joined by newlines."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


async def reconcile(rnd: _Round) -> None:
    """One reconciliation step of a round (after the uploads); entries the hub lacks are uploaded
    again, through the round's own upload (receipts, quarantine). A hub without the call is skipped."""
    from sync.client.upload import _permanent, batches

    store = rnd.store
    device_id = store.settings()["device_id"]
    acknowledged = store.acknowledged()
    length, head = store.head()
    body = {"device_id": device_id, "head": {"length": length, "hash": head},
            "held": {d: {"count": len(ids), "digest": ids_digest(ids)} for d, ids in acknowledged.items()}}
    resp = await rnd.call("POST", "/api/v1/reconcile", json=body)
    if resp.status_code in (404, 405):  # a hub from before reconciliation
        return
    if resp.status_code != 200:
        raise _permanent(resp)
    asked = [i for d in resp.json()["differ"] for i in acknowledged.get(d, [])]
    missing: list[str] = []
    for k in range(0, len(asked), MAX_RECONCILE_IDS):
        resp = await rnd.call("POST", "/api/v1/reconcile",
                              json={"device_id": device_id, "ids": asked[k:k + MAX_RECONCILE_IDS]})
        if resp.status_code != 200:
            raise _permanent(resp)
        missing += resp.json()["missing"]
    if not missing:
        return
    lost = set(missing) - {q["entry_id"] for q in store.quarantined()}  # refused again once: not sent every round
    again = [e for e in store.entries() if e.id in lost]
    for batch in batches(again, [f for f in store.flags() if f["entry_id"] in lost]):
        await rnd.upload(batch)
    rnd.result.resent += len(again)
