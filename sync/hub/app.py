"""The hub's FastAPI app factory: `create_app(db_path)` builds everything, importing does nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from diary_client.core import bounds, clock
from sync import wire
from sync.hub import routes, routes_reconcile
from sync.hub.limits import BodyLimit, Limits, RateLimiter
from sync.hub.state import HubState, SafeJSONResponse
from sync.hub.store import HubStore


def _where(loc) -> str:
    out = ""
    for part in loc:
        if part == "body" and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    where = "body" if first.get("type") == "json_invalid" else _where(first.get("loc", ()))
    detail = f"{where}: {first.get('msg', '')}{more}"
    return SafeJSONResponse({"detail": detail, "errors": errors[:50]}, status_code=422)


def _document(app: FastAPI, *models: type[BaseModel]) -> None:
    """Put models that routes read by hand (routes.entries_body) into the OpenAPI components."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = build()
            schemas = doc["components"]["schemas"]
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            _state_the_truth(doc)
        assert app.openapi_schema is not None  # FastAPI's openapi() caches what it built
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents replacing app.openapi to extend the schema


def _state_the_truth(doc: dict) -> None:
    """What FastAPI's generated schema says and the hub does not do, corrected: every 422 is
    `wire.Invalid` (`detail` one string, then the located problems), never FastAPI's list form;
    entry ids are UUIDs; an entry's dates lie in diary_client.core.bounds' window."""
    invalid = {"description": "The request cannot be read: `detail` says where and why, in one line",
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invalid"}}}}
    for operations in doc["paths"].values():
        for op in operations.values():
            if "422" in op.get("responses", {}):
                op["responses"]["422"] = invalid
    schemas = doc["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    entry = schemas.get("Entry", {}).get("properties", {})
    uuid = {"type": "string", "format": "uuid", "pattern": wire.UUID_PATTERN}
    if "id" in entry:
        entry["id"] = {**entry["id"], **uuid}
    for key, fmt in (("diary_date", "date"), ("submitted_at", "date-time")):
        if key in entry:
            entry[key] = {**entry[key], "format": fmt,
                          "description": f"From {bounds.EARLIEST} to {bounds.END - timedelta(days=1)}"
                                         + (", with its UTC offset" if fmt == "date-time" else "")}


def hub_now() -> datetime:
    """The hub's clock; DIARY_NOW moves it too, so a demo or test hub agrees with its devices."""
    return clock.now()


def create_app(db_path: str | Path, *, limits: Limits = Limits(),
               now: Callable[[], datetime] = hub_now) -> FastAPI:
    """The hub app over one SQLite file (created and migrated here, not at import)."""
    app = FastAPI(
        title="Symptom diary hub",
        version="1",
        summary="Receives participants' diary entries idempotently; see the README (For study coordinators, How sync behaves).",
        default_response_class=SafeJSONResponse,
        exception_handlers={RequestValidationError: _invalid},
    )
    app.state.hub = HubState(
        store=HubStore(db_path), now=now,
        token_limit=RateLimiter(limits.per_token_rate, limits.per_token_burst),
        enroll_limit=RateLimiter(limits.enroll_rate, limits.enroll_burst),
        unknown_limit=RateLimiter(limits.unknown_rate, limits.unknown_burst),
    )
    app.include_router(routes.router)
    app.include_router(routes_reconcile.router)
    _document(app, wire.EntriesRequest, wire.Invalid)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body, seconds=limits.body_seconds, max_head=limits.max_head)
    return app
