"""Device-token authentication for the participant API: bearer header, rate limit, token lookup.

The check is split in two so that a request crosses to the thread pool once, not once for the
dependency and again for the handler: `device_key` (async, on the event loop) refuses a missing,
unknown or too-frequent token before the body is validated, and `participant_of` (in the handler,
on the handler's thread) reads the token's participant from the database, the authority: a token
revoked since it was first seen is refused there.
"""

from __future__ import annotations

import math

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from sync.hub import codes
from sync.hub.limits import address_key
from sync.hub.rules import Participant
from sync.hub.state import hub_state
from sync.hub.store import HubStore

bearer = HTTPBearer(auto_error=False, description="The device token from POST /api/v1/enroll")
MAX_KNOWN = 100_000  # token hashes remembered as valid; past it the least recently used is forgotten


def too_many(wait: float) -> HTTPException:
    return HTTPException(429, "too many requests: slow down", headers={"Retry-After": str(max(1, math.ceil(wait)))})


def unauthorized(why: str) -> HTTPException:
    return HTTPException(401, why, headers={"WWW-Authenticate": "Bearer"})


def store_of(request: Request) -> HubStore:
    return hub_state(request).store


def client_key(request: Request) -> str:
    """The rate-limit key of the request's address (the proxy's client only from trusted proxies)."""
    return address_key(request.client.host if request.client else None)


async def device_key(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:
    """The hash of the request's device token, once it is known to have been valid (401, 429)."""
    if cred is None or not cred.credentials:
        raise unauthorized("missing device token (Authorization: Bearer ...)")
    key = store_of(request).db.keys.digest(cred.credentials)
    known = hub_state(request).known_tokens
    if key in known:
        known.move_to_end(key)
    else:
        # A token not seen valid costs a database lookup: those are limited per address first,
        # so made-up tokens neither reach the database unthrottled nor each get a bucket.
        wait = hub_state(request).unknown_limit.wait(client_key(request))
        if wait:
            raise too_many(wait)
        legacy = codes.legacy_digest(cred.credentials)
        if await run_in_threadpool(store_of(request).enrolment.authenticate, key, legacy) is None:
            raise unauthorized("unknown or revoked device token: enrol this device again")
        known[key] = None
        if len(known) > MAX_KNOWN:
            known.popitem(last=False)
    wait = hub_state(request).token_limit.wait(key)
    if wait:
        raise too_many(wait)
    return key


def participant_of(request: Request, key: str) -> Participant:
    """The participant of a device key from `device_key`, read now (401 if revoked meanwhile)."""
    p = store_of(request).enrolment.authenticate(key)
    if p is None:
        raise unauthorized("unknown or revoked device token: enrol this device again")
    return p
