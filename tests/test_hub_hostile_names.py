"""Hostile participant ids (issue 18, points 9 and 10): new ids take a plain alphabet on device and
hub, stored ones are shown escaped on the terminal, and export file names never collide."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from hub_fixture import make_entry

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = datetime(2026, 3, 9, 10)
HOSTILE = "C01\x1b[2J\x1b]0;owned\x07\nC99 forged row\u202eevil"


@pytest.fixture
def run(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", NOW.isoformat())
    return lambda *args: CliRunner().invoke(main, list(args))


def _clean(text: str) -> None:
    assert not any(ch in text for ch in "\x1b\x07\u202e"), text


@pytest.mark.parametrize("pid", ["x/y", "a b", "C01\x1b[2J", "-C01", ".hidden", "é01", "C" * 65, "C01\n"])
def test_a_new_participant_id_outside_the_plain_alphabet_is_refused_on_device_and_hub(tmp_path, run, pid):
    device = run("--data-dir", str(tmp_path / "dev"), "enroll", "--participant", pid)
    hub = run("hub", "enroll", "--db", str(tmp_path / "hub.db"), "--", pid)
    for r in (device, hub):
        assert r.exit_code in (1, 2) and "letters A-Z or a-z, digits" in r.output and "Traceback" not in r.output, r.output
        _clean(r.output)
    assert run("hub", "enroll", "--db", str(tmp_path / "hub.db"), "C-01.a_" + "b" * 57).exit_code == 0  # 64 allowed


def _hub_with(tmp_path, *pids: str) -> str:
    """A hub holding participants enrolled before the alphabet rule (written to the hub directly)."""
    hub = HubStore(tmp_path / "hub.db")
    for pid in pids:
        hub.enrolment.enroll(pid, builtin_text(), START, "UTC", NOW)
        hub.ingest(pid, [make_entry(pid, START, d) for d in (1, 2)], NOW)
    return str(tmp_path / "hub.db")


def test_hub_status_shows_a_stored_hostile_id_escaped_on_one_line(tmp_path, run):
    db = _hub_with(tmp_path, HOSTILE, "C02")
    r = run("hub", "status", "--db", db)
    assert r.exit_code == 0, r.output
    _clean(r.output)
    lines = r.output.splitlines()
    assert len(lines) == 3 and lines[0].startswith("participant")  # a header and two participants: no forged row
    assert lines[1].startswith("C01\\x1b[2J\\")  # the short line cuts a long id; it stays escaped
    wide = run("hub", "status", "--db", db, "--wide")
    _clean(wide.output)
    rows = [ln for ln in wide.output.splitlines() if ln.startswith("C0")]
    assert len(rows) == 2 and rows[0].startswith("C01\\x1b[2J\\x1b]0;owned\\x07\\x0aC99 forged row\\u202eevil ")
    assert json.loads(run("hub", "status", "--db", db, "--json").output)["participants"][0]["participant_id"] == HOSTILE


def test_hub_import_shows_a_known_hostile_id_escaped(tmp_path, run):
    db = _hub_with(tmp_path, HOSTILE)
    store = Store(tmp_path / "dev" / "diary.db")
    device = Diary.enroll(store, "C01", builtin_text(), START).device_id
    store.set_settings(participant_id=HOSTILE)
    store.save_all([make_entry(HOSTILE, START, d, device_id=device) for d in (3, 4)])
    store.close()
    r = run("hub", "import", "--db", db, "--force", str(tmp_path / "dev" / "diary.db"))
    assert r.exit_code == 0, r.output
    _clean(r.output)
    assert "C01\\x1b[2J" in r.output and "2 new" in r.output


def test_unblind_and_revoke_show_stored_ids_escaped(tmp_path, run):
    db = _hub_with(tmp_path, HOSTILE)
    for args in (("unblind", "--db", db, "--reason", "test", "--yes", HOSTILE), ("revoke", "--db", db, HOSTILE)):
        r = run("hub", *args)
        assert r.exit_code == 0, r.output
        _clean(r.output)
        assert "C01\\x1b[2J" in r.output


def test_two_participants_whose_fhir_names_collided_both_survive(tmp_path, run):
    db = _hub_with(tmp_path, "x/y", "x-y-bd3c9047")
    r = run("hub", "export", "--db", db, "--fhir", str(tmp_path / "fhir"))
    assert r.exit_code == 0 and "2 participants" in r.output, r.output
    bundles = sorted((tmp_path / "fhir").glob("Bundle-*.json"))
    held = {json.loads(p.read_text())["entry"][0]["resource"]["subject"]["identifier"]["value"] for p in bundles}
    assert len(bundles) == 2 and held == {"x/y", "x-y-bd3c9047"}


def test_an_export_refuses_to_write_two_participants_to_one_file(tmp_path, monkeypatch):
    from sync.hub import export_fhir
    from sync.hub.errors import HubError
    from sync.hub.export import export

    db = _hub_with(tmp_path, "A1", "A2")
    monkeypatch.setattr(export_fhir, "fhir_id", lambda text: "same")  # a SHA-256 prefix collision, on demand
    with pytest.raises(HubError, match="would both be written to Bundle-same.json"):
        export(HubStore(db), NOW + timedelta(days=1), fhir_dir=tmp_path / "fhir")
    assert [p.name for p in (tmp_path / "fhir").glob("Bundle-*.json")] == ["Bundle-same.json"]
