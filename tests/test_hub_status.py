"""`hub status`: marks for who needs a call, and participants left out with why (never a failed command)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from click.testing import CliRunner
from conftest import at
from hub_fixture import make_entry

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = "2026-03-12T12:00"  # day 11; day 10's grace ended at 11:59


@pytest.fixture
def hub_db(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", NOW)
    db = tmp_path / "hub.db"
    hub = HubStore(db)

    def person(pid, days, received, start=START, device=True):
        hub.enrolment.register(pid, builtin_text(), start, "UTC", at("2026-03-01T09:00"))
        if device:  # a device that syncs (else: diary files collected at visits)
            code = hub.enrolment.enroll(pid, builtin_text(), start, "UTC", at("2026-03-01T09:00"))
            hub.enrolment.redeem(code, "pi", at("2026-03-01T09:05"))
        if days:
            got = hub.ingest(pid, [make_entry(pid, START, d) for d in range(1, days + 1)], at(received))
            assert not got.rejected, got.rejected

    person("A", 10, "2026-03-12T09:00")  # filed yesterday, uploaded this morning
    person("B", 9, "2026-03-11T20:00")  # missed yesterday
    person("C", 6, "2026-03-07T20:00")  # nothing since 5 days
    person("D", 0, "", start=None, device=False)  # pre-enrolled, no day 1, no device yet
    person("E", 10, "2026-03-12T09:00")
    person("F", 3, "2026-03-12T09:00")
    person("G", 0, "", start=date(2026, 6, 1))  # starts later: nothing expected yet
    person("H", 6, "2026-03-07T20:00", device=False)  # collected at a visit 5 days ago: not judged by yesterday
    hub.close()
    with sqlite3.connect(db) as c:
        c.execute("UPDATE entries SET body = '{\"id\": broken' WHERE participant_id = 'E' AND diary_date = '2026-03-05'")
        c.execute("UPDATE participants SET tz = 'Mars/Olympus_Mons' WHERE participant_id = 'F'")
    return db


def test_status_marks_who_missed_yesterday_and_who_has_not_uploaded_for_3_days(hub_db):
    r = CliRunner().invoke(main, ["hub", "status", "--db", str(hub_db), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    rows = {row["participant_id"]: row for row in doc["participants"]}
    assert set(rows) == {"A", "B", "C", "D", "E", "G", "H"}  # status counts in SQL: E's damaged entry is not read
    assert rows["A"]["marks"] == [] and rows["A"]["yesterday"] == "done"
    assert rows["B"]["marks"] == ["missed yesterday"] and rows["B"]["missed_yesterday"] and not rows["B"]["stale"]
    assert rows["C"]["stale"] and rows["C"]["days_since_upload"] == pytest.approx(4.67, abs=0.01)
    assert rows["C"]["marks"] == ["missed yesterday", "no upload for 5 days"]
    assert rows["D"]["start"] is None and rows["D"]["marks"] == []
    assert rows["G"]["marks"] == [] and rows["G"]["yesterday"] is None
    assert rows["H"]["marks"] == [] and rows["H"]["collected_by_hand"] and rows["H"]["yesterday"] == "missed"
    left = {x["participant_id"]: x["reason"] for x in doc["left_out"]}
    assert set(left) == {"F"} and "'Mars/Olympus_Mons' is not an IANA zone" in left["F"]


def test_status_text_shows_the_marks_and_names_those_left_out_on_stderr(hub_db):
    r = CliRunner().invoke(main, ["hub", "status", "--db", str(hub_db)])
    assert r.exit_code == 0, r.output
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln and not ln[0].isdigit()}
    assert "!" not in lines["A"] and "! missed yesterday" in lines["B"]
    assert "! no upload for 5 days" in lines["C"] and "no day 1 yet" in lines["D"]
    assert "2 participant(s) marked ! need a call." in r.stdout  # B and C (E filed yesterday)
    assert r.stderr.startswith("left out: F (its time zone 'Mars/Olympus_Mons'")
    assert "Traceback" not in r.output


def test_report_and_export_leave_out_the_damaged_and_the_not_started_and_say_why(hub_db, tmp_path):
    r = CliRunner().invoke(main, ["hub", "report", "--db", str(hub_db), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [p["participant_id"] for p in doc["participants"]] == ["A", "B", "C", "G", "H"]
    assert {x["participant_id"] for x in doc["left_out"]} == {"D", "E", "F"}
    assert r.stderr.startswith("left out: D (no day 1 yet") and "E (an entry on the hub is damaged" in r.stderr

    r = CliRunner().invoke(main, ["hub", "export", "--db", str(hub_db), "--sqlite", str(tmp_path / "out.db")])
    assert r.exit_code == 0, r.output
    got = sqlite3.connect(tmp_path / "out.db").execute("SELECT participant_id FROM participants ORDER BY 1").fetchall()
    assert [g[0] for g in got] == ["A", "B", "C", "D", "G", "H"]
    assert "left out: E (an entry on the hub is damaged" in r.stderr and "F (its time zone" in r.stderr


def test_a_report_with_nobody_to_report_on_names_who_and_why(tmp_path):
    db = tmp_path / "hub.db"
    CliRunner().invoke(main, ["hub", "enroll", "--db", str(db), "D1"])
    r = CliRunner().invoke(main, ["hub", "report", "--db", str(db)])
    assert r.exit_code == 1 and "can be reported on yet: left out: D1 (no day 1 yet" in r.output
    assert r.output.count("\n") == 1


def test_a_participant_whose_files_are_collected_is_marked_after_a_visit_interval():
    from conftest import at

    from sync.hub.followup import follow_up
    from sync.hub.rules import Participant

    p = Participant("V", "ldn-fm", 1, builtin_text(), START, "UTC", False, "2026-03-01T09:00:00+00:00")
    late = follow_up(p, False, "2026-03-20T10:00:00+00:00", at("2026-04-05T12:00"), syncs=False)
    assert late.marks() == ["no file collected for 16 days"] and not late.missed_yesterday
    assert follow_up(p, False, "2026-03-20T10:00:00+00:00", at("2026-04-05T12:00")).marks() == \
        ["missed yesterday", "no upload for 16 days"]


def test_the_roster_shares_one_protocol_text_per_study_version(hub_db):
    # sqlite3 hands back a new string per row: 10,000 participants' copies were ~30 MB of a report's memory
    from sync.hub import roster

    people = roster.read(HubStore(hub_db)).people
    assert len(people) >= 3
    assert len({id(p.protocol_toml) for p in people}) == 1
    assert people[0].protocol_toml == builtin_text()
