"""The participant API under /api/v1 (enrol, upload, me, receipts) and /healthz.

Plain `def` handlers: the store's SQLite calls block, so FastAPI runs them on its thread pool.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from diary_client.core import bounds
from sync import MAX_BATCH, wire
from sync.hub.auth import client_key, device_key, participant_of, store_of, too_many
from sync.hub.rules import device_protocol, phase_dates, released, valid_zone
from sync.hub.state import SafeJSONResponse, hub_state
from sync.hub.store import CodeError, HubError, IngestResult

log = logging.getLogger("sync.hub")
router = APIRouter()
M = TypeVar("M", bound=BaseModel)

_AUTH: dict[int | str, dict[str, Any]] = {401: {"model": wire.Problem}, 429: {"model": wire.Problem}}


@router.get("/healthz", response_model=wire.Health)
def healthz() -> wire.Health:
    return wire.Health(ok=True)


@router.post("/api/v1/enroll", response_model=wire.EnrollResponse,
             responses={400: {"model": wire.Problem}, 409: {"model": wire.Problem}, 429: {"model": wire.Problem}})
def enroll(body: wire.EnrollRequest, request: Request) -> wire.EnrollResponse:
    """Exchange a one-time enrolment code for a device token (the code works once)."""
    wait = hub_state(request).enroll_limit.wait(client_key(request))
    if wait:
        raise too_many(wait)
    if body.timezone is not None and not valid_zone(body.timezone):
        raise HTTPException(422, f"timezone: {body.timezone!r} is not an IANA time zone like Europe/Berlin")
    problem = body.start and bounds.start_problem(body.start, hub_state(request).now().date())
    if problem:
        raise HTTPException(422, f"start: {problem}")
    store = store_of(request)
    try:
        got = store.enrolment.redeem(body.code, body.device, hub_state(request).now(), body.participant_id, body.start,
                                     body.timezone, body.device_id, body.today)
    except CodeError as e:
        raise HTTPException(400, str(e)) from None
    except HubError as e:
        raise HTTPException(409, str(e)) from None
    p = got.participant
    log.info("enrolled a device for %s", p.participant_id)
    return wire.EnrollResponse(participant_id=p.participant_id, token=got.token,
                               protocol=device_protocol(p, hub_state(request).now()),
                               study_id=p.study_id, start=p.start)  # type: ignore[arg-type]  # a redeemed participant always has day 1 set


async def entries_body(request: Request) -> wire.EntriesRequest:
    """The upload's batch, validated by pydantic straight from the raw bytes, on the event loop.

    A plain `body: wire.EntriesRequest` parameter makes FastAPI decode the JSON into Python
    objects and then validate those, which takes most of the hub's time for a 100-entry batch;
    the schema still comes from the model (`ENTRIES_BODY`), and errors keep FastAPI's 422 form.
    """
    return await json_body(request, wire.EntriesRequest, "entries")


async def json_body(request: Request, model: type[M], what: str) -> M:
    """A JSON body validated by `model` from the raw bytes; 415 for another content type, and
    FastAPI's 422 form for what pydantic refuses."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise HTTPException(415, f"send the {what} as JSON (Content-Type: application/json)")
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as e:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in e.errors()]) from None


ENTRIES_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/EntriesRequest"}}}}}


@router.post("/api/v1/entries", response_model=wire.EntriesResponse, openapi_extra=ENTRIES_BODY,
             responses={**_AUTH, 403: {"model": wire.Problem}, 408: {"model": wire.Problem},
                        413: {"model": wire.Problem}, 415: {"model": wire.Problem}, 422: {"model": wire.Invalid}})
