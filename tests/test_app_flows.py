"""The participant's app driven with keys through Pilot; assertions on what the store holds."""

from __future__ import annotations

from app_helpers import Ticks, answer_all, make_app, start_report, text_of
from conftest import START, at, file_report

from diary_client.app.screens.common import ErrorScreen
from diary_client.app.screens.enrol import EnrolScreen
from diary_client.app.screens.home import HomeScreen
from diary_client.app.screens.report import ReportScreen
from diary_client.app.screens.review import ReviewScreen
from diary_client.app.widgets.vas import VasBar
from diary_client.core.entry import latest
from diary_client.device.diary import Diary
from diary_client.device.store import Store

SIZE = (80, 24)


async def test_enrol_on_first_run_then_home(data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, EnrolScreen)
        await pilot.press(*"P07", "enter")
        assert app.screen.query_one("#start").value == "2026-03-02"
        await pilot.press("enter", "enter", "enter", "enter")  # start, protocol, hub, code
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert text_of(app, "#day") == "Day 1 of 98"
        assert "Open now" in text_of(app, "#today")
    s = Store.in_dir(data_dir).settings()
    assert s["participant_id"] == "P07" and s["start"] == "2026-03-02" and s["study_id"] == "ldn-fm"


async def test_enrol_refuses_a_bad_date_and_hub_without_code(data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*"P07", "enter", "ctrl+a", "ctrl+k", *"soon", "ctrl+s")
        assert "not a date" in text_of(app, "#enrol-message")
        assert app.focused is app.screen.query_one("#start")  # back to the field to fix
        await pilot.press("ctrl+a", "ctrl+k", *"20/03/2026", "ctrl+s")
        assert "'20/03/2026' is not a date: type it as year-month-day" in text_of(app, "#enrol-message")
        app.screen.query_one("#start").value = "2026-03-02"
        app.screen.query_one("#hub").value = "http://127.0.0.1:9"
        await pilot.press("ctrl+s")
        assert "go together" in text_of(app, "#enrol-message")
        assert app.focused is app.screen.query_one("#code")
        assert isinstance(app.screen, EnrolScreen)
    assert "participant_id" not in Store.in_dir(data_dir).settings()


