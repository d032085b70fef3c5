"""Issue 21's coordinator points: DIARY_NOW said on stderr, `hub set-start`, `hub status` at 80 columns."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from conftest import at
from hub_fixture import make_entry

from diary_client.cli import main
from diary_client.protocol import builtin_text
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = "2026-03-12T12:00"


@pytest.fixture
def hub_db(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", NOW)
    db = tmp_path / "hub.db"
    hub = HubStore(db)
    hub.enrolment.register("P01", builtin_text(), START, "UTC", at("2026-03-01T09:00"))
    hub.ingest("P01", [make_entry("P01", START, d) for d in range(1, 6)], at("2026-03-07T09:00"))
    hub.close()
    return db


def hub(db, *args: str):
    return CliRunner().invoke(main, ["hub", args[0], "--db", str(db), *args[1:]], catch_exceptions=False)


# -- 10: DIARY_NOW is said whenever it is in force --------------------------------------------------


def test_diary_now_in_force_is_one_line_on_stderr_for_hub_and_device_commands(hub_db, data_dir, monkeypatch):
    monkeypatch.delenv("DIARY_NOW_QUIET")
    r = hub(hub_db, "status", "--json")
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # stdout stays one JSON document
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"diary: DIARY_NOW={NOW} is in force"), r.stderr
    assert "2026-03-12 12:00" in r.stderr and "unset DIARY_NOW" in r.stderr
    device = CliRunner().invoke(main, ["enroll", "--participant", "P09", "--json"], catch_exceptions=False)
    assert device.exit_code == 0, device.output
    assert json.loads(device.stdout)["start"] == "2026-03-12"
    assert device.stderr.startswith(f"diary: DIARY_NOW={NOW} is in force"), device.stderr


def test_no_notice_without_diary_now(hub_db, monkeypatch):
    monkeypatch.delenv("DIARY_NOW_QUIET")
    monkeypatch.delenv("DIARY_NOW")
    r = hub(hub_db, "status", "--json")
    assert r.exit_code == 0 and r.stderr == "", r.stderr
