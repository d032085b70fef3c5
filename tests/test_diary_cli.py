"""The participant commands: enroll, status, record, import, export, verify — and their errors."""

import csv
import json
from datetime import timedelta

import numpy as np
import pytest
from conftest import START

from analysis.simulate import simulate
from diary_client.core.answers import format_value
from diary_client.core.protocol import load_protocol
from diary_client.device.store import Store

P = load_protocol()
VALUES = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=5", "thinking=30", "side_effects=nausea;insomnia"]


def entries(data_dir):
    return Store.in_dir(data_dir).entries()


def assert_user_error(result, fragment):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def enrolled(cli):
    r = cli("enroll", "--participant", "P01", "--start", str(START), now="2026-03-02T10:00")
    assert r.exit_code == 0, r.output
    return cli


def write_csv(path, days: dict):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", *[i.id for i in P.items]])
        for d, a in days.items():
            w.writerow([d, *[format_value(i, a.get(i.id)) for i in P.items]])


def test_enroll_status_record_flow(enrolled, data_dir):
    r = enrolled("status", "--json", now="2026-03-02T19:00")
    s = json.loads(r.stdout)
    assert (s["study_day"], s["days_total"], s["today"], s["phase_label"], s["blinded"]) == (1, 98, "open", "Run-in", True)
    for key in ("participant_id", "study_id", "done", "late", "missed", "compliance", "pending_upload", "quarantined"):
        assert key in s
    r = enrolled("record", *VALUES, now="2026-03-02T19:42")
    assert r.exit_code == 0 and "saved at 19:42" in r.stdout
    assert (data_dir / "backups" / "diary-2026-03-02.db").exists()  # the daily copy
    [e] = entries(data_dir)
    assert e.answers["side_effects"] == ["nausea", "insomnia"] and e.source == "cli"
    assert_user_error(enrolled("record", "pain=10", now="2026-03-02T19:50"), "already saved; to change it")
    r = enrolled("record", "--reason", "pain was worse", "pain=70", now="2026-03-02T20:00")
    assert r.exit_code == 0 and "Correction" in r.stdout
    old, new = entries(data_dir)
    assert new.supersedes == old.id and new.answers == old.answers | {"pain": 70}
    s = json.loads(enrolled("status", "--json", now="2026-03-05T19:00").stdout)
    assert (s["done"], s["missed"], s["today"], s["pending_upload"]) == (1, 2, "open", 2)


@pytest.mark.parametrize("args,now,fragment", [
    (["severity=500"], "2026-03-02T19:00", "severity: 500 is outside"),
    (VALUES[:-1] + ["side_effects=hives"], "2026-03-02T19:00", "'hives' is not one of"),
    (VALUES + ["capsule=yes"], "2026-03-02T19:00", "capsule: is not asked in this period"),
    (VALUES + ["mood=3"], "2026-03-02T19:00", "mood: no such item"),
    (VALUES, "2026-03-02T12:00", "opens at 18:00"),
    (VALUES, "2026-03-04T13:00", "opens at 18:00"),
    (["--reason", "oops", "pain=3"], "2026-03-02T19:00", "no report for 2026-03-02 to correct"),
    (VALUES, "not-a-time", "DIARY_NOW='not-a-time'"),
])
def test_record_bad_input_exits_1_with_one_line_and_saves_nothing(enrolled, data_dir, args, now, fragment):
    r = enrolled("record", *args, now=now)
    assert_user_error(r, fragment)
    assert entries(data_dir) == []


def test_bad_usage_exits_2(enrolled, tmp_path):
    assert enrolled("record", "severity", now="2026-03-02T19:00").exit_code == 2
    assert enrolled("record", now="2026-03-02T19:00").exit_code == 2
    assert enrolled("record", "--reason", "nothing to change", now="2026-03-02T19:00").exit_code == 2
    empty = enrolled("--data-dir", str(tmp_path / "new"), "enroll", "--participant", "", now="2026-03-02T19:00")
    assert_user_error(empty, "1 to 64 characters")
    assert enrolled("enroll", now="2026-03-02T19:00").exit_code == 2
    assert enrolled("status", "--frobnicate").exit_code == 2


