"""A bounded schemathesis run over the hub's OpenAPI schema (real uvicorn): no input gives a 5xx."""

from __future__ import annotations

from datetime import date

import httpx
import schemathesis
from hub_fixture import running_hub
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

EXAMPLES = 40  # per operation


def test_no_input_gives_a_server_error(tmp_path):
    with running_hub(tmp_path / "hub.db") as h:
        code = h.code("P01", date(2026, 3, 2))
        token = httpx.post(f"{h.url}/api/v1/enroll", json={"code": code, "device": "t"}).json()["token"]
        h.code("P02", date(2026, 3, 2))
        schema = schemathesis.openapi.from_url(f"{h.url}/openapi.json")
        operations = [r.ok() for r in schema.get_all_operations()]
        assert len(operations) >= 5
        for op in operations:

            # Half the calls carry a valid device token, so the fuzzer gets past authentication.
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=op.as_strategy(), authed=st.booleans())
            def run(case, authed):
                headers = {"Authorization": f"Bearer {token}"} if authed else None
                case.call_and_validate(base_url=h.url, headers=headers, checks=[not_a_server_error])

            run()