def upload(request: Request, key: str = Depends(device_key),
           body: wire.EntriesRequest = Depends(entries_body)) -> Response:
    """Store a batch of entries in one transaction, with a result per entry."""
    store, now, who = store_of(request), hub_state(request).now(), participant_of(request, key)
    strangers = sorted({e.participant_id for e in body.entries} - {who.participant_id})
    if strangers:
        store.audit("api", "refused_upload", now, who.participant_id, other_participants=len(strangers))
        log.warning("refused an upload by %s holding another participant's entries", who.participant_id)
        raise HTTPException(403, "this device may upload only its own participant's entries")
    got = store.ingest(who.participant_id, body.entries, now, seen=who,
                       flags=[(f.entry_id, f.flag, f.detail) for f in body.flags])
    log.info("ingest %s: %d accepted, %d duplicate, %d rejected", who.participant_id,
             len(got.accepted), len(got.duplicate), len(got.rejected))
    return verdicts(got)


def verdicts(got: IngestResult) -> Response:
    """A batch's verdicts and receipts (wire.EntriesResponse, wire.EventsResponse), rendered here: a
    returned model would be validated again by FastAPI, on another trip to the thread pool."""
    return SafeJSONResponse({
        "accepted": got.accepted, "duplicate": got.duplicate,
        "rejected": [{"id": i, "error": e} | ({"retry": True} if bounds.time_cures(e) else {}) for i, e in got.rejected],
        "receipts": [{"id": i, "received_at": t, "content_hash": h} for i, t, h in got.receipts],
    })


@router.get("/api/v1/entries", response_model=wire.EntriesPage, responses=_AUTH)
def history(request: Request, key: str = Depends(device_key), after: int = Query(0, ge=0, le=2**62),
            limit: int = Query(500, ge=1, le=MAX_BATCH)) -> wire.EntriesPage:
    """The device's own participant's entries, as received (a replacement device fetches its history)."""
    who = participant_of(request, key)
    rows, next_after = store_of(request).reads.page(who.participant_id, after, limit)
    return wire.EntriesPage(entries=[r["entry"] for r in rows], next_after=next_after,
                            receipts=[wire.Receipt(id=r["entry"].id, received_at=r["received_at"],
                                                   content_hash=r["content_hash"]) for r in rows])


@router.get("/api/v1/me", response_model=wire.MeResponse, responses=_AUTH)
def me(request: Request, key: str = Depends(device_key)) -> wire.MeResponse:
    """The device's participant as the hub sees it, the hub's clock and, once released, the phases."""
    who, now = participant_of(request, key), hub_state(request).now()
    s = store_of(request).reads.summary(who.participant_id).get(who.participant_id, {})
    free = released(who, now)
    return wire.MeResponse(
        participant_id=who.participant_id, study_id=who.study_id, protocol_version=who.protocol_version,
        entries=s.get("entries", 0),
        last_received_at=s.get("last_received_at"), unblinded=free,
        server_time=now, start=who.start,
        phases=[wire.PhaseDates(**d) for d in phase_dates(who)] if free else None,
    )


@router.get("/api/v1/protocol", response_model=wire.ProtocolResponse, responses=_AUTH)
def protocol(request: Request, key: str = Depends(device_key)) -> wire.ProtocolResponse:
    """The study protocol the device's participant is on now (it changes when a coordinator publishes
    an update; in a double blind, the true phases come once the participant is unblinded)."""
    who = participant_of(request, key)
    return wire.ProtocolResponse(study_id=who.study_id, version=who.protocol_version,
                                 protocol=device_protocol(who, hub_state(request).now()))


@router.get("/api/v1/entries/{entry_id}", response_model=wire.Receipt,
            responses={**_AUTH, 404: {"model": wire.Problem}})
def receipt(entry_id: str, request: Request, key: str = Depends(device_key)) -> wire.Receipt:
    """The receipt of one of the device's own entries; anyone else's is 404, like a missing one."""
    who = participant_of(request, key)
    r = store_of(request).reads.receipt(who.participant_id, entry_id)
    if r is None:
        raise HTTPException(404, "no such entry of yours on the hub")
    return wire.Receipt(id=r["id"], received_at=r["received_at"], content_hash=r["content_hash"])
