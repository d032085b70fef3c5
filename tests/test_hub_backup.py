"""`diary hub backup`: a consistent copy of a hub that is taking uploads (real uvicorn, uploads in a thread)."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from datetime import date

import httpx
from click.testing import CliRunner
from hub_fixture import make_entry, running_hub

from diary_client.cli.tree import main

START = date(2026, 3, 2)
PEOPLE, DAYS, BATCH = 8, 60, 5


def test_a_backup_taken_during_uploads_holds_every_entry_committed_before_it(tmp_path):
    db, out = tmp_path / "hub.db", tmp_path / "backups" / "hub-copy.db"
    out.parent.mkdir()
    with running_hub(db) as hub:
        tokens = {}
        for i in range(PEOPLE):
            pid = f"B{i:02d}"
            r = httpx.post(f"{hub.url}/api/v1/enroll", json={"code": hub.code(pid, START), "device": "t"})
            tokens[pid] = r.json()["token"]
        acknowledged: list[str] = []  # ids the hub answered "accepted" for, in order
        lock, enough, go, stop = threading.Lock(), threading.Event(), threading.Event(), threading.Event()
        errors: list[str] = []

        def upload() -> None:
            batches = [(pid, [make_entry(pid, START, d) for d in range(first, first + BATCH)])
                       for first in range(1, DAYS + 1, BATCH) for pid in tokens]  # bounded: 96 requests
            with httpx.Client(base_url=hub.url, timeout=30) as client:
                for n, (pid, batch) in enumerate(batches):
                    if stop.is_set():
                        return
                    r = client.post("/api/v1/entries", json={"entries": [e.wire() for e in batch]},
                                    headers={"Authorization": f"Bearer {tokens[pid]}"})
                    if r.status_code != 200 or r.json()["rejected"]:
                        errors.append(r.text)
                        return
                    with lock:
                        acknowledged.extend(r.json()["accepted"])
                    if n == 20:  # the backup starts with uploads still to come, which go on beside it
                        enough.set()
                        go.wait(60)
            enough.set()

        thread = threading.Thread(target=upload)
        thread.start()
        try:
            assert enough.wait(60), "the uploads did not start"
            with lock:
                before = list(acknowledged)
            go.set()
            r = CliRunner().invoke(main, ["hub", "backup", "--db", str(db), str(out)])
        finally:
            go.set()
            stop.set()
            thread.join(60)
        assert not errors, errors[0]
        assert r.exit_code == 0, r.output
        assert "integrity check ok" in r.output

    assert len(before) == 21 * BATCH < PEOPLE * DAYS  # taken while uploads went on
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert not out.with_name("hub-copy.db-wal").exists() and not list(out.parent.glob(".*partial*"))
    copy = sqlite3.connect(out)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    held = {i for (i,) in copy.execute("SELECT id FROM entries")}
    assert set(before) <= held, f"{len(set(before) - held)} acknowledged entries missing from the backup"
    assert copy.execute("SELECT COUNT(*) FROM participants").fetchone() == (PEOPLE,)


def test_backup_refuses_to_overwrite_the_hub_and_names_a_missing_hub(tmp_path):
    db = tmp_path / "hub.db"
    r = CliRunner().invoke(main, ["hub", "backup", "--db", str(db), str(tmp_path / "b.db")])
    assert r.exit_code == 1 and "no hub database" in r.output
    CliRunner().invoke(main, ["hub", "enroll", "--db", str(db), "P01"])
    r = CliRunner().invoke(main, ["hub", "backup", "--db", str(db), str(db)])
    assert r.exit_code == 1 and "the hub's own database" in r.output
    r = CliRunner().invoke(main, ["hub", "backup", "--db", str(db), str(tmp_path / "nowhere" / "b.db")])
    assert r.exit_code == 1 and "no such folder" in r.output
    r = CliRunner().invoke(main, ["hub", "backup", "--db", str(db), "--json", str(tmp_path / "b.db")])
    assert r.exit_code == 0 and '"participants": 1' in r.output
