"""What a tired participant meets at 80×24 and 60×20: the morning after, a long note, a finished
study, a device with no hub, and nothing cut off."""

from __future__ import annotations

import re

import pytest
from app_helpers import make_app, screen_text, start_report, text_of
from conftest import START, at, file_report
from test_remind_cli import crontab  # noqa: F401  (the fake crontab fixture)
from textual.widgets import TabbedContent

from diary_client.app.screens.home import HomeScreen
from diary_client.app.screens.review import ReviewScreen
from diary_client.app.widgets.note import NoteArea
from diary_client.cli.demo import build_demo

SIZES = [(80, 24), (60, 20)]


def _answers(diary, d):
    report = diary.begin_report(at(f"{d}T19:00"))
    return {i.id: {"vas": 40, "multi": [], "text": None, "yesno": True}[i.kind] for i in report.items}


@pytest.mark.parametrize("size", SIZES)
async def test_the_morning_after_says_what_is_open_before_any_figure(diary, data_dir, size):
    app, _ = make_app(data_dir, "2026-03-03T08:00")  # day 1 unfiled, still accepted until 11:59
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        shown = " ".join(screen_text(app).split())
        open_at = shown.index("Yesterday's report")
        assert open_at < shown.index(" of 98") and "still accepted until 11:59" in shown
        assert "%" not in shown  # no figure reads as a failure while yesterday can be filed
        assert "1 day still open" in text_of(app, "#compliance") and "Compliance —" not in shown
        assert "pending" not in shown and "Sync" not in shown  # no hub: nothing to say about uploads
    file_report(diary, _answers(diary, START), at("2026-03-02T19:00"))
    app, _ = make_app(data_dir, "2026-03-03T08:00")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        shown = " ".join(screen_text(app).split())
        assert shown.index("Day 2 of 98") < shown.index("Today's report opens")
        assert "Compliance 100%: 1 day done, 0 missed" in shown


def test_status_counts_a_day_still_open_as_neither_done_nor_missed(cli, diary):
    r = cli("status", "--json", now="2026-03-03T08:00")
    assert '"compliance": null' in r.output and '"still_open": 1' in r.output
    r = cli("status", now="2026-03-03T08:00")
    assert "Compliance" not in r.output and "1 day still open" in r.output
    assert "pending" not in r.output  # no hub


@pytest.mark.parametrize("size", SIZES)
async def test_a_long_note_wraps_on_several_lines_and_keeps_its_new_lines(diary, data_dir, size):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    long = "slept badly after the walk to the shops and the pain in my knees came back in the evening"
    async with app.run_test(size=size) as pilot:
        await start_report(pilot)
        screen = app.screen
        while screen.item.kind != "text":
            await pilot.press(*{"vas": "5", "multi": "", "yesno": "y"}[screen.item.kind], "enter")
            await pilot.pause()
        note = screen.query_one(NoteArea)
        assert note.size.height >= 3
        await pilot.press(*long, "ctrl+j", *"better by night")
        await pilot.pause()
        shown = " ".join(screen_text(app).replace("▊", " ").replace("▎", " ").split())
        assert "came back" in shown and "better by night" in shown, shown  # the whole note in view
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert screen.answers["note"] == long + "\nbetter by night"


async def test_a_finished_study_offers_progress_not_report_or_correct(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    build_demo(tmp_path / "demo", at("2026-06-20T12:00"))
    app, _ = make_app(tmp_path / "demo", "2026-06-20T12:00")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "Progress" in footer and "Report" not in footer and "Correct" not in footer
        await pilot.press("enter", "c")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and "P shows your progress" in text_of(app, "#today")


async def test_nothing_is_cut_off_at_60x20(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    build_demo(tmp_path / "demo", at("2026-06-20T12:00"))
    app, _ = make_app(tmp_path / "demo", "2026-06-20T12:00")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        shown = screen_text(app)
        assert shown.count("(") == shown.count(")"), shown
        await pilot.press("escape", "p")
        await pilot.pause()
        chart = screen_text(app)
        for cut in ("Baseli", "Placeb", "Washou"):
            assert not re.search(rf"{cut}(?!\w)", chart), chart
        assert app.screen.query_one(TabbedContent).active == "tab-chart"


async def test_enrolment_hints_and_a_question_s_keys_are_whole_at_60x20(data_dir):
    from diary_client.app.screens.enrol import FIELDS

    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        app.screen.query_one("#start").value = ""
        await pilot.pause()
        shown = screen_text(app)
        for _, _, hint in FIELDS:
            assert hint in shown, hint
        assert shown.count("(") == shown.count(")")


async def test_the_draft_question_and_its_keys_are_whole_at_60x20(diary, data_dir):
    diary.keep_draft(diary.begin_report(at("2026-03-02T19:00")), {"severity": 12}, 1)
    app, _ = make_app(data_dir, "2026-03-02T19:30")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        shown = screen_text(app)
        assert "not now (it stays kept)" in shown and "stays kep " not in shown, shown


@pytest.mark.parametrize("size", SIZES)
async def test_the_summary_s_first_screen_is_plain_words(tmp_path, monkeypatch, size):
    from test_analysis_plain import jargon_in

    monkeypatch.setenv("TZ", "UTC")
    build_demo(tmp_path / "demo", at("2026-06-20T12:00"))
    app, _ = make_app(tmp_path / "demo", "2026-06-20T12:00")
    async with app.run_test(size=size) as pilot:
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("right", "right", "right")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one(TabbedContent).active == "tab-summary"
        first = screen_text(app)
        flat = " ".join(re.sub("[▁▂▃▄▅▆▇█]", " ", first).split())  # less the scroll bar
        assert "The main question — Overall severity: Your overall severity was" in flat, first
        assert "on the drug than on the placebo" in flat
        assert jargon_in(first) == [], first
        for _ in range(4):
            await pilot.press("pagedown")
        await pilot.pause()
        assert "p adj." in screen_text(app) or "pp" in screen_text(app)  # the numbers, one key away


async def test_settings_installs_the_reminder_in_the_crontab_without_systemd(diary, data_dir, crontab):
    app, _ = make_app(data_dir, "2026-03-02T12:00")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        await pilot.press("s", "i")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "installed: 1 line in your crontab, daily at 19:00" in text_of(app, "#remind")
    [line] = crontab.read_text().splitlines()
    assert line.startswith("0 19 * * * ") and "remind --notify" in line
