"""POST /api/v1/reconcile: the device's chain head kept, and which of its entries the hub holds."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request

from sync import wire
from sync.hub import chains
from sync.hub.auth import device_key, participant_of, store_of
from sync.hub.state import hub_state

log = logging.getLogger("sync.hub")
router = APIRouter()


@router.post("/api/v1/reconcile", response_model=wire.ReconcileResponse,
             responses={401: {"model": wire.Problem}, 429: {"model": wire.Problem}, 422: {"model": wire.Invalid}})
def reconcile(body: wire.ReconcileRequest, request: Request, key: str = Depends(device_key)) -> wire.ReconcileResponse:
    """Keep the device's audit-chain head; per device id, say whether the hub's count and digest of
    the participant's entries match the device's; of the ids sent, which the hub lacks."""
    who, now = participant_of(request, key), hub_state(request).now()
    db = store_of(request).db
    pid = who.participant_id
    if body.head is not None:
        problem = chains.keep_head(db, pid, body.device_id, body.head.length, body.head.hash, now, "api")
        if problem:
            log.warning("chain conflict for %s: %s", pid, problem)
    hub_held = chains.held(db, pid, body.held)
    differ = sorted(d for d, h in body.held.items() if hub_held[d] != (h.count, h.digest))
    missing = chains.lacking(db, pid, body.ids) if body.ids else []
    head = chains.head_of(db, pid, body.device_id)
    return wire.ReconcileResponse(differ=differ, missing=missing,
                                  head=wire.ChainHead(length=head[0], hash=head[1]) if head else None)