def test_commands_before_enrolment_say_so(cli):
    for args in (["status"], ["record", "severity=3"], ["export", "--csv", "x.csv"]):
        assert_user_error(cli(*args, now="2026-03-02T19:00"), "not enrolled yet")


def test_enroll_bad_protocol_and_double_enrolment(cli, tmp_path, data_dir):
    bad = tmp_path / "study.toml"
    bad.write_text('id = "x"\ntitle = "X"\n[[phases]]\nid = "a"\nrole = "nope"\ndays = 3\nlabel = "A"\n')
    assert_user_error(cli("enroll", "--participant", "P1", "--protocol", str(bad)), "phases[0].role")
    assert not (data_dir / "diary.db").exists() or "participant_id" not in Store.in_dir(data_dir).settings()
    assert cli("enroll", "--participant", "P1").exit_code == 0
    assert_user_error(cli("enroll", "--participant", "P2"), "already enrolled")


def test_import_98_day_csv_then_export_round_trip(enrolled, data_dir, tmp_path):
    days = simulate(P, START, np.random.default_rng(7))
    src = tmp_path / "paper.csv"
    write_csv(src, days)
    r = enrolled("import", str(src), now="2026-07-01T12:00")
    assert r.exit_code == 0 and "Imported 98 days" in r.stdout
    got = entries(data_dir)
    assert len(got) == 98 and {e.source for e in got} == {"import"} and {e.timing for e in got} == {"import"}
    assert {e.diary_date: e.answers for e in got} == days
    out = tmp_path / "out.csv"
    assert enrolled("export", "--csv", str(out), now="2026-07-01T12:00").exit_code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 98 and rows[20]["severity"] == str(days[START + timedelta(days=20)]["severity"])
    assert_user_error(enrolled("import", str(src), now="2026-07-01T12:00"), "already has a report")
    assert len(entries(data_dir)) == 98
    elsewhere = ["--data-dir", str(tmp_path / "other")]  # an export imports as it is (its details are passed over)
    assert enrolled(*elsewhere, "enroll", "--participant", "P01", "--start", str(START), "--yes").exit_code == 0
    r = enrolled(*elsewhere, "import", str(out), now="2026-07-01T12:00")
    assert r.exit_code == 0 and "Imported 98 days" in r.stdout, r.output


@pytest.mark.parametrize("mutate,fragment", [
    (lambda rows: rows[40].__setitem__(1, "101"), "line 42: severity: 101 is outside 0–100"),
    (lambda rows: rows[3].__setitem__(1, "abc"), "line 5: severity: 'abc' is not a whole number"),
    (lambda rows: rows[5].__setitem__(0, "2026-02-30"), "line 7: '2026-02-30' is not a date"),
    (lambda rows: rows[2].__setitem__(11, "yes"), "line 4: capsule: is not asked in this period"),
    (lambda rows: rows[20].__setitem__(11, ""), "line 22: capsule: is required"),
    (lambda rows: rows[9].__setitem__(0, "2025-01-01"), "line 11: 2025-01-01 is not a day of the study"),
    (lambda rows: rows[9].__setitem__(0, rows[8][0]), "appears twice"),
    (lambda rows: rows[9].pop(), "line 11: 12 cells, the header has 13"),
])
def test_import_refuses_whole_file_with_one_bad_cell(enrolled, data_dir, tmp_path, mutate, fragment):
    src = tmp_path / "paper.csv"
    write_csv(src, simulate(P, START, np.random.default_rng(3)))
    lines = list(csv.reader(src.open()))
    header, rows = lines[0], lines[1:]
    mutate(rows)
    with src.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    r = enrolled("import", str(src), now="2026-07-01T12:00")
    assert_user_error(r, fragment)
    assert "nothing was imported" in r.stderr
    assert entries(data_dir) == []


def test_import_bad_files(enrolled, tmp_path):
    assert_user_error(enrolled("import", str(tmp_path / "none.csv")), "no such file")
    bad = tmp_path / "h.csv"
    bad.write_text("day,severity\n2026-03-02,4\n")
    assert_user_error(enrolled("import", str(bad)), "first column must be 'date'")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert_user_error(enrolled("import", str(binary)), "not a readable CSV")


