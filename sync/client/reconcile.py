"""Reconciliation, each sync round: the device sends its audit-chain head and, per device id, a
count and digest of the entries it holds receipts for; where the hub's differ (a hub restored
from an older copy), it sends those ids, and uploads again the entries the hub lacks.

The digest is `sync.ids_digest`, which the hub computes too (sync/hub/chains.py).
"""

from __future__ import annotations

from sync import MAX_RECONCILE_IDS, ids_digest
from sync.client import answers
from sync.client.round import Round, batches, permanent, read_answer


async def reconcile(rnd: Round) -> None:
    """One reconciliation step of a round (after the uploads); entries the hub lacks are uploaded
    again, through the round's own upload (receipts, quarantine). A hub without the call is skipped."""
    store = rnd.store
    device_id = rnd.diary.device_id
    acknowledged = store.acknowledged()
    length, head = store.head()
    body = {"device_id": device_id, "head": {"length": length, "hash": head},
            "held": {d: {"count": len(ids), "digest": ids_digest(ids)} for d, ids in acknowledged.items()}}
    resp = await rnd.call("POST", "/api/v1/reconcile", json=body)
    if resp.status_code in (404, 405):  # a hub from before reconciliation
        return
    if resp.status_code != 200:
        raise permanent(resp)
    asked = [i for d in read_answer(answers.ReconcileResponse, resp).differ for i in acknowledged.get(d, [])]
    missing: list[str] = []
    for k in range(0, len(asked), MAX_RECONCILE_IDS):
        resp = await rnd.call("POST", "/api/v1/reconcile",
                              json={"device_id": device_id, "ids": asked[k:k + MAX_RECONCILE_IDS]})
        if resp.status_code != 200:
            raise permanent(resp)
        missing += read_answer(answers.ReconcileResponse, resp).missing
    if not missing:
        return
    lost = set(missing) - {q["entry_id"] for q in store.quarantined()}  # refused again once: not sent every round
    again = [e for e in store.entries() if e.id in lost]
    for batch in batches(again, [f for f in store.flags() if f["entry_id"] in lost]):
        await rnd.upload(batch)
    rnd.result.resent += len(again)
