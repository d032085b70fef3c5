"""Nothing typed is lost: the report in progress is a draft in the store, offered again at the next start."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from app_helpers import make_app, start_report, text_of
from conftest import at, file_report

from diary_client.app.screens.common import ChoiceScreen
from diary_client.app.screens.home import HomeScreen
from diary_client.app.screens.report import ReportScreen
from diary_client.device.diary import Diary
from diary_client.device.store import Store

SIZE = (80, 24)


async def test_ctrl_q_mid_report_asks_then_the_next_start_resumes(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        await pilot.press("4", "2", "enter")
        await pilot.pause()
        await pilot.press("3", "3")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen) and "Quit the diary?" in text_of(app, "#choice-question")
        await pilot.press("escape")  # stay
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen) and app.screen.index == 1
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert not app.is_running
    assert Store.in_dir(data_dir).entries() == []  # a draft is not an entry
    assert Store.in_dir(data_dir).count("audit") == 2  # nor audited: only the enrolment is (settings, first clock record)

    app, _ = make_app(data_dir, "2026-03-02T21:00")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen) and "unfinished report" in text_of(app, "#choice-question")
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReportScreen) and screen.index == 1 and screen.item.id == "pain"
        assert screen.answers["severity"] == 42 and screen.answers["pain"] == 33


async def test_leaving_a_report_with_answers_asks_and_can_keep_or_discard(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=SIZE) as pilot:
        await start_report(pilot)
        await pilot.press("escape")  # nothing answered: leaves at once
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await start_report(pilot)
        await pilot.press("7", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen) and "Leave this report?" in text_of(app, "#choice-question")
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert "unfinished report is kept (1 answer)" in text_of(app, "#today")
        await start_report(pilot)  # Enter goes on with it
        assert app.screen.answers["severity"] == 7
        await pilot.press("escape", "d")  # one D asks again: a slip loses nothing
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen) and "Throw your answers away?" in text_of(app, "#choice-question")
        await pilot.press("d", "enter")  # a second D or an Enter on the way is not a yes
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen) and Store.in_dir(data_dir).draft() is not None
        await pilot.press("escape")  # "no, keep them": back on the report, the answer still there
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen) and app.screen.answers["severity"] == 7
        await pilot.press("escape", "d", "y")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and Store.in_dir(data_dir).draft() is None


async def test_throwing_away_the_draft_offered_at_start_asks_twice(diary, data_dir):
    diary.keep_draft(diary.begin_report(at("2026-03-02T19:00")), {"severity": 12}, 1)
    app, _ = make_app(data_dir, "2026-03-02T19:30")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "unfinished report" in text_of(app, "#choice-question")
        await pilot.press("d")
        await pilot.pause()
        assert "Throw your answers away?" in text_of(app, "#choice-question")
        assert "1 answer will be gone for good" in text_of(app, "ChoiceScreen Static.muted")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and Store.in_dir(data_dir).draft() is not None
    app, _ = make_app(data_dir, "2026-03-02T19:31")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d", "y")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and Store.in_dir(data_dir).draft() is None


def test_a_draft_goes_once_saved_or_once_its_day_cannot_be_filed(diary):
    now = at("2026-03-02T19:00")
    report = diary.begin_report(now)
    diary.keep_draft(report, {"severity": 12}, 1)
    assert diary.resumable(now).answers == {"severity": 12}
    assert diary.resumable(at("2026-03-03T11:00")).position == 1  # still in its grace period
    assert diary.resumable(at("2026-03-03T12:30")) is None  # day 1 is missed: the draft is dropped
    assert diary.store.draft() is None
    diary.keep_draft(diary.begin_report(at("2026-03-03T19:00")), {"severity": 5}, 0)
    answers = {i.id: {"vas": 40, "multi": [], "text": None}[i.kind] for i in report.items}
    file_report(diary, answers, at("2026-03-03T19:10"))
    assert diary.store.draft() is None and diary.resumable(at("2026-03-03T19:10")) is None


def _drain(fd: int, seen: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        seen.extend(chunk)


def _wait(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a real process's file, bounded; no timing is asserted


async def test_a_draft_survives_sigkill_mid_report_and_resumes(diary, data_dir: Path):
    env = os.environ | {"DIARY_HOME": str(data_dir), "DIARY_NOW": "2026-03-02T19:00", "TZ": "UTC",
                        "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "diary_client"], stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True)
    os.close(slave)
    seen = bytearray()
    reader = threading.Thread(target=_drain, args=(master, seen), daemon=True)
    reader.start()
    try:
        _wait(lambda: b"Day 1 of 98" in seen or b"Day" in seen and b"98" in seen, "the home screen")
        os.write(master, b"\r")

        def draft_holds(**want) -> bool:
            kept = Store.in_dir(data_dir).draft()
            return kept is not None and all(kept["answers"].get(k) == v for k, v in want.items())

        _wait(lambda: b"1 / 11" in seen, "the report")
        os.write(master, b"42")
        _wait(lambda: draft_holds(severity=42), "the first answer in the draft")
        os.write(master, b"\r")
        _wait(lambda: b"2 / 11" in seen, "the second item")
        os.write(master, b"33")
        _wait(lambda: draft_holds(severity=42, pain=33), "the second answer in the draft")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
    assert Store.in_dir(data_dir).entries() == []

    app, _ = make_app(data_dir, "2026-03-02T19:05")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.answers["severity"] == 42 and app.screen.answers["pain"] == 33
    assert Diary(Store.in_dir(data_dir)).kept_answers() == 2
