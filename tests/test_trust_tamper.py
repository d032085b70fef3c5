"""Tamper evidence: each way of editing a diary file behind the app's back is caught by `diary verify`
or by `hub import` (against the head the hub holds), a relabelled file is refused, damaged files
are one line and exit 1. What cannot be caught is asserted too, so the README's claims stay true."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from hub_fixture import audit_rows, make_entry

from diary_client.cli.tree import main
from diary_client.core.entry import content_hash, row_entry
from diary_client.core.protocol import builtin_text
from diary_client.device.chain import GENESIS, chain_hash
from diary_client.device.diary import Diary
from diary_client.device.store import Store

START = date(2026, 3, 2)


def device(path: Path, pid: str, days: int = 3) -> tuple[Path, str]:
    store = Store(path)
    diary = Diary.enroll(store, pid, builtin_text(), START)
    for d in range(1, days + 1):
        store.save(make_entry(pid, START, d, device_id=diary.device_id))
    store.close()
    return path, diary.device_id


def tamper(path: Path, *sql: str, rechain: bool = False, params: list | None = None) -> None:
    """Edit the file as an attacker with sqlite3 would: triggers dropped, then (optionally) every
    content hash and the whole audit chain recomputed so the chain itself verifies."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    for t in ("entries_no_update", "entries_no_delete", "audit_no_update", "audit_no_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {t}")
    for s in sql:
        db.execute(s, params or [])
    if rechain:
        hashes = {}
        for r in db.execute("SELECT * FROM entries").fetchall():
            hashes[r["id"]] = content_hash(row_entry(dict(r)))
            db.execute("UPDATE entries SET content_hash = ? WHERE id = ?", [hashes[r["id"]], r["id"]])
        prev = GENESIS
        for r in db.execute("SELECT * FROM audit ORDER BY seq").fetchall():
            eh = hashes.get(r["entry_id"], r["entry_hash"]) if r["action"] == "entry" else r["entry_hash"]
            h = chain_hash(prev, r["at"], r["action"], r["entry_id"], eh, r["detail"])
            db.execute("UPDATE audit SET prev_hash = ?, hash = ?, entry_hash = ? WHERE seq = ?", [prev, h, eh, r["seq"]])
            prev = h
    db.commit()
    db.close()


def verify(path: Path):
    return CliRunner().invoke(main, ["--data-dir", str(path.parent), "verify"])


def hub_import(db: Path, *files: Path, force: bool = False):
    return CliRunner().invoke(main, ["hub", "import", "--db", str(db), *map(str, files), *(["--force"] if force else [])])


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", "2026-03-10T12:00")


def test_verify_refuses_an_empty_or_missing_diary_and_creates_nothing(tmp_path):
    empty = tmp_path / "a" / "diary.db"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    r = verify(empty)
    assert r.exit_code == 1 and "empty" in r.output and "Traceback" not in r.output
    assert empty.stat().st_size == 0 and sorted(p.name for p in empty.parent.iterdir()) == ["diary.db"]
    typo = tmp_path / "no-such-dir" / "diary.db"
    r = verify(typo)
    assert r.exit_code == 1 and "does not exist" in r.output and not typo.parent.exists()


def test_deleted_flags_and_edited_settings_are_caught_by_verify(tmp_path):
    path, _ = device(tmp_path / "d" / "diary.db", "P01")
    assert verify(path).exit_code == 0
    good = tmp_path / "good.db"
    shutil.copy(path, good)
    tamper(path, "DELETE FROM flags")  # DIARY_NOW made every entry clock_override
    r = verify(path)
    assert r.exit_code == 1 and "missing from flags" in r.output
    shutil.copy(good, path)
    tamper(path, "UPDATE settings SET value = '\"2026-03-05\"' WHERE key = 'start'")
    r = verify(path)
    assert r.exit_code == 1 and "setting start: edited" in r.output
    shutil.copy(good, path)
    tamper(path, "DELETE FROM entries WHERE seq = 2", "DELETE FROM audit WHERE entry_id IN "
           "(SELECT entry_id FROM audit WHERE action = 'entry' EXCEPT SELECT id FROM entries)", rechain=True)
    r = verify(path)  # a middle entry gone, chain recomputed: the device's numbering shows the gap
    assert r.exit_code == 1 and "entries 2 are missing" in r.output


