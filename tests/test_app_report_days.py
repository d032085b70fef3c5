"""The evening report at its source: the day named, numbers typed as meant, corrections that change something."""

from __future__ import annotations

from app_helpers import Ticks, answer_all, make_app, start_report, text_of
from conftest import START, at, file_report

from diary_client.app.screens.report import ReportScreen
from diary_client.app.screens.review import ReviewScreen, Row
from diary_client.app.widgets.number import NumberInput
from diary_client.app.widgets.vas import VasBar
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary, NothingChanged
from diary_client.device.store import Store

SIZE = (80, 24)



async def test_a_late_report_the_next_morning_names_its_day_everywhere(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-17T08:00")  # day 15 (Mon 16 Mar) is in its grace period
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert text_of(app, "#day") == "Day 15 of 98"
        assert "Yesterday's report — Mon 16 Mar — is late: still accepted until 11:59" in text_of(app, "#today")
        await start_report(pilot)
        assert "Day 15 · Mon 16 Mar — yesterday's report" in text_of(app, "#progress")
        assert text_of(app, "#prompt") == "Overall, how severe were your fibromyalgia symptoms on Monday 16 March?"
        while app.screen.item.id != "sleep_quality":
            await pilot.press("4", "0", "enter")
            await pilot.pause()
        assert text_of(app, "#prompt") == "How well did you sleep the night before Monday 16 March?"
        await pilot.press("6", "0", "enter")
        await pilot.pause()
        await answer_all_rest(pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert "Mon 16 Mar — yesterday's report" in text_of(app, "#review-title")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "marked late" in text_of(app, "#review-message")
    [e] = Store.in_dir(data_dir).entries()
    assert str(e.diary_date) == "2026-03-16" and e.timing == "late" and e.answers["sleep_quality"] == 60


async def answer_all_rest(pilot) -> None:
    screen = pilot.app.screen
    while isinstance(pilot.app.screen, ReportScreen):
        item = screen.item
        keys = {"vas": ["4", "0"], "yesno": ["y"], "multi": [], "text": []}[item.kind]
        await pilot.press(*keys, "enter")
        await pilot.pause()


def test_todays_report_reads_today_and_last_night(diary):
    report = diary.begin_report(at("2026-03-02T19:00"))
    prompts = {i.id: report.prompt(i) for i in report.items}
    assert prompts["severity"].endswith("symptoms today?") and prompts["sleep_quality"].endswith("sleep last night?")
    assert report.title() == "Day 1 · Mon 2 Mar"


async def test_retyping_a_vas_value_gives_the_number_typed(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        bar = app.screen.query_one(VasBar)
        ticks = Ticks(500.0)
        bar.typing.clock = ticks  # a clock the old rule read: no pause may restart the number
        await pilot.press("home", *["right"] * 5)
        assert bar.value == 5
        await pilot.press("6", "0")  # digits after another key start a new number
        assert bar.value == 60
        await pilot.press("left", "left", "left")
        await pilot.press(*["right"] * 10, "home", *["right"] * 7)
        assert bar.value == 7
        await pilot.press("1", "0", "0")
        assert bar.value == 100
        await pilot.press("4")  # straight after 100: 1004 is refused, never wrapped
        assert bar.value == 100 and "100 is the highest" in text_of(app, "#hint")
        assert "Backspace" in text_of(app, "#hint") and "pause" not in text_of(app, "#hint")
        await pilot.press("backspace", "backspace", "backspace")
        assert bar.value is None
        await pilot.press("4")
        ticks.t += 1.6  # a slow typist: the second digit still goes on with the first
        assert "typing; Enter takes it" in text_of(app, "#editor")
        await pilot.press("5")
        assert bar.value == 45 and text_of(app, "#hint") == ""
        await pilot.press("backspace", "2")  # Backspace edits the number shown
        assert bar.value == 42
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.answers["severity"] == 42


async def test_no_single_key_records_an_extreme_on_an_unanswered_scale(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=(60, 20)) as pilot:
        await start_report(pilot)
        bar = app.screen.query_one(VasBar)
        for key in ("left", "right", "shift+left", "pageup"):
            await pilot.press(key)
            assert bar.value is None, key
        assert "Not answered yet: type your number" in text_of(app, "#hint")
        await pilot.press("enter")  # nothing was set, so nothing is taken
        assert app.screen.index == 0 and "answer first" in text_of(app, "#hint")
        await pilot.press("end", "left", "enter")
        await pilot.pause()
        assert app.screen.answers["severity"] == 99


async def test_a_number_item_follows_the_same_rules_within_its_range(data_dir):
    text = builtin_text() + '\n[[items]]\nid = "steps"\nkind = "number"\nprompt = "Thousands of steps {day}?"\nmin = 0\nmax = 40\n'
    Diary.enroll(Store.in_dir(data_dir), "P01", text, START)
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        screen = app.screen
        while screen.item.id != "steps":
            await pilot.press(*{"vas": "5", "multi": "", "text": "", "yesno": "y"}[screen.item.kind], "enter")
            await pilot.pause()
        assert text_of(app, "#prompt") == "Thousands of steps today?"
        field = screen.query_one(NumberInput)
        ticks = Ticks(500.0)
        field.typing.clock = ticks  # a clock the old rule read: no pause may restart the number
        await pilot.press("3")
        ticks.t += 2
        await pilot.press("5")
        assert field.value == "35"
        await pilot.press("7")
        assert field.value == "35" and "40 is the highest" in text_of(app, "#hint")
        await pilot.press("backspace", "backspace", "1", "2", "backspace", "9")
        assert field.value == "19"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.answers["steps"] == 19


async def test_a_correction_marks_what_changed_and_refuses_no_change(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        await answer_all(pilot, "42")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert "Correcting day 1" in text_of(app, "#progress")
        for _ in app.screen.items:
            await pilot.press("enter")
            await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and "nothing changed yet" in text_of(app, "#review-title")
        await pilot.press("enter")
        await pilot.pause()
        assert "nothing changed" in text_of(app, "#review-message")
        rows = list(app.screen.query(Row))
        await pilot.press("down", "e")  # change the second answer
        await pilot.pause()
        assert app.screen.item.id == "pain"
        await pilot.press("2", "4", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert app.focused is list(app.screen.query(Row))[1]  # back on the row just changed
        assert "42 → 24" in str(list(app.screen.query(Row))[1].render())
        assert "1 changed" in text_of(app, "#review-title") and len(rows) == len(app.screen.query(Row))
    assert len(Store.in_dir(data_dir).entries()) == 1


def test_the_service_refuses_a_correction_that_changes_nothing(diary):
    now = at("2026-03-02T19:00")
    report = diary.begin_report(now)
    answers = {i.id: {"vas": 42, "multi": [], "text": None}[i.kind] for i in report.items}
    first = diary.save_report(report, answers, now)
    again = diary.begin_report(now, correcting=True)
    assert again.corrects == first and again.answers == first.answers
    try:
        diary.save_report(again, dict(again.answers), now, reason="checking")
    except NothingChanged as e:
        assert "nothing changed" in str(e)
    else:
        raise AssertionError("a correction that changes nothing was saved")
    assert again.changes(answers | {"pain": 24}) == {"pain": (42, 24)}


def test_an_unfiled_day_in_its_grace_period_is_marked_open_on_home_and_in_the_calendar(diary):
    from diary_client.core.days import LEGEND, MARK_SYMBOL
    from diary_client.device import progress as pd

    now = at("2026-03-03T08:00")  # day 1 unfiled, in its grace period
    assert diary.marks(now, START, START) == ["open"]
    [week, *_] = pd.calendar(diary.protocol, diary.start, diary.entries(), now, lambda s: "")
    assert week.marks[0] == MARK_SYMBOL["open"] == "…" and "… can be filed now" in LEGEND
    file_report(diary, {i.id: {"vas": 40, "multi": [], "text": None}[i.kind] for i in diary.begin_report(now).items}, now)
    assert diary.marks(now, START, START) == ["late"]  # filed late: only now L
