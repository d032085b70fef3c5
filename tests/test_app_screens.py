"""Every screen at 60×20 keeps its controls on screen; progress opens fast; sync and settings."""

from __future__ import annotations

from app_helpers import make_app, start_report, text_of
from conftest import at, file_report
from textual.widgets import DataTable, Footer, TabbedContent

from diary_client.app.screens.correction import CorrectionScreen
from diary_client.app.screens.progress import ProgressScreen
from diary_client.app.screens.review import ReviewScreen, Row
from diary_client.app.screens.settings import SettingsScreen
from diary_client.app.widgets.choices import Picker
from diary_client.app.widgets.note import NoteArea
from diary_client.app.widgets.vas import VasBar
from diary_client.cli.demo import build_demo

SMALL = (60, 20)


def assert_inside(app, *selectors: str) -> None:
    """Each control is laid out, has room, and lies wholly inside the screen (nothing cut off)."""
    screen = app.screen.region
    for sel in selectors:
        w = app.screen.query_one(sel)
        r = w.region
        assert r.width > 0 and r.height > 0, f"{sel} has no room at {screen.size}"
        assert screen.contains_region(r), f"{sel} {r} is outside the {screen.size} screen"
        assert w.content_size.width > 0


async def test_every_screen_fits_60x20(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-16T19:00")  # placebo phase: every item kind
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert_inside(app, "#day", "#phase", "#today", "#compliance", Footer)
        await pilot.press("enter")
        await pilot.pause()
        assert_inside(app, "#progress", "#prompt", VasBar, "#keys", Footer)
        bar = app.screen.query_one(VasBar)
        assert bar.content_size.height == 6  # thumb rows, ends, labels and the answer all show
        while app.screen.item.kind == "vas":
            await pilot.press("5", "enter")
            await pilot.pause()
        assert_inside(app, Picker, "#keys")
        picker = app.screen.query_one(Picker)
        assert picker.region.height >= len(picker.options)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.item.kind == "yesno"
        assert_inside(app, "#editor", "#prompt")
        await pilot.press("n", "enter")
        await pilot.pause()
        assert_inside(app, NoteArea, "#prompt")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert_inside(app, "#review-title", "#rows", Footer)
        rows = list(app.screen.query(Row))
        for _ in rows[1:]:
            await pilot.press("down")
        assert app.focused is rows[-1] and app.screen.region.contains_region(rows[-1].region)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert_inside(app, "#review-message")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("9")  # a correction must change something
        for _ in app.screen.items:
            await pilot.press("enter")
            await start_report(pilot)
        assert isinstance(app.screen, CorrectionScreen)
        assert_inside(app, "#reason")
        await pilot.press("escape", "escape")
        await pilot.pause()
        while app.screen.__class__.__name__ != "HomeScreen":
            choice = app.screen.__class__.__name__ == "ChoiceScreen"
            discard = choice and "Throw" in app.screen.question  # the second question: y throws away
            await pilot.press("y" if discard else "d" if choice else "escape")
            await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert_inside(app, "#remind", Footer)
        await pilot.press("escape", "p")
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        assert_inside(app, "#chart-title", "#chart", Footer)


async def test_enrol_and_error_screens_fit_60x20(data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert_inside(app, "#participant", "#start", "#protocol", Footer)
        for sel in ("#hub", "#code", "#enrol-button"):  # below the fold: reachable by focus
            app.screen.query_one(sel).focus()
            await pilot.pause()
            assert_inside(app, sel)


async def test_progress_of_a_finished_study(tmp_path, monkeypatch):
    """Chart, weeks, calendar and the unblinded summary (its speed: bench/bench_progress.py)."""
    monkeypatch.setenv("TZ", "UTC")
    now = at("2026-06-20T12:00")
    build_demo(tmp_path / "demo", now)
    app, clock = make_app(tmp_path / "demo", "2026-06-20T12:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "The study is over" in text_of(app, "#today")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        weeks = app.screen.query_one("#weeks", DataTable)
        assert (weeks.row_count, len(weeks.columns)) == (1 + 9, 1 + 14)  # days filed + 9 items, by 14 weeks
        assert "Naltrexone 4.5 mg wk 5–12" in text_of(app, "#weeks-periods")
        calendar = text_of(app, "#calendar")
        assert calendar.count("Wk") == 14 and "✗ missed" in calendar
        assert "Baseline" in calendar  # unblinded after the end: true phase names
        await pilot.press("n")
        assert "Pain (2/9)" in text_of(app, "#chart-title")  # words, not ids
        await app.workers.wait_for_complete()
        await pilot.pause()
        summary = text_of(app, "#summary")
        assert "Phase summary" in summary and "Overall severity" in summary, summary
        weeks_text = "\n".join(str(weeks.get_row_at(i)[0]) for i in range(weeks.row_count))
        for item_id in ("gi", "sleep_quality", "thinking"):  # ids stay in exports, not where a person reads
            for shown in (summary, weeks_text):
                assert not any(ln.strip().startswith(f"{item_id} ") for ln in shown.splitlines()), item_id
        assert "Stomach/bowel" in weeks_text and "Trouble thinking" in weeks_text
        assert "Drug − placebo" in summary and "percentage points" in summary, summary
        assert "responder" in summary and "Under the model" in summary, summary


async def test_progress_while_blinded_withholds_the_summary(diary, data_dir):
    file_report(diary, {i.id: 50 for i in diary.protocol.items if i.kind == "vas"} | {"side_effects": []},
               at("2026-03-02T19:00"))
    app, _ = make_app(data_dir, "2026-03-03T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert "unblinded" in text_of(app, "#summary")
        assert "Run-in" in text_of(app, "#calendar") and "Baseline" not in text_of(app, "#calendar")


async def test_home_sync_line_with_a_hub(diary, data_dir):
    diary.store.set_settings(hub_url="http://127.0.0.1:9")
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "0 pending" in text_of(app, "#sync")
        app.sync()
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = text_of(app, "#sync")
        assert "not connected" in line or "unavailable" in line or "error" in line.lower(), line


async def test_timed_syncs_wait_while_a_report_is_filled_in(diary, data_dir):
    diary.store.set_settings(hub_url="http://127.0.0.1:9")  # no token: a sync says "not connected" at once
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await start_report(pilot)
        home = app._home()
        home.sync_note = None
        app.timed_sync()
        await app.workers.wait_for_complete()
        assert home.sync_note is None  # held: the questions must not change mid-report
        await pilot.press("escape")
        await pilot.pause()
        app.timed_sync()
        await app.workers.wait_for_complete()
        assert "not connected" in (home.sync_note or "")


async def test_a_failed_sync_is_said_once_on_home(diary, data_dir):
    diary.store.set_settings(hub_url="http://127.0.0.1:9",
                             last_error="2026-03-02 18:59: hub not reachable (ConnectError)")
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.sync_note = "hub not reachable (ConnectError)"  # what the round just returned
        await pilot.pause()
        line = " ".join(text_of(app, "#sync").split())
        assert line.count("hub not reachable") == 1, line
        app.screen.sync_note = "syncing…"
        await pilot.pause()
        assert "syncing…" in text_of(app, "#sync")


async def test_a_protocol_update_is_taken_and_said_on_home(data_dir, tmp_path):
    from datetime import date, datetime

    from hub_fixture import running_hub, updated_protocol

    from diary_client.device.store import Store
    from sync.client.upload import enroll_device

    with running_hub(tmp_path / "hub.db") as h:
        enroll_device(Store.in_dir(data_dir), h.url, h.code("P01", date(2026, 3, 2)))
        h.store.enrolment.publish(updated_protocol(), datetime(2026, 3, 2, 12))
        app, _ = make_app(data_dir, "2026-03-02T19:00")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.sync()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "updated to version 2" in text_of(app, "#sync")
            assert app.diary.protocol.version == 2 and "mood" in app.diary.protocol.item_ids


async def test_settings_show_the_device_and_switch_theme(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        texts = " ".join(str(w.render()) for w in app.screen.query("#settings > Static"))
        assert str(data_dir) in texts and diary.device_id in texts and "19:00" in texts
        dark = app.current_theme.dark
        await pilot.press("t")
        assert app.current_theme.dark is not dark
    again, _ = make_app(data_dir, "2026-03-02T19:05")  # the choice is kept for the next start
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.current_theme.dark is not dark


def test_start_path_keeps_heavy_imports_out():
    import subprocess
    import sys

    code = (
        "import sys; from diary_client.cli.tree import main; import diary_client.app.main, diary_client.app.screens.home;"
        "heavy = [m for m in ('numpy', 'scipy', 'matplotlib', 'pandas', 'statsmodels', 'fastapi', 'httpx',"
        " 'textual_plotext', 'plotext') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""



async def test_progress_at_60x20_shows_every_week_the_whole_summary_and_names_the_tab_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    build_demo(tmp_path / "demo", at("2026-06-20T12:00"))
    app, _ = make_app(tmp_path / "demo", "2026-06-20T12:00")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        footer = " ".join(s.text for s in app.screen._compositor.render_strips()[-1:])
        assert "←/→ Tabs" in footer
        await pilot.press("right")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "tab-weeks"
        weeks = screen.query_one("#weeks", DataTable)
        assert weeks.virtual_size.width <= weeks.region.width <= 60  # all 14 weeks on screen, no scrolling
        shown = "\n".join(s.text for s in app.screen._compositor.render_strips())
        assert " 14" in shown.splitlines()[weeks.region.y]
        await pilot.press("right", "right")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "tab-summary"
        assert "the numbers and how they were worked out" in text_of(app, "#summary-note")
        for _ in range(30):
            await pilot.press("pagedown")
        await pilot.pause()
        shown = "\n".join(s.text for s in app.screen._compositor.render_strips())
        assert "it is not proof" in shown  # the caveat, reached with the keys alone
        lines = [ln for ln in shown.splitlines() if "pp" in ln]
        await pilot.press("pageup", "pageup", "pageup", "pageup")
        await pilot.pause()
        whole = "\n".join(s.text for s in app.screen._compositor.render_strips())
        for ln in [*lines, *whole.splitlines()]:
            if "pp" in ln:  # a row of the drug − placebo table: both p-values on its line
                assert ln.count("0.") + ln.count("<0.001") >= 2 or "pp" not in ln, ln
        await pilot.press("left")
        await pilot.pause()
        assert screen.query_one(TabbedContent).active == "tab-calendar"
