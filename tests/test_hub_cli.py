"""The coordinator's `diary hub ...` commands: enroll, import, status, unblind, export, serve's TLS guard."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from hub_fixture import make_entry, updated_protocol

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store
from sync.hub.store import HubError, HubStore


@pytest.fixture
def hub_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", "2026-03-10T12:00")
    db = tmp_path / "hub.db"

    def run(*args):
        return CliRunner().invoke(main, ["hub", args[0], "--db", str(db), *args[1:]])

    return run


def device_file(tmp_path, pid="P07", days=3):
    store = Store(tmp_path / pid / "diary.db")
    diary = Diary.enroll(store, pid, builtin_text(), date(2026, 3, 2))
    store.save_all([make_entry(pid, date(2026, 3, 2), d, device_id=diary.device_id) for d in range(1, days + 1)])
    store.close()
    return tmp_path / pid / "diary.db"


@pytest.mark.parametrize("cmd", ["serve", "enroll", "protocol", "import", "status", "unblind", "revoke", "export"])
def test_every_hub_command_has_help(cmd):
    r = CliRunner().invoke(main, ["hub", cmd, "--help"])
    assert r.exit_code == 0 and "--db" in r.output


def test_hub_group_lists_report_for_analysis():
    assert "report" in CliRunner().invoke(main, ["hub", "--help"]).output


def test_enroll_prints_a_code(hub_cli):
    r = hub_cli("enroll", "P01", "--start", "2026-03-02", "--json")
    doc = json.loads(r.output)
    assert r.exit_code == 0 and doc["participant_id"] == "P01" and len(doc["code"]) == 9
    assert hub_cli("enroll", "P01", "--protocol", "/nope.toml").exit_code == 1
    assert hub_cli("enroll", "P02", "--tz", "Nowhere/City").exit_code == 2


def test_protocol_updates_need_a_newer_version_and_the_same_phases(hub_cli, tmp_path):
    v2, moved_phase, other = tmp_path / "v2.toml", tmp_path / "v3.toml", tmp_path / "other.toml"
    v2.write_text(updated_protocol(2))
    moved_phase.write_text(updated_protocol(3, days=10))
    other.write_text(updated_protocol(2).replace('id = "ldn-fm"', 'id = "other-study"', 1))
    assert hub_cli("protocol", str(v2)).exit_code == 1  # no such study on the hub yet
    assert hub_cli("enroll", "P01", "--start", "2026-03-02").exit_code == 0
    r = hub_cli("protocol", str(v2), "--json")
    assert r.exit_code == 0 and json.loads(r.output) == {"study_id": "ldn-fm", "version": 2, "participants": ["P01"]}
    r = hub_cli("protocol", str(v2))
    assert r.exit_code == 1 and "not newer than version 2" in r.output
    r = hub_cli("protocol", str(moved_phase))
    assert r.exit_code == 1 and "phases' ids, lengths or roles" in r.output
    dropped = tmp_path / "dropped.toml"
    dropped.write_text(updated_protocol(3).replace('id = "note"', 'id = "notes"'))
    r = hub_cli("protocol", str(dropped))
    assert r.exit_code == 1 and "removes item 'note'" in r.output
    flipped = tmp_path / "flipped.toml"
    flipped.write_text(updated_protocol(3).replace('better = "higher"', 'better = "lower"', 1))
    assert "direction" in hub_cli("protocol", str(flipped)).output
    assert hub_cli("protocol", str(other)).exit_code == 1
    assert hub_cli("enroll", "P01").exit_code == 0  # a replacement device's code: the participant stays on version 2
    assert hub_cli("enroll", "P02").exit_code == 0  # the built-in version 1: a new participant joins at version 2
    assert [p.protocol_version for p in HubStore(tmp_path / "hub.db").reads.participants()] == [2, 2]
    r = hub_cli("enroll", "P03", "--protocol", str(dropped))  # version 3, never published
    assert r.exit_code == 1 and "publish version 3" in r.output


def test_import_is_idempotent_and_status_reports_compliance(hub_cli, tmp_path, monkeypatch):
    monkeypatch.delenv("DIARY_NOW")  # filed on the device's own clock: no doubt (a doubted day came too late to count)
    f = device_file(tmp_path)
    monkeypatch.setenv("DIARY_NOW", "2026-03-10T12:00")
    before = f.read_bytes()
    r = hub_cli("import", str(f))
    assert r.exit_code == 0 and "P07 (new): 3 new" in r.output, r.output
    assert "0 new, 3 already on the hub" in hub_cli("import", str(f)).output
    assert f.read_bytes() == before  # the collected file is never written to
    doc = json.loads(hub_cli("status", "--json").output)["participants"][0]
    assert {k: doc[k] for k in ("participant_id", "entries", "late", "missed", "quarantined")} == \
        {"participant_id": "P07", "entries": 3, "late": 0, "missed": 5, "quarantined": 0}
    assert doc["compliance"] == pytest.approx(3 / 8) and doc["phases"]["baseline"]["done"] == 3
    assert doc["last_received_at"]
    assert "P07" in hub_cli("status").output


def test_import_refuses_a_tampered_file_unless_forced(hub_cli, tmp_path):
    f = device_file(tmp_path)
    with sqlite3.connect(f) as c:
        c.execute("DROP TRIGGER entries_no_update")
        c.execute("UPDATE entries SET answers = replace(answers, '50', '51') WHERE study_day = 2")
    r = hub_cli("import", str(f))
    assert r.exit_code == 1 and "fails verification" in r.output
    r = hub_cli("import", "--force", str(f))
    assert r.exit_code == 0 and "3 new" in r.output


def test_import_refuses_a_double_blind_file_of_a_participant_the_hub_does_not_know(hub_cli, tmp_path):
    from diary_client.core.protocol import masked, parse_protocol, to_toml

    double = parse_protocol(builtin_text().replace('blinding = "single"', 'blinding = "double"'))
    store = Store(tmp_path / "P09" / "diary.db")
    Diary.enroll(store, "P09", to_toml(masked(double)), date(2026, 3, 2))
    store.close()
    r = hub_cli("import", str(tmp_path / "P09" / "diary.db"))
    assert r.exit_code == 1 and "masked copy" in r.output


def test_import_of_a_non_diary_file_is_one_line(hub_cli, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite")
    r = hub_cli("import", str(junk))
    assert r.exit_code == 1 and "not a readable diary database" in r.output and "Traceback" not in r.output
    assert hub_cli("import", str(tmp_path / "missing.db")).exit_code == 1


def test_unblind_and_export(hub_cli, tmp_path):
    p07 = device_file(tmp_path, "P07")
    store = Store(p07)
    doubted = store.entries()[1].id
    store.flag(doubted, "clock_backwards", "submitted_at is before an earlier entry's")
    store.close()
    hub_cli("import", str(p07))
    hub_cli("import", str(device_file(tmp_path, "P08", days=2)))
    assert hub_cli("unblind").exit_code == 2
    assert hub_cli("unblind", "P99").exit_code == 1
    assert "P07" in hub_cli("unblind", "P07", "--reason", "a serious adverse event", "--yes").output
    out, folder = tmp_path / "out.db", tmp_path / "csv"
    r = hub_cli("export", "--sqlite", str(out), "--csv", str(folder))
    assert r.exit_code == 0, r.output
    db = sqlite3.connect(out)
    assert db.execute("SELECT COUNT(*) FROM entries").fetchone() == (5,)
    assert db.execute("SELECT unblinded FROM participants ORDER BY participant_id").fetchall() == [(1,), (0,)]
    assert db.execute("SELECT COUNT(*) FROM answers WHERE item_id = 'severity' AND value_num = 50").fetchone() == (5,)
    assert db.execute("SELECT label, start FROM phases WHERE participant_id = 'P07' AND phase_id = 'ldn'").fetchone() \
        == ("Naltrexone 4.5 mg", "2026-03-30")
    assert {r[0] for r in db.execute("SELECT DISTINCT phase_id FROM entries")} == {"baseline"}
    # The files were written while DIARY_NOW set the clock: every entry is clock_override too.
    assert db.execute("SELECT id, flags FROM entries WHERE flags LIKE '%backwards%'").fetchall() \
        == [(doubted, "clock_backwards;clock_override")]
    status = {r["participant_id"]: r["flagged"] for r in json.loads(hub_cli("status", "--json").output)["participants"]}
    assert status == {"P07": 3, "P08": 2}
    with (folder / "answers.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5 * 11 and rows[0]["phase_id"] == "baseline"
    assert hub_cli("export").exit_code == 2
    r = hub_cli("export", "--sqlite", str(tmp_path / "hub.db"))  # a slip that would replace the hub's data
    assert r.exit_code == 1 and "the hub's own database" in r.output
    assert hub_cli("status").exit_code == 0


def test_missing_hub_db_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["hub", "status", "--db", str(tmp_path / "typo.db")])
    assert r.exit_code == 1 and "no hub database" in r.output


def test_serve_refuses_plain_http_off_loopback(tmp_path):
    r = CliRunner().invoke(main, ["hub", "serve", "--db", str(tmp_path / "h.db"), "--host", "0.0.0.0"])
    assert r.exit_code == 1 and "--insecure" in r.output


def test_serve_on_a_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(main, ["hub", "serve", "--db", str(tmp_path / "h.db"), "--port", str(port)])
    assert r.exit_code == 1 and "is a hub already running there" in r.output and r.output.count("\n") == 1


def test_reading_commands_open_the_hub_read_only(hub_cli, tmp_path):
    from conftest import one_line_error

    hub_cli("import", str(device_file(tmp_path, "P07")))
    db, key = tmp_path / "hub.db", tmp_path / "hub.db.key"
    key.unlink()  # a reading command needs no key, and must not make a new one (it would orphan every token)
    before = sqlite3.connect(db).execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    assert hub_cli("status", "--json").exit_code == 0
    assert hub_cli("report").exit_code == 0
    r = hub_cli("export", "--sqlite", str(tmp_path / "out.db"))
    assert r.exit_code == 0, r.output
    assert not key.exists()
    actions = [a for (a,) in sqlite3.connect(db).execute("SELECT action FROM audit ORDER BY seq")]
    assert len(actions) == before + 1 and actions[-1] == "export"  # the export is still audited
    with pytest.raises(HubError, match="read-only"):
        HubStore.open_readonly(db).enrolment.enroll("P09", builtin_text(), None, "UTC", datetime.now(UTC))
    one_line_error(CliRunner().invoke(main, ["hub", "status", "--db", str(tmp_path / "out.db")]), "not a hub database")


def test_a_reading_command_on_an_older_hub_says_to_upgrade_it_and_leaves_it_as_it_was(tmp_path):
    import shutil
    from pathlib import Path

    from conftest import one_line_error

    db = tmp_path / "hub.db"
    shutil.copy(Path(__file__).parent / "data" / "hub-0006.db", db)
    before = db.read_bytes()
    for cmd in (["status"], ["report"], ["export", "--csv", str(tmp_path / "csv")]):
        one_line_error(CliRunner().invoke(main, ["hub", *cmd, "--db", str(db)]), "older version", "hub serve")
    assert db.read_bytes() == before  # not migrated
    assert not (tmp_path / "hub.db.key").exists() and not (tmp_path / "csv").exists()
