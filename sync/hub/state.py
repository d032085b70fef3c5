"""What every handler reaches of the app: its typed state (`HubState`, the one attribute on
`app.state`) and the response class that renders JSON as ASCII (`SafeJSONResponse`)."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request
from fastapi.responses import JSONResponse

from sync.hub.limits import RateLimiter
from sync.hub.store import HubStore


@dataclass
class HubState:
    """The hub app's state, made once by `create_app`."""

    store: HubStore
    now: Callable[[], datetime]  # the hub's clock
    token_limit: RateLimiter  # per device token
    enroll_limit: RateLimiter  # per address, enrolment calls
    unknown_limit: RateLimiter  # per address, tokens not yet seen valid
    known_tokens: OrderedDict[str, None] = field(default_factory=OrderedDict)  # token hashes seen valid, least recently used first (auth.device_key)


def hub_state(request: Request) -> HubState:
    return request.app.state.hub


class SafeJSONResponse(JSONResponse):
    """ASCII JSON: text that cannot be encoded as UTF-8 (lone surrogates) still renders, not 500s."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":"), default=str).encode()
