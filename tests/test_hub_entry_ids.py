"""Entry ids unique per participant (migration 0007): an old hub's file keeps every entry, an id two
participants hold stays safe, and an upload writes its participant's pages only, however big the hub."""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from hub_fixture import make_entry

from diary_client.core.protocol import builtin_text
from sync.hub.export import export
from sync.hub.store import HubStore, migrations

OLD_HUB = Path(__file__).parent / "data" / "hub-0006.db"  # made by the hub before 0007 (data/make_hub_0006.py)
START = date(2026, 3, 2)
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
ROWS = "SELECT rowid, id, participant_id, diary_date, supersedes, content_hash, body, received_at, via, timing FROM entries"


def _read(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _leading_columns(path: Path) -> set[str]:
    """The first column of every index on the hub's entries (the table's own key included)."""
    with sqlite3.connect(path) as conn:
        return {conn.execute(f"PRAGMA index_info('{name}')").fetchone()[2]
                for _, name, *_ in conn.execute("PRAGMA index_list('entries')")}


def test_a_hub_made_before_0007_opens_with_every_entry_flag_and_rejection(tmp_path):
    path = tmp_path / "hub.db"
    shutil.copyfile(OLD_HUB, path)
    entries, flags = _read(path, ROWS + " ORDER BY rowid"), _read(path, "SELECT * FROM flags ORDER BY entry_id")
    rejections, audit = _read(path, "SELECT * FROM rejections"), _read(path, "SELECT * FROM audit ORDER BY seq")
    assert len(entries) == 16 and len(flags) == 2 and len(rejections) == 1 and "id" in _leading_columns(path)

    hub = HubStore(path)
    with hub.db.read() as db:
        assert migrations.pending(db) == []
    assert _read(path, ROWS + " ORDER BY rowid") == entries  # rowids too: the order of receipt
    owner = {i: pid for _, i, pid, *_ in entries}
    assert _read(path, "SELECT * FROM flags ORDER BY entry_id") == [(owner[f[0]], *f) for f in flags]
    assert _read(path, "SELECT * FROM rejections") == rejections
    assert _read(path, "SELECT * FROM audit ORDER BY seq") == audit
    assert _read(path, "PRAGMA integrity_check") == [("ok",)] and _read(path, "PRAGMA foreign_key_check") == []
    assert _leading_columns(path) == {"participant_id"}  # no hub-wide index on the random ids is left
    assert _read(path, "PRAGMA freelist_count") == [(0,)]  # the old table's pages given back (0008)

    # The contracts hold on the migrated file: a resend is a duplicate, other content is rejected,
    # and an entry corrected already cannot be corrected again.
    p1 = hub.reads.entries("P01")
    assert {e.id for e in p1} == {i for i, pid in owner.items() if pid == "P01"}
    assert hub.reads.flags("P01") == {f[0]: [f[1]] for f in flags} and hub.reads.flagged_counts() == {"P01": 2}
    again = hub.ingest("P01", p1, NOW)
    assert sorted(again.duplicate) == sorted(e.id for e in p1) and again.accepted == again.rejected == []
    fixed = next(e for e in p1 if e.supersedes)
    other = replace(p1[0], answers=p1[0].answers | {"pain": 3})
    second = make_entry("P01", START, fixed.study_day, value=10, supersedes=fixed.supersedes, seq=40)
    got = hub.ingest("P01", [other, second], NOW)
    assert [why for _, why in got.rejected] == [
        "an entry with this id and other content is already on the hub",
        f"entry {fixed.supersedes} is already corrected by entry {fixed.id}"]
    assert hub.reads.receipt("P01", p1[0].id)["received_at"] == next(r[7] for r in entries if r[1] == p1[0].id)
    hub.close()


def test_an_id_another_participant_holds_reaches_only_its_own_participant(tmp_path):
    hub = HubStore(tmp_path / "hub.db")
    for pid in ("P01", "P02"):
        hub.enrolment.register(pid, builtin_text(), START, "UTC", NOW)
    mine = make_entry("P01", START, 1)
    assert hub.ingest("P01", [mine], NOW).accepted == [mine.id]
    later = datetime(2026, 7, 1, tzinfo=UTC)
    theirs = make_entry("P02", START, 1, id=mine.id, value=80, device_id="dev-2")  # a forged (or copied) id
    got = hub.ingest("P02", [theirs], later)
    # P02's upload learns nothing of P01's entry (no "already on the hub"), and P01's is untouched.
    assert got.accepted == [mine.id] and got.rejected == []
    assert hub.reads.entries("P01") == [mine] and hub.reads.entries("P02") == [theirs]
    assert hub.reads.receipt("P01", mine.id)["received_at"] == "2026-06-30T12:00:00.000000+00:00"
    assert hub.reads.receipt("P02", mine.id)["received_at"] == "2026-07-01T00:00:00.000000+00:00"
    assert hub.ingest("P01", [mine], later).duplicate == [mine.id]
    assert hub.ingest("P01", [replace(mine, seq=9)], later).rejected[0][1].startswith("an entry with this id")
    assert hub.reads.reused_ids() == {("P02", mine.id)}  # the first holder keeps its own

    export(hub, later, sqlite_out=tmp_path / "out.db", fhir_dir=tmp_path / "fhir")
    assert sorted(_read(tmp_path / "out.db", "SELECT participant_id, id FROM entries")) == [
        ("P01", mine.id), ("P02", mine.id)]
    responses = {json.loads(p.read_text())["identifier"]["value"]: [e["resource"]["id"] for e in
                 json.loads(p.read_text())["entry"]] for p in (tmp_path / "fhir").glob("Bundle-*.json")}
    assert responses == {"P01": [mine.id], "P02": [f"{mine.id}-P02"]}  # resource ids unique across bundles
    urls = [e["fullUrl"] for p in (tmp_path / "fhir").glob("Bundle-*.json") for e in json.loads(p.read_text())["entry"]]
    assert len(urls) == len(set(urls)) == 2 and f"urn:uuid:{mine.id}" in urls  # and so are their urns
    hub.close()


def _wal_frames_of_one_upload(hub: HubStore, pid: str) -> int:
    """WAL frames (pages) that one upload of a new participant's whole study (98 entries) writes."""
    hub.enrolment.register(pid, builtin_text(), START, "UTC", NOW)
    batch = [make_entry(pid, START, d) for d in range(1, 99)]
    with hub.db.read() as db:
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert len(hub.ingest(pid, batch, NOW).accepted) == 98
    return Path(f"{hub.path}-wal").stat().st_size // (4096 + 24)


def test_an_upload_writes_as_many_pages_on_a_big_hub_as_on_an_empty_one(tmp_path):
    """With a hub-wide index on the random ids, each entry of a batch dirtied a page of its own in
    that index: on 40,000 entries the same upload wrote five times the pages it wrote on an empty hub,
    and ingest ran at a fraction of the speed (bench/bench_scale.py ingest)."""
    empty, big = HubStore(tmp_path / "empty.db"), HubStore(tmp_path / "big.db")
    big.enrolment.register("F0000", builtin_text(), START, "UTC", NOW)
    body = json.dumps({"answers": {"severity": 50}, "pad": "x" * 500})
    with big.db.tx() as db:
        row = db.execute("SELECT * FROM participants").fetchone()
        db.conn.executemany(f"INSERT INTO participants VALUES ({', '.join('?' * len(row))})",
                            [(f"F{k:04d}", *row[1:]) for k in range(1, 400)])
        db.conn.executemany(
            "INSERT INTO entries (id, participant_id, diary_date, supersedes, content_hash, body, received_at, via,"
            " timing) VALUES (?, ?, ?, NULL, 'h', ?, 't', 'api', 'on_time')",
            [(str(uuid.uuid4()), f"F{k // 100:04d}", f"2026-03-{k % 28 + 1:02d}", body) for k in range(40_000)])
    on_empty, on_big = _wal_frames_of_one_upload(empty, "P01"), _wal_frames_of_one_upload(big, "P01")
    assert on_big <= on_empty * 1.5 + 5, (on_empty, on_big)
    empty.close()
    big.close()


def test_a_long_upgrade_says_so_before_it_starts_and_a_new_hub_says_nothing(tmp_path, monkeypatch, caplog):
    from sync.hub import database

    monkeypatch.setattr(database, "SAY_FROM", 10)  # the fixture's 16 entries stand for a big hub
    path = tmp_path / "hub.db"
    shutil.copyfile(OLD_HUB, path)
    with caplog.at_level("WARNING", logger="sync.hub"):
        HubStore(path).close()
        HubStore(path).close()  # migrated: the second open says nothing
        HubStore(tmp_path / "new.db").close()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith(f"{path}: upgrading the hub database") and "16 entries" in said[0]


def test_the_upgrade_gives_the_wal_back_and_a_vacuum_that_cannot_run_never_stops_the_hub(tmp_path, caplog):
    import sqlite3 as sq

    from sync.hub import database

    path = tmp_path / "hub.db"
    shutil.copyfile(OLD_HUB, path)
    hub = HubStore(path)  # its connection stays open, as a server's does
    assert Path(f"{path}-wal").stat().st_size == 0  # the rebuild and VACUUM went through the WAL: truncated
    hub.close()

    class Busy:  # another process holding the write lock past the timeout, or no room for VACUUM's copy
        def execute(self, sql):
            raise sq.OperationalError("database is locked")

    with caplog.at_level("WARNING", logger="sync.hub"):
        database._m0008(Busy())  # type: ignore[arg-type]
    assert "keeps the space the upgrade freed (database is locked)" in caplog.text
