"""Symptom data readable by its owner only: data dir, diary, backups, hub database, exports (0600/0700),
whatever the umask; a backup copy left half-written by a kill is cleaned up."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hub_fixture import make_entry

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store
from sync.hub.store import HubStore

START = date(2026, 3, 2)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    before = os.umask(0o022)  # the usual default: files 0644, folders 0755 unless the code says otherwise
    yield
    os.umask(before)


def test_device_files_are_owner_only(cli, data_dir, tmp_path):
    assert cli("enroll", "--participant", "P01", "--start", "2026-03-02", now="2026-03-02T19:00").exit_code == 0
    assert cli("status", now="2026-03-03T19:00").exit_code == 0  # the day's first command makes a backup
    store = Store.in_dir(data_dir)  # open: its WAL and SHM exist
    assert mode(data_dir) == 0o700
    for f in ("diary.db", "diary.db-wal", "diary.db-shm"):
        assert mode(data_dir / f) == 0o600, f
    assert mode(data_dir / "backups") == 0o700
    (backup,) = (data_dir / "backups").glob("diary-*.db")
    assert mode(backup) == 0o600
    out = tmp_path / "mine.csv"
    assert cli("export", "--csv", str(out), now="2026-03-03T19:00").exit_code == 0
    assert mode(out) == 0o600
    store.close()


def test_hub_database_and_exports_are_owner_only(tmp_path):
    db = tmp_path / "hub" / "study.db"
    hub = HubStore(db)
    device = Store(tmp_path / "dev" / "diary.db")
    diary = Diary.enroll(device, "P01", builtin_text(), START)
    device.save(make_entry("P01", START, 1, device_id=diary.device_id, answers={
        **make_entry("P01", START, 1).answers, "note": "=HYPERLINK(\"http://x\")"}))
    device.close()
    r = CliRunner().invoke(main, ["hub", "import", "--db", str(db), str(tmp_path / "dev" / "diary.db")])
    assert r.exit_code == 0, r.output
    assert mode(db.parent) == 0o700
    for f in ("study.db", "study.db-wal", "study.db-shm"):
        assert mode(db.parent / f) == 0o600, f
    assert {mode(f) for f in db.parent.iterdir()} == {0o600}  # the hub's key too, if it made one
    out, folder = tmp_path / "out" / "a.db", tmp_path / "out" / "csv"
    (tmp_path / "out").mkdir()
    r = CliRunner().invoke(main, ["hub", "export", "--db", str(db), "--sqlite", str(out), "--csv", str(folder),
                                  "--fhir", str(tmp_path / "out" / "fhir"), "--redcap", str(tmp_path / "out" / "redcap")])
    assert r.exit_code == 0, r.output
    made = [p for p in (tmp_path / "out").rglob("*")]
    assert {mode(p) for p in made if p.is_dir()} == {0o700}
    assert {mode(p) for p in made if p.is_file()} == {0o600} and len(made) > 8
    with (folder / "answers.csv").open(encoding="utf-8") as f:
        text = f.read()  # the note a spreadsheet would run as a formula is written as text
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    hub.close()


def test_a_backup_left_half_written_by_a_kill_is_removed(diary, data_dir):
    backups = data_dir / "backups"
    backups.mkdir()
    stale = [backups / "diary-2026-03-01.tmp", backups / ".diary-2026-03-01.db.999999999.tmp"]
    for f in stale:
        f.write_bytes(b"")
    diary.store.backup_daily(date(2026, 3, 2))
    assert sorted(p.name for p in backups.iterdir()) == ["diary-2026-03-02.db"]
    copy = Store(backups / "diary-2026-03-02.db")
    assert copy.verify() == [] and copy.settings()["participant_id"] == "P01"
