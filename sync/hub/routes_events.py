"""POST /api/v1/events: a device's adverse events, medications and dose changes, with receipts like entries."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from sync import wire
from sync.hub.auth import device_key, participant_of, store_of
from sync.hub.routes import json_body, verdicts
from sync.hub.state import hub_state

log = logging.getLogger("sync.hub")
router = APIRouter()


async def events_body(request: Request) -> wire.EventsRequest:
    """The batch validated by pydantic straight from the raw bytes (as the entries' upload is)."""
    return await json_body(request, wire.EventsRequest, "events")


EVENTS_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/EventsRequest"}}}}}


@router.post("/api/v1/events", response_model=wire.EventsResponse, openapi_extra=EVENTS_BODY,
             responses={401: {"model": wire.Problem}, 403: {"model": wire.Problem}, 413: {"model": wire.Problem},
                        415: {"model": wire.Problem}, 422: {"model": wire.Invalid}, 429: {"model": wire.Problem}})
def upload_events(request: Request, key: str = Depends(device_key),
                  body: wire.EventsRequest = Depends(events_body)) -> Response:
    """Store a batch of events in one transaction, with a result per event (a serious adverse
    event marks its participant in `hub status` until a coordinator acknowledges it)."""
    store, now, who = store_of(request), hub_state(request).now(), participant_of(request, key)
    strangers = sorted({e.participant_id for e in body.events} - {who.participant_id})
    if strangers:
        store.audit("api", "refused_upload", now, who.participant_id, other_participants=len(strangers))
        raise HTTPException(403, "this device may upload only its own participant's events")
    got = store.ingest_events(who.participant_id, body.events, now)
    log.info("events %s: %d accepted, %d duplicate, %d rejected", who.participant_id,
             len(got.accepted), len(got.duplicate), len(got.rejected))
    return verdicts(got)
