"""Issue 21's coordinator points: DIARY_NOW said on stderr, `hub set-start`, `hub status` at 80 columns."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from conftest import at
from hub_fixture import make_entry, running_hub

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from diary_client.device.store import Store
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


# -- 8: hub status at 80 columns --------------------------------------------------------------------


@pytest.fixture
def twenty(tmp_path, monkeypatch):
    """20 participants: running (some marked), not started, without day 1, finished, a long id."""
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", NOW)
    db = tmp_path / "hub.db"
    hub = HubStore(db)
    for n in range(20):
        pid = f"P{n:02d}" if n != 7 else "P07-with-a-much-longer-site-prefix"
        start = {3: None, 4: date(2026, 6, 1), 5: date(2025, 9, 1)}.get(n, START)
        hub.enrolment.register(pid, builtin_text(), start, "UTC", at("2026-03-01T09:00"))
        if start is not None:  # a device enrolled (without one: no day 1 yet)
            code = hub.enrolment.enroll(pid, builtin_text(), start, "UTC", at("2026-03-01T09:00"))
            hub.enrolment.redeem(code, "pi", at("2026-03-01T09:05"))
        if start == START:
            days = 10 if n % 3 else 4  # every third stopped on day 4: missed yesterday and no upload for days
            hub.ingest(pid, [make_entry(pid, START, d) for d in range(1, days + 1)],
                       at("2026-03-12T10:00" if days == 10 else "2026-03-06T08:00"))
    hub.close()
    return db


def test_status_is_one_line_of_at_most_80_columns_per_participant_for_20(twenty):
    r = run_hub(twenty, "status")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("participant") and lines[-1].endswith("need a call.")
    rows = lines[1:-1]
    assert len(rows) == 20, r.stdout
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    by_id = {line.split()[0]: line for line in rows}
    assert by_id["P01"].split()[1:5] == ["d", "11/98", "Baseline", "2"] and "2 h ago" in by_id["P01"]
    assert "100%" in by_id["P01"] and "!" not in by_id["P01"]
    assert "6 d ago" in by_id["P00"] and "! no upload for 6 days" in by_id["P00"]
    assert "before" in by_id["P04"] and "from 2026-06-01" in by_id["P04"]
    assert "ended" in by_id["P05"] and "no day 1 yet" in by_id["P03"]
    assert "P07-with-a-…" in by_id and "2026-03-12T" not in r.stdout  # no raw ISO times at 80 columns


def test_status_wide_and_json_keep_every_count_and_add_study_day_and_period(twenty):
    wide = run_hub(twenty, "status", "--wide").stdout.splitlines()
    assert len(wide) == 21 and any("late" in line and "quarantined" in line and "day 11/98 Baseline" in line
                                     for line in wide)
    doc = json.loads(run_hub(twenty, "status", "--json").stdout)
    rows = {row["participant_id"]: row for row in doc["participants"]}
    p01 = rows["P01"]
    for key in ("participant_id", "study_id", "start", "entries", "last_received_at", "compliance", "done", "late",
                "missed", "on_time", "imported", "flagged_days", "quarantined", "unblinded", "phases", "flagged",
                "problem", "yesterday", "missed_yesterday", "days_since_upload", "stale", "collected_by_hand", "marks"):
        assert key in p01, key
    assert (p01["study_day"], p01["days_total"], p01["stage"]) == (11, 98, "running")
    assert p01["period"] == {"id": "baseline", "label": "Baseline"}
    assert rows["P04"]["stage"] == "before" and rows["P04"]["study_day"] is None
    assert rows["P03"]["stage"] == "no_day_1" and rows["P05"]["stage"] == "finished"