def test_cutting_or_rewriting_the_chain_is_caught_against_the_hubs_head(tmp_path):
    hub = tmp_path / "hub.db"
    path, _ = device(tmp_path / "d" / "diary.db", "P01")
    assert hub_import(hub, path).exit_code == 0  # the hub now holds this device's head
    # The last entry deleted with its audit records: the file alone cannot show it ...
    cut = tmp_path / "cut" / "diary.db"
    cut.parent.mkdir()
    shutil.copy(path, cut)
    tamper(cut, "DELETE FROM flags WHERE entry_id = (SELECT id FROM entries WHERE seq = 3)",
           "DELETE FROM audit WHERE seq >= (SELECT seq FROM audit WHERE action = 'entry' AND entry_id = "
           "(SELECT id FROM entries WHERE seq = 3))", "DELETE FROM entries WHERE seq = 3")
    assert verify(cut).exit_code == 0
    r = hub_import(hub, cut)  # ... the hub's head does
    assert r.exit_code == 1 and "records were removed" in r.output and "Traceback" not in r.output
    # A forged entry in its place, with a correctly chained audit record: again only the head shows it.
    forged = tmp_path / "forged" / "diary.db"
    forged.parent.mkdir()
    shutil.copy(cut, forged)
    s = Store(forged)
    s.save(make_entry("P01", START, 3, device_id=s.settings()["device_id"], value=99))
    s.save(make_entry("P01", START, 4, device_id=s.settings()["device_id"], value=99))
    s.close()
    assert verify(forged).exit_code == 0
    r = hub_import(hub, forged)
    assert r.exit_code == 1 and "does not pass through the head" in r.output
    assert {e.answers["severity"] for e in __import__("sync.hub.store", fromlist=["x"]).HubStore(hub).reads.entries("P01")} == {50}
    # What no check can catch: entries appended after the head the hub holds, by the app's own rules.
    later = tmp_path / "later" / "diary.db"
    later.parent.mkdir()
    shutil.copy(path, later)
    s = Store(later)
    s.save(make_entry("P01", START, 4, device_id=s.settings()["device_id"]))
    s.close()
    assert hub_import(hub, later).exit_code == 0


def test_a_relabelled_file_is_refused_unless_forced_and_a_lab_visit_file_is_taken(tmp_path):
    hub = tmp_path / "hub.db"
    p01, _ = device(tmp_path / "p01" / "diary.db", "P01")
    p02, _ = device(tmp_path / "p02" / "diary.db", "P02", days=4)
    assert hub_import(hub, p01).exit_code == 0
    tamper(p02, "UPDATE settings SET value = '\"P01\"' WHERE key = 'participant_id'",
           "UPDATE entries SET participant_id = 'P01'",
           "UPDATE audit SET detail = json_set(detail, '$.participant_id', 'P01') WHERE action = 'settings'"
           " AND json_extract(detail, '$.participant_id') IS NOT NULL", rechain=True)
    assert verify(p02).exit_code == 0  # a fully recomputed chain: the file alone looks sound
    r = hub_import(hub, p02)
    assert r.exit_code == 1 and "not one of P01's devices" in r.output and "--force" in r.output
    from sync.hub.store import HubStore

    assert len(HubStore(hub).reads.entries("P01")) == 3
    # A participant registered on the hub but with no device yet (enrolled at a lab visit): taken.
    assert CliRunner().invoke(main, ["hub", "enroll", "--db", str(hub), "P03", "--start", "2026-03-02"]).exit_code == 0
    p03, _ = device(tmp_path / "p03" / "diary.db", "P03")
    assert hub_import(hub, p03).exit_code == 0
    # --force imports the relabelled file, and the audit log says so with the reason.
    r = hub_import(hub, p02, force=True)
    assert r.exit_code in (0, 1), r.output  # its day-1..3 entries clash with P01's own (rejected)
    forced = [a for a in audit_rows(hub) if a["action"] == "import_forced"]
    assert len(forced) == 1 and "devices" in json.loads(forced[0]["detail"])["reasons"][0]


def test_a_flipped_schema_byte_or_damaged_setting_is_one_line(tmp_path):
    path, _ = device(tmp_path / "d" / "diary.db", "P01")
    good = tmp_path / "good.db"
    shutil.copy(path, good)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"CREATE TABLE entries")
    raw[at + 7] ^= 0x01  # "CREATE TABLE" -> "CREATE TABLD...": sqlite_master no longer parses
    path.write_bytes(bytes(raw))
    for r in (verify(path), hub_import(tmp_path / "hub.db", path),
              CliRunner().invoke(main, ["--data-dir", str(path.parent), "status"])):
        assert r.exit_code == 1 and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
    shutil.copy(good, path)
    tamper(path, "UPDATE settings SET value = '\"2026-02-30\"' WHERE key = 'start'")
    for r in (CliRunner().invoke(main, ["--data-dir", str(path.parent), "status"]), hub_import(tmp_path / "hub.db", path)):
        assert r.exit_code == 1 and "Traceback" not in r.output and "start" in r.output, r.output
    tamper(path, "UPDATE settings SET value = 'not json' WHERE key = 'start'")
    for r in (CliRunner().invoke(main, ["--data-dir", str(path.parent), "status"]), hub_import(tmp_path / "hub.db", path),
              verify(path)):
        assert r.exit_code == 1 and "Traceback" not in r.output and "start" in r.output, r.output
