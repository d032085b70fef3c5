"""Filing rules and the store: immutability, corrections, no back-filling, audit chain, backups."""

import sqlite3
from datetime import date, timedelta

import pytest
from conftest import START, at, file_report

from diary_client.core.answers import AnswerError
from diary_client.core.entry import latest
from diary_client.device.diary import Diary, DiaryError
from diary_client.device.store import Store, StoreError

BASE = {"severity": 50, "pain": 40, "fatigue": 30, "sleep_quality": 60, "sadness": 10, "stress": 20,
        "headache": 0, "gi": 5, "thinking": 30, "side_effects": []}
PLACEBO_DAY = START + timedelta(days=14)


def test_file_report_is_saved_with_audit_and_seq(diary):
    e = file_report(diary, BASE, at("2026-03-02T19:42"))
    assert e.seq == 1 and e.timing == "on_time" and e.study_day == 1
    e2 = Diary(Store(diary.store.path)).entries()
    assert e2 == [e]  # a fresh connection reads back the same entry
    assert diary.store.verify() == []


def test_late_entry_within_grace_and_refused_after(diary):
    e = file_report(diary, BASE, at("2026-03-03T08:00"))
    assert e.timing == "late" and e.diary_date == START
    with pytest.raises(DiaryError, match="day 3's report opens at 18:00"):
        file_report(diary, BASE, at("2026-03-04T13:00"))  # day 2 missed for good: no back-filling
    with pytest.raises(DiaryError, match="can no longer be filed"):
        diary.prepare(BASE, at("2026-03-04T19:00"), "cli", d=START + timedelta(days=1))


def test_second_report_for_a_day_is_refused_and_correction_supersedes(diary):
    first = file_report(diary, BASE, at("2026-03-02T19:00"))
    with pytest.raises(DiaryError, match="already saved"):
        file_report(diary, BASE, at("2026-03-02T19:05"))
    with pytest.raises(DiaryError, match="needs a reason"):
        file_report(diary, BASE, at("2026-03-02T19:05"), reason="  ")
    fix = file_report(diary, BASE | {"pain": 45}, at("2026-03-02T19:10"), reason="typed 40, meant 45")
    assert fix.supersedes == first.id and fix.reason == "typed 40, meant 45"
    entries = diary.entries()
    assert [e.id for e in entries] == [first.id, fix.id]  # the old one stays
    assert latest(entries)[START].answers["pain"] == 45
    fix2 = file_report(diary, BASE | {"pain": 46}, at("2026-03-02T19:20"), reason="again")
    assert fix2.supersedes == fix.id


def test_answers_checked_against_the_protocol_and_phase(diary):
    with pytest.raises(AnswerError, match="severity: 101 is outside"):
        file_report(diary, BASE | {"severity": 101}, at("2026-03-02T19:00"))
    with pytest.raises(AnswerError, match="capsule: is not asked in this period"):
        file_report(diary, BASE | {"capsule": True}, at("2026-03-02T19:00"))
    with pytest.raises(AnswerError, match="pain: is required"):
        file_report(diary, {k: v for k, v in BASE.items() if k != "pain"}, at("2026-03-02T19:00"))
    with pytest.raises(AnswerError, match="'hives' is not one of"):
        file_report(diary, BASE | {"side_effects": ["hives"]}, at("2026-03-02T19:00"))
    assert diary.entries() == []
    day15 = at(f"{PLACEBO_DAY}T19:00")
    with pytest.raises(AnswerError, match="capsule: is required"):
        file_report(diary, BASE, day15)
    assert file_report(diary, BASE | {"capsule": True}, day15).answers["capsule"] is True


def test_entries_and_audit_are_append_only_in_the_database(diary):
    file_report(diary, BASE, at("2026-03-02T19:00"))
    for sql in ("UPDATE entries SET answers = '{}'", "DELETE FROM entries", "DELETE FROM audit",
                "UPDATE audit SET action = 'x'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            diary.store.db.execute(sql)


def _tamper(path, sql):
    con = sqlite3.connect(path)
    table = "entries" if "entries" in sql else "audit"
    con.execute(f"DROP TRIGGER {table}_no_update")
    con.execute(sql)
    con.commit()
    con.close()


def test_verify_detects_an_entry_changed_behind_the_apps_back(diary):
    file_report(diary, BASE, at("2026-03-02T19:00"))
    _tamper(diary.store.path, """UPDATE entries SET answers = '{"severity": 10}'""")
    problems = Store(diary.store.path).verify()
    assert any("altered after it was saved" in p for p in problems)


def test_verify_detects_an_audit_record_changed(diary):
    file_report(diary, BASE, at("2026-03-02T19:00"))
    file_report(diary, BASE, at("2026-03-03T19:00"))
    _tamper(diary.store.path, "UPDATE audit SET at = '2020-01-01' WHERE seq = 2")
    problems = Store(diary.store.path).verify()
    assert any("audit record 2: altered" in p for p in problems)


def test_clock_running_backwards_is_flagged(diary):
    file_report(diary, BASE, at("2026-03-03T19:00"))
    e = file_report(diary, BASE, at("2026-03-03T08:00"))  # day 1 late, but clock earlier than the last save
    assert [f["flag"] for f in diary.store.flags()] == ["clock_backwards"]
    assert diary.store.flags()[0]["entry_id"] == e.id


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "diary.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the diary database"):
        Store(bad)


def test_daily_backups_keep_the_last_seven(diary):
    for k in range(9):
        diary.store.backup_daily(date(2026, 3, 1) + timedelta(days=k))
    assert diary.store.backup_daily(date(2026, 3, 9)) is None  # once a day
    names = sorted(p.name for p in (diary.store.path.parent / "backups").glob("*.db"))
    assert names[0] == "diary-2026-03-03.db" and len(names) == 7
    copy = Store(diary.store.path.parent / "backups" / names[-1])
    assert copy.settings()["participant_id"] == "P01"


def test_enrolling_twice_is_refused(diary):
    with pytest.raises(DiaryError, match="already enrolled"):
        Diary.enroll(diary.store, "P02", diary.settings.protocol_toml, START)


def test_the_narrow_reads_for_home_agree_with_the_entries(diary):
    from diary_client.core.entry import filed_timing

    file_report(diary, BASE, at("2026-03-02T19:00"))
    file_report(diary, BASE | {"pain": 41}, at("2026-03-02T19:10"), reason="typo")  # a correction, filed on time
    file_report(diary, BASE, at("2026-03-04T08:00"))  # day 2, late
    corrected = file_report(diary, BASE | {"pain": 42}, at("2026-03-04T09:00"), reason="again")  # corrects day 2 late
    entries = diary.store.entries()
    assert diary.store.filed_timing() == filed_timing(entries) == {START: "on_time", START + timedelta(days=1): "late"}
    assert diary.store.report_for(START + timedelta(days=1)) == corrected == latest(entries)[START + timedelta(days=1)]
    assert diary.store.report_for(START + timedelta(days=5)) is None
    assert diary.store.pending_count() == len(diary.store.pending()) == 4
