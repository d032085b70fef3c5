"""Every date from outside is bounded (diary_client.core.bounds): day 1, DIARY_NOW, reports for days to
come; a participant with a bad value already on the hub never takes the others' status, export or
report down. Real files, a real uvicorn hub."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from conftest import one_line_error
from hub_fixture import make_entry, running_hub

from diary_client.cli.tree import main

START = date(2026, 3, 2)


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env={"TZ": "UTC", "DIARY_NOW": "2026-03-10T12:00"} | (env or {}))


def test_a_far_future_day_1_is_refused_at_every_edge(tmp_path):
    db = str(tmp_path / "hub.db")
    one_line_error(run("hub", "enroll", "--db", db, "P01", "--start", "9999-12-31"), "day 1 9999-12-31 is outside")
    one_line_error(run("hub", "enroll", "--db", db, "P01", "--start", "1999-12-31"), "outside 2000-01-01")
    one_line_error(run("--data-dir", str(tmp_path / "d"), "enroll", "--participant", "P01", "--start", "9999-12-20"),
                   "day 1 9999-12-20")
    with running_hub(tmp_path / "served.db") as hub:
        code = hub.code("P03")  # no day 1: the device's enrolment gives it
        r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device": "x", "start": "9999-12-20"})
        assert r.status_code == 422 and r.json()["detail"].startswith("start: day 1 9999-12-20 is outside")
        one_line_error(run("--data-dir", str(tmp_path / "dev"), "enroll", "--participant", "P03", "--hub", hub.url,
                           "--code", code, "--start", "9999-12-20", env={"DIARY_NOW": ""}), "9999-12-20")
        # The code is still good: the same device enrols with a sane day 1.
        assert httpx.post(f"{hub.url}/api/v1/enroll", json={"code": code, "device": "x"}).status_code == 200


def test_diary_now_out_of_range_is_one_line(tmp_path):
    d = str(tmp_path / "d")
    assert run("--data-dir", d, "enroll", "--participant", "P01", "--start", "2026-03-09").exit_code == 0
    one_line_error(run("--data-dir", d, "status", env={"DIARY_NOW": "0001-01-01T00:00"}), "DIARY_NOW", "outside")
    one_line_error(run("--data-dir", d, "status", env={"DIARY_NOW": "9999-12-31T23:59"}), "DIARY_NOW", "outside")


def test_a_bad_day_1_on_the_hub_is_shown_and_the_others_still_read(tmp_path):
    db = tmp_path / "hub.db"
    for pid in ("P01", "P02", "P03"):
        assert run("hub", "enroll", "--db", str(db), pid, "--start", "2026-03-02").exit_code == 0
    with running_hub(db) as hub:
        hub.store.ingest("P01", [make_entry("P01", START, d) for d in (1, 2, 3)], datetime(2026, 3, 10, tzinfo=UTC))
        tokens = {pid: hub.store.enrolment.redeem(hub.code(pid), "t", datetime.now(UTC)).token for pid in ("P02",)}
        with sqlite3.connect(db) as c:  # as a hub before the bounds could have stored them
            c.execute("UPDATE participants SET start = '9999-12-20' WHERE participant_id = 'P02'")
            c.execute("UPDATE participants SET start = 'soon' WHERE participant_id = 'P03'")
        me = httpx.get(f"{hub.url}/api/v1/me", headers={"Authorization": f"Bearer {tokens['P02']}"})
        assert me.status_code == 200 and me.json()["start"] is None
    r = run("hub", "status", "--db", str(db), "--json")
    assert r.exit_code == 0, r.output
    rows = {p["participant_id"]: p for p in json.loads(r.output)["participants"]}
    assert rows["P01"]["entries"] == 3 and rows["P01"]["problem"] is None
    assert "9999-12-20 is outside" in rows["P02"]["problem"] and "not a date" in rows["P03"]["problem"]
    r = run("hub", "status", "--db", str(db))
    assert r.exit_code == 0 and "DAMAGED" in r.output and "P01" in r.output
    r = run("hub", "export", "--db", str(db), "--csv", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    assert "P01" in (tmp_path / "out" / "participants.csv").read_text()
    r = run("hub", "report", "--db", str(db), "--json")
    assert r.exit_code == 0, r.output
    assert [p["participant_id"] for p in json.loads(r.stdout)["participants"]] == ["P01"]


@pytest.mark.parametrize("ahead, verdict", [(0, "accepted"), (1, "accepted"), (2, "rejected"), (30, "rejected")])
def test_the_hub_refuses_reports_for_days_to_come(tmp_path, ahead, verdict):
    with running_hub(tmp_path / "hub.db") as hub:
        today = datetime.now(UTC).date()
        start = today - timedelta(days=20)
        token = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": hub.code("P01", start), "device": "t"}).json()["token"]
        e = make_entry("P01", start, 21 + ahead)
        r = httpx.post(f"{hub.url}/api/v1/entries", headers={"Authorization": f"Bearer {token}"},
                       json={"entries": [e.wire()]}).json()
        assert (r["accepted"] == [e.id]) == (verdict == "accepted")
        if verdict == "rejected":
            assert "has not come yet" in r["rejected"][0]["error"]
