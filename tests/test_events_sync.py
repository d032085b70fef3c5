"""Events against a real hub (uvicorn on 127.0.0.1): filed at 10:00, a serious one synced at once and
marked in `hub status` until acknowledged; receipts, duplicates and refusals like entries; hub import."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date

import httpx
from click.testing import CliRunner
from hub_fixture import audit_rows, hub  # noqa: F401

from diary_client.cli.tree import main
from diary_client.core import event as ev
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store
from sync.client.upload import load_token

START = date(2026, 3, 2)
TEN_AM = "2026-03-05T10:00"  # day 4, eight hours before its window opens


def enrolled(cli, hub, pid="P01"):
    code = hub.code(pid, START)
    r = cli("enroll", "--participant", pid, "--hub", hub.url, "--code", code, now="2026-03-02T09:00")
    assert r.exit_code == 0, r.output


def hub_cli(hub, *args):
    return CliRunner().invoke(main, ["hub", args[0], "--db", str(hub.db_path), *args[1:]])


def status_of(hub, pid="P01") -> dict:
    rows = json.loads(hub_cli(hub, "status", "--json").output)["participants"]
    return next(r for r in rows if r["participant_id"] == pid)


def test_a_serious_event_reaches_hub_status_before_the_evening_until_acknowledged(cli, hub, data_dir):
    enrolled(cli, hub)
    r = cli("event", "ae", "--what", "fainted", "--started", "2026-03-05", "--severity", "severe", "--serious",
            now=TEN_AM)
    assert r.exit_code == 0 and "It is on the study team's hub now." in r.stderr, r.output
    [serious] = sqlite3.connect(hub.db_path).execute("SELECT id FROM events").fetchall()
    row = status_of(hub)
    assert row["serious_unacknowledged"] == 1 and row["marks"][0] == "serious adverse event"
    text = hub_cli(hub, "status").output
    assert "! serious adverse event" in text and "1 participant(s) marked ! need a call." in text
    assert status_of(hub)["serious_unacknowledged"] == 1  # it stays
    one = hub_cli(hub, "ack-event", serious[0])
    assert one.exit_code == 2  # --reason is required
    r = hub_cli(hub, "ack-event", serious[0], "--reason", "called her; GP informed", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["new"] is True
    row = status_of(hub)
    assert row["serious_unacknowledged"] == 0 and "serious adverse event" not in row["marks"]
    audit = [a for a in audit_rows(hub.db_path) if a["action"] == "ack_event"]
    assert len(audit) == 1 and json.loads(audit[0]["detail"])["reason"] == "called her; GP informed"
    again = hub_cli(hub, "ack-event", serious[0], "--reason", "twice")
    assert again.exit_code == 0 and "acknowledged already" in again.output
    assert len([a for a in audit_rows(hub.db_path) if a["action"] == "ack_event"]) == 1
    # A correction of an acknowledged event needs no second acknowledgement.
    r = cli("event", "ae", "--supersedes", serious[0], "--why", "resolved", "--resolved", "2026-03-05", now=TEN_AM)
    assert r.exit_code == 0 and cli("sync", now=TEN_AM).exit_code == 0
    assert status_of(hub)["serious_unacknowledged"] == 0


def test_rescue_medication_and_dose_change_go_up_in_one_sync_with_their_period(cli, hub, data_dir):
    enrolled(cli, hub)
    assert cli("event", "ae", "--what", "nausea", "--started", "2026-03-05", "--severity", "mild", now=TEN_AM).exit_code == 0
    assert cli("event", "med", "--name", "ibuprofen", "--dose", "400 mg", now=TEN_AM).exit_code == 0
    assert cli("event", "dose", "--amount", "3 mg", "--from", "2026-03-17", now="2026-03-17T08:00").exit_code == 0
    assert json.loads(cli("status", "--json", now="2026-03-17T08:00").output)["events_pending"] == 3
    r = cli("sync", "--json", now="2026-03-17T08:05")
    doc = json.loads(r.output)
    assert r.exit_code == 0 and (doc["events_sent"], doc["events_pending"], doc["error"]) == (3, 0, None)
    from sync.hub.events import received_events

    got = {r["event"].kind: r for r in received_events(hub.store.db, "P01")}
    p = hub.store.reads.participant("P01")
    assert {k: ev.period_of(p.protocol, START, r["event"]).phase.id for k, r in got.items()} == {
        "adverse_event": "baseline", "medication": "baseline", "dose": "placebo"}
    assert status_of(hub)["serious_unacknowledged"] == 0
    listed = json.loads(cli("events", "--json", now="2026-03-17T08:06").output)["events"]
    assert {e["sync"] for e in listed} == {"received"}
    assert json.loads(cli("sync", "--json", now="2026-03-17T08:07").output)["events_sent"] == 0  # nothing again


def post(hub, data_dir, events):
    headers = {"Authorization": f"Bearer {load_token(data_dir)}"}
    return httpx.post(f"{hub.url}/api/v1/events", json={"events": events}, headers=headers)


def test_the_hub_answers_events_as_it_answers_entries(cli, hub, data_dir, monkeypatch):
    enrolled(cli, hub)
    monkeypatch.setenv("DIARY_NOW", TEN_AM)  # the hub's clock too
    diary = Diary(Store.in_dir(data_dir))
    from conftest import at

    a = diary.file_event("adverse_event", {"what": "headache", "started": date(2026, 3, 5), "severity": "moderate"},
                         at(TEN_AM))
    first = post(hub, data_dir, [a.wire()]).json()
    assert first["accepted"] == [a.id] and first["receipts"][0]["content_hash"] == ev.content_hash(a)
    again = post(hub, data_dir, [a.wire()]).json()
    assert again["duplicate"] == [a.id] and again["receipts"] == first["receipts"]
    other = post(hub, data_dir, [a.wire() | {"severity": "severe"}]).json()
    assert other["rejected"] == [{"id": a.id, "error": "an event with this id and other content is already on the hub"}]
    future = a.wire() | {"id": uuid.uuid4().hex, "started": "2026-03-09"}
    assert "has not come yet" in post(hub, data_dir, [future]).json()["rejected"][0]["error"]
    wrong = a.wire() | {"id": str(uuid.uuid4()), "supersedes": a.id, "reason": "x", "kind": "dose",
                        "amount": "3 mg", "from_date": "2026-03-05"}
    for k in ("what", "started", "severity", "serious", "resolved"):
        wrong.pop(k)
    assert "which is an adverse event, not a dose change" in post(hub, data_dir, [wrong]).json()["rejected"][0]["error"]
    stranger = a.wire() | {"id": str(uuid.uuid4()), "participant_id": "P99"}
    assert post(hub, data_dir, [stranger]).status_code == 403
    bad = post(hub, data_dir, [a.wire() | {"severity": "awful"}])
    assert bad.status_code == 422 and "severity" in bad.json()["detail"]
    assert post(hub, data_dir, [a.wire()] * 1001).status_code == 422
    assert "/api/v1/events" in httpx.get(f"{hub.url}/openapi.json").json()["paths"]


def test_a_collected_file_brings_its_events_and_a_second_import_adds_none(tmp_path):
    from conftest import at

    store = Store(tmp_path / "P07" / "diary.db")
    diary = Diary.enroll(store, "P07", builtin_text(), START)
    diary.file_event("adverse_event", {"what": "dizzy", "started": date(2026, 3, 4), "severity": "mild",
                                       "serious": True}, at(TEN_AM))
    diary.file_event("medication", {"name": "paracetamol", "taken": at("2026-03-05T09:00"), "purpose": "rescue"},
                     at(TEN_AM))
    store.close()
    db = tmp_path / "hub.db"
    run = CliRunner()
    r = run.invoke(main, ["hub", "import", "--db", str(db), str(tmp_path / "P07" / "diary.db")])
    assert r.exit_code == 0 and "events: 2 new, 0 already on the hub" in r.output, r.output
    r = run.invoke(main, ["hub", "import", "--db", str(db), str(tmp_path / "P07" / "diary.db")])
    assert "events: 0 new, 2 already on the hub" in r.output
    rows = json.loads(run.invoke(main, ["hub", "status", "--db", str(db), "--json"]).output)["participants"]
    assert rows[0]["serious_unacknowledged"] == 1
