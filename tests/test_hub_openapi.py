"""The OpenAPI schema states what the hub really returns and accepts: 422 with `detail` as one
string, UUID and code formats, JSON only; entries dated outside the sane window are refused."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from hub_fixture import make_entry, running_hub

START = date(2026, 3, 2)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub") / "hub.db") as h:
        token = httpx.post(f"{h.url}/api/v1/enroll", json={"code": h.code("P01", START), "device": "t"}).json()["token"]
        yield h, httpx.Client(base_url=h.url, headers={"Authorization": f"Bearer {token}"})


def test_every_422_is_documented_as_the_one_line_detail_the_hub_sends(served):
    hub, c = served
    doc = c.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and schemas["Invalid"]["properties"]["detail"]["type"] == "string"
    documented = [op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
                  for ops in doc["paths"].values() for op in ops.values() if "422" in op["responses"]]
    assert documented and set(documented) == {"#/components/schemas/Invalid"}
    r = c.post("/api/v1/entries", json={"entries": [{"id": "x"}]})
    assert r.status_code == 422 and isinstance(r.json()["detail"], str) and r.json()["errors"]
    r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": 5})
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)


def test_formats_are_stated_and_held_to(served):
    hub, c = served
    schemas = c.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["Entry"]["properties"]["id"]["format"] == "uuid"
    assert "pattern" in schemas["EnrollRequest"]["properties"]["code"]
    assert "2099-12-31" in schemas["Entry"]["properties"]["submitted_at"]["description"]
    r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": "not a code!", "device": "t"})
    assert r.status_code == 422 and r.json()["detail"].startswith("code:")
    r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": "AAAA-AAAA", "device": "t", "device_id": "pi"})
    assert r.status_code == 422 and r.json()["detail"].startswith("device_id:")


def test_entries_are_json_only(served):
    _, c = served
    body = '{"entries": []}'
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = c.post("/api/v1/entries", content=body, headers={"content-type": kind})
        assert r.status_code == 415 and "JSON" in r.json()["detail"]
    assert c.post("/api/v1/entries", content=body, headers={"content-type": "application/json; charset=utf-8"}).status_code == 200


@pytest.mark.parametrize("when", ["0001-01-01T12:00:00+00:00", "9999-12-31T23:59:59-05:00", "1999-12-31T23:00:00Z"])
def test_an_entry_saved_outside_the_window_is_refused(served, when):
    _, c = served
    e = make_entry("P01", START, 1).wire() | {"submitted_at": when}
    r = c.post("/api/v1/entries", json={"entries": [e]})
    assert r.status_code == 200 and r.json()["rejected"][0]["error"].startswith("submitted_at ")
    assert "outside 2000-01-01 to 2099-12-31" in r.json()["rejected"][0]["error"]
