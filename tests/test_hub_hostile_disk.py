"""A disk that fills, a rename that fails, a stdout that cannot be written (issue 18, point 11):
`hub backup` leaves no half pair and says so in one line; a saved report stays saved."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pytest
from hub_fixture import make_entry

from diary_client.core.protocol import builtin_text
from diary_client.device.store import Store
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = datetime(2026, 3, 9, 10)


def _hub(tmp_path: Path) -> Path:
    hub = HubStore(tmp_path / "hub.db")
    for n in range(4):
        pid = f"D{n}"
        hub.enrolment.enroll(pid, builtin_text(), START, "UTC", NOW)
        hub.ingest(pid, [make_entry(pid, START, d) for d in range(1, 8)], NOW)
    return tmp_path / "hub.db"


def diary(*args: str, stdout=subprocess.PIPE, home: Path | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"TZ": "UTC", "DIARY_NOW": "2026-03-09T19:30"} | ({"DIARY_HOME": str(home)} if home else {})
    return subprocess.run([sys.executable, "-m", "diary_client", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=env, timeout=60)


@contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` (needs root and mount rights; skipped elsewhere)."""
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                      capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (a full disk needs one)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _fill(folder: Path, leave: int) -> None:
    """Fill the disk of `folder`, then free about `leave` bytes."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))


def _one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.mark.parametrize("leave", [0, 8192], ids=["full-before-the-key", "room-for-the-key-only"])
def test_a_backup_on_a_disk_that_fills_leaves_the_older_pair_and_no_partial_file(tmp_path, leave):
    db = _hub(tmp_path)
    with small_disk(tmp_path / "disk", "2m") as disk:
        out = disk / "hub-backup.db"
        assert diary("hub", "backup", "--db", str(db), str(out)).returncode == 0
        older = {p.name: p.read_bytes() for p in disk.iterdir()}
        assert set(older) == {"hub-backup.db", "hub-backup.db.key"} and older["hub-backup.db.key"]
        _fill(disk, leave)
        line = _one_line_error(diary("hub", "backup", "--db", str(db), str(out)))
        assert "the backup could not be written" in line or "disk is full" in line, line
        assert {p.name: p.read_bytes() for p in disk.iterdir() if p.name != "filler"} == older


def test_a_first_backup_on_a_full_disk_leaves_nothing(tmp_path):
    db = _hub(tmp_path)
    with small_disk(tmp_path / "disk", "64k") as disk:
        _one_line_error(diary("hub", "backup", "--db", str(db), str(disk / "hub-backup.db")))
        assert [p.name for p in disk.iterdir()] == []


def test_a_rename_that_fails_is_one_line_and_replaces_nothing(tmp_path):
    db, out = _hub(tmp_path), tmp_path / "out" / "hub-backup.db"
    out.parent.mkdir()
    (out.parent / "hub-backup.db.key" / "in-the-way").mkdir(parents=True)  # the key cannot be renamed over a folder
    line = _one_line_error(diary("hub", "backup", "--db", str(db), str(out)))
    assert "the backup could not be written" in line
    assert sorted(p.name for p in out.parent.iterdir()) == ["hub-backup.db.key"]


def test_a_backup_whose_success_line_cannot_be_printed_is_still_done(tmp_path):
    db, out = _hub(tmp_path), tmp_path / "hub-backup.db"
    with open("/dev/full", "w") as full:
        r = diary("hub", "backup", "--db", str(db), str(out), stdout=full)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == f"Backed up to {out}; the line saying so could not be printed (No space left on device)"
    assert out.is_file() and (tmp_path / "hub-backup.db.key").is_file()


@pytest.mark.parametrize("as_json", [False, True])
def test_a_report_recorded_into_a_full_stdout_is_saved_and_says_so_in_one_line(tmp_path, as_json):
    home = tmp_path / "home"
    assert diary("enroll", "--participant", "C01", "--start", "2026-03-09", home=home).returncode == 0
    values = ["severity=40", "pain=35", "fatigue=50", "sleep_quality=60", "sadness=10", "stress=20",
              "headache=0", "gi=5", "thinking=30", "side_effects=vivid dreams"]
    with open("/dev/full", "w") as full:
        r = diary("record", *values, *(["--json"] if as_json else []), stdout=full, home=home)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == "Report for day 1 saved; the line saying so could not be printed (No space left on device)"
    assert len(Store(home / "diary.db").entries()) == 1
