"""Crafted diary files given to `diary hub import`: one line (or a correct import) within 10 s and
200 MB, and nothing ever written beside the collected file (issue 18, points 6 and 7)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from hub_fixture import make_entry

from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = "2026-03-09T10:00"
RECURSIVE = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)"
# Peak RSS from /proc (VmHWM, this program's own): getrusage's ru_maxrss survives exec, so a
# child of a large test process would report the parent's peak.
CHILD = """
import re, sys
from diary_client.cli.tree import main
try:
    main(sys.argv[1:], prog_name="diary")
finally:
    hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
    print(f"maxrss_kb={hwm}", file=sys.stderr)
"""


def diary_file(folder: Path, days: int = 3) -> Path:
    """A real enrolled diary holding `days` reports, in rollback-journal mode (no -wal beside it)."""
    store = Store(folder / "diary.db")
    device = Diary.enroll(store, "C01", builtin_text(), START).device_id
    store.save_all([make_entry("C01", START, d, device_id=device) for d in range(1, days + 1)])
    store.conn.execute("PRAGMA journal_mode=DELETE")
    store.close()
    return folder / "diary.db"


def crafted(tmp_path: Path, name: str, sql: str) -> Path:
    """The diary file changed by `sql` (triggers dropped first: they refuse edits)."""
    path = diary_file(tmp_path / name)
    conn = sqlite3.connect(path)
    conn.executescript("DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete;"
                       " DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;" + sql)
    conn.close()
    return path


def hub_import(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, float, float]:
    """`diary hub import` in its own process: (result, seconds, peak RSS in MB)."""
    env = os.environ | {"TZ": "UTC", "DIARY_NOW": NOW}
    began = time.monotonic()
    r = subprocess.run([sys.executable, "-c", CHILD, "hub", "import", "--db", str(tmp_path / "hub.db"), *args],
                       capture_output=True, text=True, env=env, timeout=60)
    took = time.monotonic() - began
    *err, last = r.stderr.rstrip("\n").split("\n")
    assert last.startswith("maxrss_kb="), r.stderr
    r.stderr = "\n".join(err)
    return r, took, int(last.split("=")[1]) / 1024


def one_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    return lines[0]


@pytest.mark.parametrize("table, sql", [
    ("entries", f"ALTER TABLE entries RENAME TO kept; CREATE VIEW entries AS {RECURSIVE} SELECT kept.* FROM kept, r ORDER BY n"),
    ("flags", f"DROP TABLE flags; CREATE VIEW flags AS {RECURSIVE} SELECT 'x' AS entry_id, 'clock_jump' AS flag, n AS detail FROM r ORDER BY n"),
    ("settings", f"ALTER TABLE settings RENAME TO kept; CREATE VIEW settings AS {RECURSIVE} SELECT key, value FROM kept, r ORDER BY n"),
])
def test_a_recursive_view_in_place_of_a_table_is_refused_in_one_line(tmp_path, table, sql):
    r, took, mb = hub_import(tmp_path, str(crafted(tmp_path, table, sql)))
    assert f"`{table}` is a view" in one_line(r)
    assert took < 10 and mb < 200


def test_a_virtual_table_or_a_foreign_trigger_is_refused_in_one_line(tmp_path):
    virtual = crafted(tmp_path, "virtual", "DROP TABLE receipts;"
                      " CREATE VIRTUAL TABLE receipts USING fts5(entry_id, received_at, content_hash)")
    r, _, _ = hub_import(tmp_path, str(virtual))
    assert "`receipts` is a virtual table" in one_line(r)
    trigger = crafted(tmp_path, "trigger", "CREATE TRIGGER boom AFTER INSERT ON settings BEGIN SELECT 1; END")
    r, _, _ = hub_import(tmp_path, str(trigger))
    assert "trigger (boom)" in one_line(r)


def test_an_entries_table_missing_a_column_is_refused_naming_it(tmp_path):
    path = crafted(tmp_path, "missing", "ALTER TABLE entries DROP COLUMN protocol_version")
    r, _, _ = hub_import(tmp_path, str(path))
    assert "lacks the column(s) protocol_version" in one_line(r)


def test_wrong_typed_answers_are_rejected_entries_not_a_traceback(tmp_path):
    path = crafted(tmp_path, "answers", "UPDATE entries SET answers = '[1,2,3]' WHERE rowid = 1;"
                                        " UPDATE entries SET answers = 7 WHERE rowid = 2;"
                                        f" UPDATE entries SET answers = '{'[' * 100_000}' WHERE rowid = 3")
    r, _, _ = hub_import(tmp_path, str(path))  # altered after it was saved: verification refuses it
    assert "fails verification" in one_line(r) and "answers is not a JSON object" in r.stderr
    r, took, mb = hub_import(tmp_path, "--force", str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "0 new, 0 already on the hub, 3 rejected" in r.stdout
    assert "unreadable entry (answers: Input should be a valid dictionary)" in r.stdout
    assert "unreadable entry (answers nested too deep)" in r.stdout
    assert r.stderr.strip() == "Error: 3 entries were rejected and not imported (reasons above); the rest is on the hub"
    assert took < 10 and mb < 200


def _many(tmp_path: Path, n: int) -> Path:
    """A diary whose day 1 is corrected `n` times over (every correction valid), built with one executemany."""
    path = diary_file(tmp_path / f"n{n}", days=1)
    conn = sqlite3.connect(path)
    first = conn.execute("SELECT * FROM entries").fetchone()
    ids = [first[0]] + [str(uuid.uuid4()) for _ in range(n - 1)]
    rows = [(ids[k], *first[1:11], k + 1, ids[k - 1], "typo", "x") for k in range(1, n)]
    conn.executemany(f"INSERT INTO entries VALUES ({', '.join('?' * 15)})", rows)
    conn.commit()
    conn.close()
    return path


@pytest.mark.slow
def test_200000_entries_are_refused_in_one_line_at_once(tmp_path):
    r, took, mb = hub_import(tmp_path, "--force", str(_many(tmp_path, 200_000)))
    print(f"200,000 entries: {took:.1f} s, {mb:.0f} MB")
    assert "holds 200000 entries, more than any diary" in one_line(r)
    assert took < 10 and mb < 200


@pytest.mark.slow
def test_many_entries_import_correctly_in_bounded_memory(tmp_path):
    r, took, mb = hub_import(tmp_path, "--force", str(_many(tmp_path, 20_000)))
    assert r.returncode == 0 and "20000 new, 0 already on the hub, 0 rejected" in r.stdout, r.stderr
    print(f"20,000 entries: {took:.1f} s, {mb:.0f} MB")
    assert took < 60 and mb < 200


def test_a_collected_file_is_read_in_place_and_nothing_is_written_beside_it(tmp_path):
    path = diary_file(tmp_path / "media")
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in path.parent.iterdir()}
    r, _, _ = hub_import(tmp_path, str(path))
    assert r.returncode == 0 and "3 new" in r.stdout, r.stderr
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in path.parent.iterdir()}
    assert after == before  # no -wal, -shm or journal made; the file's bytes and time unchanged


def test_a_file_copied_with_its_wal_imports_what_the_wal_holds_and_leaves_both_as_they_were(tmp_path):
    folder = tmp_path / "wal"
    store = Store(folder / "diary.db")
    device = Diary.enroll(store, "C01", builtin_text(), START).device_id
    store.conn.execute("PRAGMA wal_autocheckpoint=0")  # the reports stay in the -wal, as on a running device
    store.save_all([make_entry("C01", START, d, device_id=device) for d in (1, 2)])
    copy = tmp_path / "collected"
    copy.mkdir()
    for name in ("diary.db", "diary.db-wal"):  # copied while the app ran: no -shm
        shutil.copyfile(folder / name, copy / name)
    store.close()
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    r, _, _ = hub_import(tmp_path, str(copy / "diary.db"))
    assert r.returncode == 0 and "2 new" in r.stdout, r.stderr
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_the_file_is_opened_read_only_and_immutable(tmp_path, monkeypatch):
    """Read-only media cannot be made in a test run as root (root writes anywhere): the URI the
    importer opens is what makes SQLite write nothing, so it is checked here."""
    from sync.hub import collected

    path, opened, real = diary_file(tmp_path / "ro"), [], sqlite3.connect

    def spy(target, *args, **kwargs):
        opened.append((str(target), kwargs.get("uri")))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(collected.sqlite3, "connect", spy)
    with collected.opened(path) as f:
        assert f.count("entries") == 3
    assert opened == [((tmp_path / "ro" / "diary.db").as_uri() + "?mode=ro&immutable=1", True)]


def test_a_hostile_id_in_a_collected_file_is_not_registered(tmp_path):
    path = crafted(tmp_path, "id", "UPDATE settings SET value = '\"C01\\u001b[2J\\n\"' WHERE key = 'participant_id'")
    r, _, _ = hub_import(tmp_path, "--force", str(path))
    line = one_line(r)
    assert "\x1b" not in line and "\\x1b[2J\\n" in line and "cannot be registered" in line
    assert not (tmp_path / "hub.db").exists() or HubStore(tmp_path / "hub.db").reads.participant("C01\x1b[2J\n") is None


def test_every_crafted_file_leaves_no_trace_beside_it(tmp_path):
    path = crafted(tmp_path, "trace", "UPDATE entries SET answers = '[1,2,3]'")
    names = sorted(p.name for p in path.parent.iterdir())
    hub_import(tmp_path, "--force", str(path))
    assert sorted(p.name for p in path.parent.iterdir()) == names == ["diary.db"]
