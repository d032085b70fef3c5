"""Starting and joining: a start date far back needs confirming; a device used offline joins a real hub."""

from __future__ import annotations

import json
import sqlite3

from hub_fixture import hub  # noqa: F401

from diary_client.device.store import Store

REPORT = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=0", "thinking=10", "side_effects="]


def on_hub(hub) -> list[str]:
    with sqlite3.connect(hub.db_path) as db:
        return sorted(r[0] for r in db.execute("SELECT id FROM entries WHERE participant_id = 'P01'"))


def test_a_start_more_than_3_days_back_needs_yes_and_says_how_many_days_are_missed(cli, data_dir):
    r = cli("enroll", "--participant", "P01", "--start", "2026-03-02", now="2026-03-16T19:00")
    assert r.exit_code == 1 and "14 days ago: 14 days will count as missed" in r.output and "--yes" in r.output
    assert not (data_dir / "diary.db").exists() or "participant_id" not in Store.in_dir(data_dir).settings()
    assert cli("enroll", "--participant", "P01", "--start", "2026-03-13", now="2026-03-16T19:00").exit_code == 0


def test_the_yes_flag_accepts_it(cli):
    r = cli("enroll", "--participant", "P01", "--start", "2026-03-02", "--yes", now="2026-03-16T19:00")
    assert r.exit_code == 0, r.output
    s = json.loads(cli("status", "--json", now="2026-03-16T19:00").stdout)
    assert s["missed"] == 14 and s["study_day"] == 15


def test_before_day_1_status_says_when_it_starts_and_counts_nothing(cli):
    assert cli("enroll", "--participant", "P01", "--start", "2026-04-01", now="2026-03-20T10:00").exit_code == 0
    r = cli("status", now="2026-03-20T10:00")
    assert "Day 1 is Wednesday 1 April 2026" in r.stdout and "Nothing is counted before day 1" in r.stdout
    s = json.loads(cli("status", "--json", now="2026-03-20T10:00").stdout)
    assert (s["done"], s["late"], s["missed"], s["compliance"], s["diary_date"]) == (0, 0, 0, None, "2026-04-01")


def test_a_device_used_offline_joins_the_hub_and_uploads_everything_once(cli, hub, data_dir):
    assert cli("enroll", "--participant", "P01", "--start", "2026-03-02", now="2026-03-02T19:00").exit_code == 0
    for day in ("02", "03", "04"):
        assert cli("record", *REPORT, now=f"2026-03-{day}T19:30").exit_code == 0
    assert cli("record", "--reason", "typo", "pain=44", now="2026-03-04T20:00").exit_code == 0

    other = hub.code("P02", None)
    r = cli("enroll", "--participant", "P02", "--hub", hub.url, "--code", other, now="2026-03-04T20:10")
    assert r.exit_code == 1 and "enrolled for P01, not P02" in r.output  # refused, nothing asked of the hub

    code = hub.code("P01", None)
    r = cli("enroll", "--participant", "P01", "--hub", hub.url, "--code", code, "--json", now="2026-03-04T20:10")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["uploaded"], doc["pending"], doc["error"]) == (4, 0, None)
    held = sorted(e.id for e in Store.in_dir(data_dir).entries())
    assert on_hub(hub) == held  # every entry, each once

    again = cli("sync", "--json", now="2026-03-04T20:20")
    assert again.exit_code == 0 and json.loads(again.stdout)["accepted"] == 0
    assert on_hub(hub) == held
    r = cli("enroll", "--participant", "P01", "--hub", hub.url, "--code", hub.code("P01", None), now="2026-03-04T20:30")
    assert r.exit_code == 1 and "already syncs with" in r.output


async def test_the_app_asks_before_a_start_far_back_and_says_how_many_days_are_missed(data_dir):
    from app_helpers import make_app, text_of

    from diary_client.app.screens.common import ChoiceScreen
    from diary_client.app.screens.enrol import EnrolScreen
    from diary_client.app.screens.home import HomeScreen

    app, _ = make_app(data_dir, "2026-03-16T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*"P07")
        app.screen.query_one("#start").value = "2026-03-02"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert "14 days ago: 14 days will count as missed" in text_of(app, "Static.muted")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, EnrolScreen) and app.focused is app.screen.query_one("#start")
        assert "participant_id" not in Store.in_dir(data_dir).settings()
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and "14 missed" in text_of(app, "#compliance")


async def test_settings_link_a_device_used_offline_to_the_hub_and_upload(cli, hub, data_dir):
    from app_helpers import make_app, text_of

    from diary_client.app.screens.settings import SettingsScreen

    assert cli("enroll", "--participant", "P01", "--start", "2026-03-02", now="2026-03-02T19:00").exit_code == 0
    assert cli("record", *REPORT, now="2026-03-02T19:30").exit_code == 0
    code = hub.code("P01", None)
    app, _ = make_app(data_dir, "2026-03-02T20:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen) and "press H" in text_of(app, "#hub")
        await pilot.press("h")
        await pilot.pause()
        app.screen.query_one("#link-url").value = hub.url
        app.screen.query_one("#link-code").value = code
        app.screen.query_one("#link-code").focus()
        await pilot.press("enter")
        for _ in range(200):  # the hub is asked in a thread, then sync runs: bounded
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            if on_hub(hub):
                break
        assert "linked" in text_of(app, "#hub")
    assert on_hub(hub) == [e.id for e in Store.in_dir(data_dir).entries()]


def test_status_on_a_data_dir_nobody_enrolled_creates_nothing(cli, data_dir):
    r = cli("status", now="2026-03-02T19:00")
    assert r.exit_code == 1 and "not enrolled yet" in r.output
    assert not data_dir.exists()
    assert cli("verify").exit_code == 1 and not data_dir.exists()


def test_record_names_a_bad_value_before_the_missing_ones_and_lists_every_missing_item(cli, tmp_path):
    assert cli("enroll", "--participant", "P01", "--start", "2026-03-02", now="2026-03-02T19:00").exit_code == 0
    r = cli("record", "severity=150", "pain=3", now="2026-03-02T19:00")
    assert r.exit_code == 1
    line = r.output.strip().splitlines()[-1]
    assert line.startswith("Error: severity: 150 is outside 0–100")
    assert "also missing: fatigue, sleep_quality, sadness, stress, headache, gi, thinking, side_effects" in line
    r = cli("record", "severity=50", now="2026-03-02T19:00")
    assert "fatigue, sleep_quality, sadness, stress, headache, gi, thinking, side_effects: are required" in r.output
    r = cli("record", *REPORT, now="2026-03-02T19:00")
    assert "Report for day 1 (Mon 2 Mar, today) saved at 19:00" in r.output
    assert cli("export", "--csv", str(tmp_path / "one.csv")).output.startswith("Wrote 1 entry to")
