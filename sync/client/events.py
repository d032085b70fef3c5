"""The round's event step: pending adverse events, medications and dose changes uploaded after the
entries (POST /api/v1/events), receipts kept and refusals quarantined, as entries' are."""

from __future__ import annotations

from typing import TYPE_CHECKING

from diary_client.device.event_store import EventStore
from sync.client import answers
from sync.client.round import Round, checked_receipts, json_body, permanent, read_answer, reason

if TYPE_CHECKING:  # the event models load with the first pending event (EventStore.pending): most rounds have none
    from diary_client.core.event import Event

BATCH = 500
OLD_HUB = "the hub does not take events yet (an older hub): they stay on this device, pending"


async def upload_events(rnd: Round) -> None:
    """Upload this device's pending events in batches; a hub from before events leaves them pending
    and says so in the round's error."""
    store = EventStore(rnd.store)
    pending = store.pending()
    for k in range(0, len(pending), BATCH):
        batch = pending[k:k + BATCH]
        resp = await rnd.call("POST", "/api/v1/events", content=json_body({"events": [e.wire() for e in batch]}),
                              headers={"content-type": "application/json"})
        if resp.status_code in (404, 405):
            rnd.result.error = OLD_HUB
            return
        if resp.status_code == 422 and len(batch) == 1:
            _apply(rnd, store, batch, _refused(batch[0], resp))
            continue
        if resp.status_code == 422:  # one event the hub cannot read must not hold back the others
            for e in batch:
                one = await rnd.call("POST", "/api/v1/events", content=json_body({"events": [e.wire()]}),
                                     headers={"content-type": "application/json"})
                _apply(rnd, store, [e], read_answer(answers.EventsResponse, one) if one.status_code == 200 else _refused(e, one))
            continue
        if resp.status_code != 200:
            raise permanent(resp)
        _apply(rnd, store, batch, read_answer(answers.EventsResponse, resp))


def _refused(e: Event, resp) -> answers.EventsResponse:
    """The hub could not read this one event: its refusal, as an answer."""
    return answers.EventsResponse(accepted=[], duplicate=[], receipts=[], rejected=[
        answers.Rejection(id=e.id, error=f"the hub cannot read this event: {reason(resp)}", retry=False)])


def _apply(rnd: Round, store: EventStore, batch: list[Event], answer: answers.EventsResponse) -> None:
    from diary_client.core.event import content_hash

    ours = {e.id: content_hash(e) for e in batch}
    receipts, refused = checked_receipts(answer.receipts, ours, "event")
    refused += [(r.id, r.error) for r in answer.rejected if r.id in ours]
    if receipts:
        store.record_receipts(receipts)
    if refused:
        store.quarantine(refused)
    rnd.result.events_sent += len(receipts)
    rnd.result.events_rejected += len(refused)
    rnd.result.rejections += refused