def test_verify_ok_then_fails_after_tampering(enrolled, data_dir):
    enrolled("record", *VALUES, now="2026-03-02T19:42")
    r = enrolled("verify")
    assert r.exit_code == 0 and r.stdout.startswith("ok: 1 entry,")
    import sqlite3

    con = sqlite3.connect(data_dir / "diary.db")
    con.execute("DROP TRIGGER entries_no_update")
    con.execute("UPDATE entries SET timing = 'on_time', submitted_at = '2026-03-02T18:00:00+00:00'")
    con.commit()
    con.close()
    r = enrolled("verify")
    assert r.exit_code == 1 and "altered after it was saved" in r.stderr


def test_verify_on_a_corrupt_file(enrolled, data_dir):
    (data_dir / "diary.db").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (data_dir / f"diary.db{suffix}").unlink(missing_ok=True)
    assert_user_error(enrolled("verify"), "cannot open the diary database")


def test_a_damaged_database_is_one_line_for_every_command(enrolled, data_dir, tmp_path):
    import sqlite3

    base = {i.id: (50 if i.kind == "vas" else None) for i in P.items_in("baseline")}
    write_csv(tmp_path / "paper.csv", {START + timedelta(days=k): base for k in range(12)})
    assert enrolled("import", str(tmp_path / "paper.csv"), now="2026-03-14T19:00").exit_code == 0
    db = data_dir / "diary.db"
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (root,) = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'entries'").fetchone()
    raw = bytearray(db.read_bytes())
    raw[(root - 1) * 4096:root * 4096] = b"\xa5" * 4096  # the entries table's first page: the file still opens
    db.write_bytes(bytes(raw))
    for cmd in (["status"], ["record", *VALUES], ["export", "--csv", str(tmp_path / "out.csv")], ["report"]):
        assert_user_error(enrolled(*cmd, now="2026-03-14T19:30"), "database")


def test_import_is_for_days_that_are_over(enrolled, tmp_path):
    base = {i.id: (50 if i.kind == "vas" else None) for i in P.items_in("baseline")}
    for day, why in ((START + timedelta(days=12), "not over yet (open)"), (START + timedelta(days=13), "not over yet (upcoming)")):
        write_csv(tmp_path / "paper.csv", {START: base, day: base})
        r = enrolled("import", str(tmp_path / "paper.csv"), now="2026-03-14T19:00")  # day 13, open now
        assert_user_error(r, why)
        assert "nothing was imported" in r.stderr


def test_export_to_unwritable_place(enrolled, tmp_path):
    assert_user_error(enrolled("export", "--csv", str(tmp_path / "no" / "dir" / "x.csv")), "cannot write")


def test_every_command_has_help(cli):
    from diary_client.cli.tree import main

    for name in ("enroll", "status", "record", "import", "export", "verify", "demo"):
        r = cli(name, "--help")
        assert r.exit_code == 0 and "Usage:" in r.stdout, name
    assert cli("--help").exit_code == 0 and set(main.list_commands(None)) >= {"sync", "hub", "report", "remind"}


def test_status_before_day_1_gives_the_date(cli):
    assert cli("enroll", "--participant", "P01", "--start", "2026-04-01", now="2026-03-20T10:00").exit_code == 0
    r = cli("status", now="2026-03-20T10:00")
    assert "Report for 2026-04-01 (day 1): opens at 18:00 on 2026-04-01" in r.stdout
    assert "(window 18:00–23:59, then late until 11:59)" in r.stdout


def test_an_item_named_like_an_export_column_is_imported(cli, tmp_path, data_dir):
    from diary_client.core.protocol import builtin_text

    study = tmp_path / "study.toml"
    study.write_text(builtin_text() + '\n[[items]]\nid = "source"\nkind = "text"\nprompt = "Where were you?"\noptional = true\n')
    assert cli("enroll", "--participant", "P01", "--protocol", str(study), "--start", str(START), "--yes").exit_code == 0
    base = {i.id: (50 if i.kind == "vas" else None) for i in P.items_in("baseline")}
    with (tmp_path / "paper.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", *base, "source", "timing"])  # "timing" is an export detail: passed over
        w.writerow([START, *[format_value(P.item(k), v) for k, v in base.items()], "at home", "on_time"])
    r = cli("import", str(tmp_path / "paper.csv"), now="2026-03-05T12:00")
    assert r.exit_code == 0, r.output
    assert entries(data_dir)[0].answers["source"] == "at home"
