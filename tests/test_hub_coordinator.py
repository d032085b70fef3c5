"""Issue 21's coordinator points: DIARY_NOW said on stderr, `hub set-start`, `hub status` at 80 columns."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from conftest import at
from hub_fixture import make_entry, running_hub

from diary_client.cli import main
from diary_client.protocol import builtin_text
from diary_client.store import Store
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = "2026-03-12T12:00"


@pytest.fixture
def hub_db(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", NOW)
    db = tmp_path / "hub.db"
    hub = HubStore(db)
    hub.enrolment.register("P01", builtin_text(), START, "UTC", at("2026-03-01T09:00"))
    hub.ingest("P01", [make_entry("P01", START, d) for d in range(1, 6)], at("2026-03-07T09:00"))
    hub.close()
    return db


def run_hub(db, *args: str):
    return CliRunner().invoke(main, ["hub", args[0], "--db", str(db), *args[1:]], catch_exceptions=False)


# -- 10: DIARY_NOW is said whenever it is in force --------------------------------------------------


def test_diary_now_in_force_is_one_line_on_stderr_for_hub_and_device_commands(hub_db, data_dir, monkeypatch):
    monkeypatch.delenv("DIARY_NOW_QUIET")
    r = run_hub(hub_db, "status", "--json")
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # stdout stays one JSON document
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"diary: DIARY_NOW={NOW} is in force"), r.stderr
    assert "2026-03-12 12:00" in r.stderr and "unset DIARY_NOW" in r.stderr
    device = CliRunner().invoke(main, ["enroll", "--participant", "P09", "--json"], catch_exceptions=False)
    assert device.exit_code == 0, device.output
    assert json.loads(device.stdout)["start"] == "2026-03-12"
    assert device.stderr.startswith(f"diary: DIARY_NOW={NOW} is in force"), device.stderr


def test_no_notice_without_diary_now(hub_db, monkeypatch):
    monkeypatch.delenv("DIARY_NOW_QUIET")
    monkeypatch.delenv("DIARY_NOW")
    r = run_hub(hub_db, "status", "--json")
    assert r.exit_code == 0 and r.stderr == "", r.stderr


# -- 7: day 1 -------------------------------------------------------------------------------------


def audit_actions(db) -> list[tuple[str, str]]:
    hub = HubStore(db)
    with hub.db.read() as c:
        rows = [(r[0], r[1]) for r in c.conn.execute("SELECT action, detail FROM audit ORDER BY seq")]
    hub.close()
    return rows


def test_set_start_moves_day_1_while_the_hub_holds_no_entries_and_is_audited(hub_db):
    hub = HubStore(hub_db)
    hub.enrolment.register("P02", builtin_text(), date(2026, 3, 10), "UTC", at("2026-03-01T09:00"))
    hub.close()
    r = run_hub(hub_db, "set-start", "P02", "--start", "2026-03-09", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"participant_id": "P02", "start": "2026-03-09", "was": "2026-03-10"}
    action, detail = audit_actions(hub_db)[-1]
    assert action == "set_start" and json.loads(detail)["was"] == "2026-03-10"
    status = {row["participant_id"]: row for row in json.loads(run_hub(hub_db, "status", "--json").stdout)["participants"]}
    assert status["P02"]["start"] == "2026-03-09"


def test_set_start_is_refused_in_one_line_once_the_hub_holds_entries(hub_db):
    r = run_hub(hub_db, "set-start", "P01", "--start", "2026-03-03")
    assert r.exit_code == 1 and r.output.count("\n") == 1, r.output
    assert "5 entries of P01" in r.output and "2026-03-02" in r.output and "2026-03-03" in r.output
    assert "set_start" not in [a for a, _ in audit_actions(hub_db)]


def test_online_enrolment_takes_day_1_from_the_device_and_a_corrected_day_1_reaches_it(tmp_path, cli, data_dir):
    # The hub's clock is still on the 11th (UTC) while the participant's device reads the 12th.
    with running_hub(tmp_path / "hub.db", now=lambda: at("2026-03-11T23:30")) as h:
        code = h.code("P05", None, now=at("2026-03-11T09:00"))
        r = cli("enroll", "--participant", "P05", "--hub", h.url, "--code", code, "--json", now="2026-03-12T00:30")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["start"] == "2026-03-12"  # the device's date, as documented
        assert h.store.reads.participant("P05").start == date(2026, 3, 12)
        # The coordinator corrects it before anything was filed; the device takes it at its next sync.
        r = run_hub(h.db_path, "set-start", "P05", "--start", "2026-03-11")
        assert r.exit_code == 0, r.output
        r = cli("sync", now="2026-03-12T00:40")
        assert r.exit_code == 0 and "Day 1 is now 2026-03-11" in r.stdout, r.output
        assert Store.in_dir(data_dir).settings()["start"] == "2026-03-11"
