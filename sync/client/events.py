"""The round's event step: pending adverse events, medications and dose changes uploaded after the
entries (POST /api/v1/events), receipts kept and refusals quarantined, as entries' are."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from diary_client.core.event import Event, content_hash
from diary_client.device.event_store import EventStore

if TYPE_CHECKING:
    from sync.client.upload import _Round

BATCH = 500
OLD_HUB = "the hub does not take events yet (an older hub): they stay on this device, pending"


async def upload_events(rnd: _Round) -> None:
    """Upload this device's pending events in batches; a hub from before events leaves them pending
    and says so in the round's error."""
    from sync.client.upload import _json, _permanent, _reason

    store = EventStore(rnd.store)
    pending = store.pending()
    for k in range(0, len(pending), BATCH):
        batch = pending[k:k + BATCH]
        resp = await rnd.call("POST", "/api/v1/events", content=_json({"events": [e.wire() for e in batch]}),
                              headers={"content-type": "application/json"})
        if resp.status_code in (404, 405):
            rnd.result.error = OLD_HUB
            return
        if resp.status_code == 422 and len(batch) == 1:
            _apply(rnd, store, batch, {"rejected": [{"id": batch[0].id, "error": f"the hub cannot read this event: "
                                                                                    f"{_reason(resp)}"}]})
            continue
        if resp.status_code == 422:  # one event the hub cannot read must not hold back the others
            for e in batch:
                one = await rnd.call("POST", "/api/v1/events", content=_json({"events": [e.wire()]}),
                                     headers={"content-type": "application/json"})
                answer = one.json() if one.status_code == 200 else {
                    "rejected": [{"id": e.id, "error": f"the hub cannot read this event: {_reason(one)}"}]}
                _apply(rnd, store, [e], answer)
            continue
        if resp.status_code != 200:
            raise _permanent(resp)
        _apply(rnd, store, batch, json.loads(resp.content))


def _apply(rnd: _Round, store: EventStore, batch: list[Event], answer: dict) -> None:
    from sync.client.upload import checked_receipts

    ours = {e.id: content_hash(e) for e in batch}
    receipts, refused = checked_receipts(answer, ours, "event")
    refused += [(r["id"], r["error"]) for r in answer.get("rejected", []) if r["id"] in ours]
    if receipts:
        store.record_receipts(receipts)
    if refused:
        store.quarantine(refused)
    rnd.result.events_sent += len(receipts)
    rnd.result.events_rejected += len(refused)
    rnd.result.rejections += refused