async def test_file_todays_report_with_keys_only(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:42")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        assert isinstance(app.screen, ReportScreen)
        assert "1 / 11" in text_of(app, "#progress")
        await answer_all(pilot, "37")
        assert isinstance(app.screen, ReviewScreen)
        assert Store.in_dir(data_dir).entries() == []  # nothing saved before Enter on the review
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Saved at 19:42" in text_of(app, "#review-message")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert "Done at 19:42" in text_of(app, "#today")
    [e] = Store.in_dir(data_dir).entries()
    assert e.diary_date == START and e.timing == "on_time" and e.source == "app"
    assert e.answers["severity"] == 37 and e.answers["side_effects"] == ["insomnia"]
    assert e.answers["note"] == "ok" and "capsule" not in e.answers


async def test_next_is_refused_on_an_unanswered_vas(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        bar = app.screen.query_one(VasBar)
        assert bar.value is None
        await pilot.press("enter")
        assert app.screen.index == 0
        assert "answer first" in text_of(app, "#hint")
        await pilot.press("5", "enter")
        await pilot.pause()
        assert app.screen.index == 1 and app.screen.answers["severity"] == 5



async def test_vas_arrows_digits_and_click(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        bar = app.screen.query_one(VasBar)
        ticks = Ticks()
        bar.typing.clock = ticks
        # An arrow on an unanswered scale sets nothing (no anchor, no extreme one slip from Enter).
        await pilot.press("right")
        assert bar.value is None and "Not answered yet" in text_of(app, "#hint")
        await pilot.press("home")
        assert bar.value == 0
        steps = [("right", 1), ("left", 0), ("shift+right", 10), ("pageup", 20),
                 ("pagedown", 10), ("shift+left", 0), ("home", 0), ("end", 100), ("left", 99)]
        for key, want in steps:
            await pilot.press(key)
            assert bar.value == want, key
        await pilot.press("4", "2")
        assert bar.value == 42
        ticks.t += 1.2  # a pause changes nothing: the digits go on (427 is refused)
        await pilot.press("7")
        assert bar.value == 42
        await pilot.press("right", "7")  # another key ends the typing: a new number
        assert bar.value == 7
        await pilot.press("backspace")
        assert bar.value is None
        left, width = bar._track()
        await pilot.click(VasBar, offset=(left + (width - 1) // 2, 1))
        assert 48 <= bar.value <= 52
        await pilot.click(VasBar, offset=(left, 1))
        assert bar.value == 0
        assert app.screen.answers["severity"] == 0


async def test_late_entry_and_refusal_after_grace(diary, data_dir):
    app, clock = make_app(data_dir, "2026-03-02T23:50")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        await answer_all(pilot)
        clock.set("2026-03-03T13:00")  # past the 12 h grace: refused, nothing saved
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "can no longer be filed" in text_of(app, "#review-message")
        assert Store.in_dir(data_dir).entries() == []
        clock.set("2026-03-03T01:00")  # window closed meanwhile, grace still running: saved as late
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Saved at 01:00" in text_of(app, "#review-message")
        assert "late" in text_of(app, "#review-message")
    [e] = Store.in_dir(data_dir).entries()
    assert e.diary_date == START and e.timing == "late"


async def test_missed_day_shown_on_home(diary, data_dir):
    file_report(diary, _answers(diary, START), at("2026-03-02T19:00"))
    app, _ = make_app(data_dir, "2026-03-04T13:00")  # day 2 (03-03) passed its grace unfiled
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert text_of(app, "#day") == "Day 3 of 98"
        assert "Days 1–3: ✓ ✗ ·" in text_of(app, "#recent")
        assert "1 missed" in text_of(app, "#compliance")
        assert "opens at 18:00" in text_of(app, "#today")


async def test_correction_needs_a_reason_and_supersedes(diary, data_dir):
    first = file_report(diary, _answers(diary, START), at("2026-03-02T19:00"))
    app, _ = make_app(data_dir, "2026-03-02T20:15")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # already saved: home says so, no report opens
        assert "press C to correct" in text_of(app, "#message")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen) and app.screen.correcting
        await pilot.press("end")  # severity 100; every other answer is kept as it was
        for _ in app.screen.items:
            await pilot.press("enter")
            await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")  # an empty reason is refused
        assert "needs a reason" in text_of(app, "#reason-hint")
        await pilot.press(*"typed wrong", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Correction saved at 20:15" in text_of(app, "#review-message")
    entries = Store.in_dir(data_dir).entries()
    assert len(entries) == 2
    new = latest(entries)[START]
    assert new.supersedes == first.id and new.reason == "typed wrong"
    assert new.answers["severity"] == 100 and new.answers["pain"] == first.answers["pain"]


async def test_phase_limited_item_only_in_its_phases(diary, data_dir):
    for when, expect in [("2026-03-02T19:00", False), ("2026-03-16T19:00", True)]:  # day 1, day 15
        app, _ = make_app(data_dir, when)
        async with app.run_test(size=SIZE) as pilot:
            await start_report(pilot)
            ids = [i.id for i in app.screen.items]
            assert ("capsule" in ids) is expect
            assert f"1 / {len(ids)}" in text_of(app, "#progress")
    app, _ = make_app(data_dir, "2026-03-16T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        await answer_all(pilot)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
    e = latest(Store.in_dir(data_dir).entries())[at("2026-03-16T00:00").date()]
    assert e.answers["capsule"] is True


async def test_escape_goes_back_and_review_edit_jumps(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        await pilot.press("1", "enter", "2", "enter")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.index == 1 and app.screen.query_one(VasBar).value == 2
        await pilot.press("enter")
        await pilot.pause()
        for _ in range(len(app.screen.items) - 2):
            await pilot.press(*"3", "enter") if app.screen.item.kind == "vas" else await pilot.press("enter")
            await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("down", "e")  # change item 2
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen) and app.screen.index == 1
        await pilot.press("9", "enter")  # back straight to the review
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app.screen.answers["pain"] == 9


async def test_save_failure_is_shown_and_nothing_is_lost(diary, data_dir, monkeypatch):
    from diary_client.device.store import StoreError

    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        await answer_all(pilot)
        store = app.screen.diary.store

        def full(entry, drop_draft=False, zone=None):  # a full disk cannot be made on demand in a test
            raise StoreError("not saved: database or disk is full")

        monkeypatch.setattr(store, "save", full)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        msg = text_of(app, "#review-message")
        assert "disk is full" in msg and "nothing you entered was lost" in msg
        assert msg.lower().count("not saved") == 1  # the store's own "not saved" is not said twice
        monkeypatch.undo()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Saved at" in text_of(app, "#review-message")
    assert len(Store.in_dir(data_dir).entries()) == 1


async def test_corrupt_database_is_a_message_not_a_traceback(data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / "diary.db").write_bytes(b"this is not a database" * 100)
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        assert "cannot open the diary database" in text_of(app, "#error-message")
        await pilot.press("q")


async def test_unreadable_stored_protocol_is_shown(diary, data_dir):
    diary.store.set_settings(protocol_toml="this = [is not toml")
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        assert "stored protocol" in text_of(app, "#error-message").lower() or "Stored protocol" in text_of(app, "#error-message")


def _answers(diary: Diary, d) -> dict:
    from diary_client.core.schedule import span_on

    out = {}
    for i in diary.protocol.items_in(span_on(diary.protocol, diary.start, d).phase.id):
        out[i.id] = {"vas": 40, "yesno": True, "multi": [], "text": None}[i.kind]
    return out


async def test_home_before_day_1_says_when_the_first_report_opens(data_dir):
    from diary_client.core.protocol import builtin_text
    from diary_client.device.diary import Diary
    from diary_client.device.store import Store

    Diary.enroll(Store.in_dir(data_dir), "P01", builtin_text(), at("2026-04-01T12:00").date())
    app, _ = make_app(data_dir, "2026-03-20T10:00")  # enrolled at a visit 12 days before day 1
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert text_of(app, "#day") == "Day 1 starts Wed 1 Apr"
        assert "Day 1 is Wednesday 1 April: its report opens at 18:00" in text_of(app, "#today")
        assert "Nothing is counted before day 1" in text_of(app, "#compliance")


async def test_home_hides_the_day_box_when_status_cannot_be_read(diary, data_dir):
    from diary_client.core.clock import ClockError

    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        home = app.screen

        def broken():
            raise ClockError("DIARY_NOW='soon' is not a date-time")

        home.now_fn = broken
        home.refresh_status()
        await pilot.pause()
        assert not home.query_one("#day").display and "not a date-time" in text_of(app, "#message")
