"""The hub's participant API over a real uvicorn on 127.0.0.1: enrolment, upload, refusals."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import httpx
from hub_fixture import audit_rows, hub, make_entry, running_hub  # noqa: F401

from diary_client.core.entry import content_hash
from diary_client.core.protocol import builtin_text
from sync.hub.limits import Limits
from sync.wire import EntriesResponse

START = date(2026, 3, 2)


def enrol(hub, pid="P01", start=START) -> httpx.Client:
    code = hub.code(pid, start)
    r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device": "test"})
    assert r.status_code == 200, r.text
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {r.json()['token']}"})


def post(client, *entries):
    return client.post("/api/v1/entries", json={"entries": [e.wire() for e in entries]})


def test_health_and_openapi(hub):
    assert httpx.get(f"{hub.url}/healthz").json() == {"ok": True}
    paths = httpx.get(f"{hub.url}/openapi.json").json()["paths"]
    assert {"/api/v1/enroll", "/api/v1/entries", "/api/v1/me"} <= set(paths)


def test_a_code_works_once_in_any_case_and_is_stored_only_hashed(hub):
    code = hub.code("P01", START)
    typed = code.lower().replace("-", " ")
    r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": typed, "device": "pi"})
    assert r.status_code == 200
    body = r.json()
    assert body["participant_id"] == "P01" and body["study_id"] == "ldn-fm" and body["start"] == "2026-03-02"
    assert "[[phases]]" in body["protocol"]
    again = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device": "pi"})
    assert again.status_code == 400 and "not valid" in again.json()["detail"]
    raw = hub.db_path.read_bytes() + (hub.db_path.with_name("hub.db-wal").read_bytes()
                                      if hub.db_path.with_name("hub.db-wal").exists() else b"")
    assert code.replace("-", "").encode() not in raw and body["token"].encode() not in raw


def test_codes_expire_after_14_days_and_refuse_another_participant(hub):
    old = hub.code("P01", START, now=datetime.now(UTC) - timedelta(days=15))
    assert httpx.post(f"{hub.url}/api/v1/enroll", json={"code": old, "device": "x"}).status_code == 400
    code = hub.code("P01", START)
    r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device": "x", "participant_id": "P02"})
    assert r.status_code == 400
    # refused for the wrong participant, the code still works for the right one
    assert httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device": "x", "participant_id": "P01"}).status_code == 200


def test_bad_timezone_and_malformed_bodies_are_422(hub):
    code = hub.code("P01", START)
    assert httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device": "x", "timezone": "Mars/Base"}).status_code == 422
    c = enrol(hub, "P02")
    r = c.post("/api/v1/entries", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    bad = make_entry("P02", START, 1).wire() | {"diary_date": "yesterday"}
    r = c.post("/api/v1/entries", json={"entries": [bad]})
    assert r.status_code == 422 and "diary_date" in r.json()["detail"]
    r = c.post("/api/v1/entries", json={"entries": [make_entry("P02", START, 1).wire() | {"extra": 1}]})
    assert r.status_code == 422
    r = c.post("/api/v1/entries", json={"entries": [make_entry("P02", START, 1).wire()] * 1001})
    assert r.status_code == 422


def test_upload_reupload_and_conflict(hub, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", "2026-03-20T12:00")  # the hub's clock: during P01's study
    c = enrol(hub)
    e1, e2 = make_entry("P01", START, 1), make_entry("P01", START, 2)
    r = post(c, e1, e2).json()
    assert r["accepted"] == [e1.id, e2.id] and r["duplicate"] == [] and r["rejected"] == []
    assert {x["id"]: x["content_hash"] for x in r["receipts"]} == {e1.id: content_hash(e1), e2.id: content_hash(e2)}
    again = post(c, e1, e2).json()
    assert again["duplicate"] == [e1.id, e2.id] and again["accepted"] == []
    assert [x["received_at"] for x in again["receipts"]] == [x["received_at"] for x in r["receipts"]]
    changed = replace(e1, answers=e1.answers | {"severity": 99})
    r = post(c, changed).json()
    assert r["rejected"] == [{"id": e1.id, "error": "an entry with this id and other content is already on the hub"}]
    assert EntriesResponse.model_validate(r) and EntriesResponse.model_validate(again)  # rendered by hand
    assert hub.store.reads.entries("P01") == [e1, e2]
    me = c.get("/api/v1/me").json()
    assert me["entries"] == 2 and me["participant_id"] == "P01" and me["unblinded"] is False
    assert me["protocol_version"] == 1 and c.get("/api/v1/protocol").json()["protocol"] == builtin_text()


def test_protocol_rules_reject_with_reasons(hub):
    c = enrol(hub)
    out_of_range = make_entry("P01", START, 1, value=101)
    unknown = make_entry("P01", START, 2)
    unknown = replace(unknown, answers=unknown.answers | {"mood": 3})
    wrong_phase = make_entry("P01", START, 3)
    wrong_phase = replace(wrong_phase, answers=wrong_phase.answers | {"capsule": True})
    outside = make_entry("P01", START, 200)
    second = make_entry("P01", START, 5)
    r = post(c, out_of_range, unknown, wrong_phase, outside, make_entry("P01", START, 5), second).json()
    why = {x["id"]: x["error"] for x in r["rejected"]}
    assert "outside 0–100" in why[out_of_range.id]
    assert "mood: no such item" in why[unknown.id]
    assert "capsule: is not asked in this period" in why[wrong_phase.id]
    assert "is not a day of the study" in why[outside.id]
    assert "already has a report" in why[second.id]
    assert len(r["accepted"]) == 1
    assert httpx.get(f"{hub.url}/healthz").status_code == 200


def test_corrections_need_their_target(hub):
    c = enrol(hub)
    first = make_entry("P01", START, 1)
    fix = make_entry("P01", START, 1, supersedes=first.id, seq=50)
    orphan = make_entry("P01", START, 2, supersedes=make_entry("P01", START, 2).id)
    r = post(c, first, fix, orphan).json()
    assert r["accepted"] == [first.id, fix.id]
    assert "which the hub does not have" in r["rejected"][0]["error"]
    fix2 = make_entry("P01", START, 1, supersedes=first.id, seq=51)
    assert "already corrected" in post(c, fix2).json()["rejected"][0]["error"]


def test_cross_participant_write_and_read_are_refused(hub):
    a, b = enrol(hub, "P01"), enrol(hub, "P02")
    mine = make_entry("P01", START, 1)
    assert post(a, mine).json()["accepted"] == [mine.id]
    r = post(b, make_entry("P02", START, 1), make_entry("P01", START, 2))
    assert r.status_code == 403
    assert hub.store.reads.entries("P02") == []
    assert a.get(f"/api/v1/entries/{mine.id}").json()["content_hash"] == content_hash(mine)
    assert b.get(f"/api/v1/entries/{mine.id}").status_code == 404
    assert b.get("/api/v1/me").json()["entries"] == 0
    assert b.get("/api/v1/entries").json() == {"entries": [], "receipts": [], "next_after": None}
    assert any(r["action"] == "refused_upload" for r in audit_rows(hub.db_path))


def test_a_device_pages_through_its_participants_entries(hub):
    c = enrol(hub)
    sent = [make_entry("P01", START, d) for d in (1, 2, 3)]
    post(c, *sent)
    first = c.get("/api/v1/entries", params={"limit": 2}).json()
    rest = c.get("/api/v1/entries", params={"after": first["next_after"], "limit": 2}).json()
    assert [e["id"] for e in first["entries"] + rest["entries"]] == [e.id for e in sent] and rest["next_after"] is None
    assert [r["content_hash"] for r in first["receipts"]] == [content_hash(e) for e in sent[:2]]
    assert c.get("/api/v1/entries", params={"limit": 5000}).status_code == 422


def test_tokens_are_required_and_never_logged(hub, caplog):
    caplog.set_level(logging.DEBUG)
    assert httpx.get(f"{hub.url}/api/v1/me").status_code == 401
    assert httpx.get(f"{hub.url}/api/v1/protocol").status_code == 401
    assert httpx.get(f"{hub.url}/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    c = enrol(hub)
    token = c.headers["Authorization"].split()[1]
    post(c, make_entry("P01", START, 1))
    c.get("/api/v1/me")
    assert "P01" in caplog.text  # the hub did log the ingest ...
    assert token not in caplog.text  # ... but never the token


def test_unblinding_shows_phase_assignment(hub, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", "2026-03-20T12:00")  # the hub's clock: day 19 of P01's study
    c = enrol(hub)
    assert c.get("/api/v1/me").json()["phases"] is None
    hub.store.enrolment.unblind(["P01"], datetime.now(UTC))
    me = c.get("/api/v1/me").json()
    assert me["unblinded"] is True
    assert [(p["id"], p["label"], p["start"]) for p in me["phases"]][1] == ("placebo", "Placebo", "2026-03-16")
    monkeypatch.setenv("DIARY_NOW", "2026-06-08T12:00")  # the study is over: ldn-fm unblinds at the end
    assert enrol(hub, "P02").get("/api/v1/me").json()["unblinded"] is True


def test_body_size_and_rate_limits(tmp_path):
    limits = Limits(max_body=10_000, per_token_rate=0.5, per_token_burst=3, enroll_rate=1000, enroll_burst=1000)
    with running_hub(tmp_path / "hub.db", limits=limits) as h:
        c = enrol(h)
        big = c.post("/api/v1/entries", json={"entries": [make_entry("P01", START, d).wire() for d in range(1, 60)]})
        assert big.status_code == 413
        codes = [c.get("/api/v1/me").status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and codes[-1] == 429
        r = c.get("/api/v1/me")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
