"""Collected diary files always come in: pre-enrolled without a day 1, device enrolled offline, file imported."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from hub_fixture import audit_rows, make_entry

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store
from sync.hub.importer import reason_kind
from sync.hub.store import HubStore

REPORT = ["severity=40", "pain=35", "fatigue=50", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=5", "thinking=30", "side_effects=vivid dreams"]


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")

    def run(*args: str, now: str):
        monkeypatch.setenv("DIARY_NOW", now)
        return CliRunner().invoke(main, list(args))

    return run


def test_a_pre_enrolled_participant_takes_the_collected_files_day_1(tmp_path, run):
    db, device = str(tmp_path / "study.db"), str(tmp_path / "C00")
    assert run("hub", "enroll", "--db", db, "C00", now="2026-03-01T10:00").exit_code == 0  # no --start
    r = run("--data-dir", device, "enroll", "--participant", "C00", "--start", "2026-03-02", now="2026-03-02T09:00")
    assert r.exit_code == 0, r.output
    for day in (2, 3, 4, 6):  # the 5th is missed
        r = run("--data-dir", device, "record", *REPORT, now=f"2026-03-{day:02d}T19:30")
        assert r.exit_code == 0, r.output

    r = run("hub", "import", "--db", db, f"{device}/diary.db", now="2026-03-07T10:00")
    assert r.exit_code == 0, r.output
    assert "4 new, 0 already on the hub, 0 rejected" in r.output
    zone = Store(tmp_path / "C00" / "diary.db").settings()["timezone"]  # as the device saw it (UTC here)
    assert zone in ("UTC", "Etc/UTC") and f"day 1 of C00 is now 2026-03-02 ({zone}), from the file" in r.output

    hub = HubStore(db)
    device_ids = {e.id for e in Store(tmp_path / "C00" / "diary.db").entries()}
    assert {e.id for e in hub.reads.entries("C00")} == device_ids and len(device_ids) == 4
    assert hub.reads.participant("C00").start == date(2026, 3, 2)
    took = [a for a in audit_rows(db) if a["action"] == "take_start"]
    assert len(took) == 1 and json.loads(took[0]["detail"])["was"] is None

    r = run("hub", "report", "--db", db, "--json", now="2026-03-07T10:00")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [p["participant_id"] for p in doc["participants"]] == ["C00"]
    assert doc["participants"][0]["phases"][0]["n"] == 4


def test_the_files_time_zone_replaces_the_hubs_guess(tmp_path, run):
    db = str(tmp_path / "study.db")
    run("hub", "enroll", "--db", db, "C01", "--tz", "UTC", now="2026-03-01T10:00")
    store = Store(tmp_path / "C01" / "diary.db")
    Diary.enroll(store, "C01", builtin_text(), date(2026, 3, 2), timezone="Europe/Berlin")
    store.close()
    r = run("hub", "import", "--db", db, str(tmp_path / "C01" / "diary.db"), now="2026-03-03T10:00")
    assert r.exit_code == 0, r.output
    assert HubStore(db).reads.participant("C01").tz == "Europe/Berlin"


def test_a_file_whose_day_1_disagrees_is_refused_naming_both_dates_and_the_fix(tmp_path, run):
    db, device = str(tmp_path / "study.db"), str(tmp_path / "C02")
    run("hub", "enroll", "--db", db, "C02", "--start", "2026-03-02", now="2026-03-01T10:00")
    run("--data-dir", device, "enroll", "--participant", "C02", "--start", "2026-03-03", now="2026-03-03T09:00")
    assert run("--data-dir", device, "record", *REPORT, now="2026-03-03T19:30").exit_code == 0
    r = run("hub", "import", "--db", db, f"{device}/diary.db", now="2026-03-04T10:00")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "2026-03-03 in this file but 2026-03-02 on the hub" in r.output and "--take-start" in r.output
    assert HubStore(db).reads.entries("C02") == [] and HubStore(db).reads.participant("C02").start == date(2026, 3, 2)

    # the fix, while the hub holds none of C02's entries
    r = run("hub", "import", "--db", db, "--take-start", f"{device}/diary.db", now="2026-03-04T10:00")
    assert r.exit_code == 0, r.output
    assert HubStore(db).reads.participant("C02").start == date(2026, 3, 3) and len(HubStore(db).reads.entries("C02")) == 1

    # once entries are on the hub, day 1 stays
    other = Store(tmp_path / "C02b" / "diary.db")
    Diary.enroll(other, "C02", builtin_text(), date(2026, 3, 1))
    other.close()
    r = run("hub", "import", "--db", db, "--take-start", str(tmp_path / "C02b" / "diary.db"), now="2026-03-04T10:00")
    assert r.exit_code == 1 and "already holds 1 entries of C02" in r.output


def test_an_import_with_rejected_entries_sums_them_up_by_reason_and_exits_1(tmp_path, run):
    db = str(tmp_path / "study.db")
    start = date(2026, 3, 2)
    first, second = Store(tmp_path / "a" / "diary.db"), Store(tmp_path / "b" / "diary.db")
    a = Diary.enroll(first, "C03", builtin_text(), start)
    b = Diary.enroll(second, "C03", builtin_text(), start)  # a second device of the same participant
    first.save_all([make_entry("C03", start, d, device_id=a.device_id) for d in (1, 2, 3)])
    second.save_all([make_entry("C03", start, d, device_id=b.device_id) for d in (1, 2, 3, 4)]
                    + [make_entry("C03", start, 5, device_id=b.device_id, answers={"severity": 500})])
    first.close()
    second.close()
    assert run("hub", "import", "--db", db, str(tmp_path / "a" / "diary.db"), now="2026-03-09T10:00").exit_code == 0
    # A device the hub does not know for C03 (it never synced): only with --force (trust-device).
    r = run("hub", "import", "--db", db, str(tmp_path / "b" / "diary.db"), now="2026-03-09T10:00")
    assert r.exit_code == 1 and "not one of C03's devices" in r.output
    r = run("hub", "import", "--db", db, "--force", str(tmp_path / "b" / "diary.db"), now="2026-03-09T10:00")
    assert r.exit_code == 1, r.output
    assert "1 new, 0 already on the hub, 4 rejected" in r.output
    summary = r.stdout.split("Rejected entries by reason:\n")[1].splitlines()
    assert summary[0].split()[0] == "3" and "already has a report on the hub" in summary[0]
    assert summary[1].split()[0] == "1"
    assert "4 entries were rejected" in r.stderr
    r = run("hub", "import", "--db", db, "--json", "--force", str(tmp_path / "b" / "diary.db"), now="2026-03-09T10:00")
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and sum(x["count"] for x in doc["rejected_by_reason"]) == 4


def test_reason_kinds_drop_the_particulars():
    a = "2026-03-02 already has a report on the hub (entry 0b5c3f0e-5a52-4d8e-9b0f-8f2b0c1d2e3f); a change must be a correction"
    b = "2026-03-09 already has a report on the hub (entry 1c5c3f0e-5a52-4d8e-9b0f-8f2b0c1d2e3f); a change must be a correction"
    assert reason_kind(a) == reason_kind(b) and "<date>" in reason_kind(a)
    assert reason_kind("severity: 500 is outside 0–100") == reason_kind("severity: 101 is outside 0–100")


def test_a_new_code_for_a_known_participant_keeps_their_study(tmp_path, run):
    db, study = str(tmp_path / "study.db"), tmp_path / "study.toml"
    study.write_text(builtin_text().replace('id = "ldn-fm"', 'id = "pilot"', 1))
    assert run("hub", "enroll", "--db", db, "C04", "--protocol", str(study), now="2026-03-01T10:00").exit_code == 0
    r = run("hub", "enroll", "--db", db, "C04", now="2026-03-02T10:00")  # a replaced device: no --protocol again
    assert r.exit_code == 0 and "Enrolment code for C04" in r.output, r.output
    assert HubStore(db).reads.participant("C04").study_id == "pilot"
