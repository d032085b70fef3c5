"""Shared test fixtures: an enrolled device in a temporary data dir, a fixed clock."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from click.testing import CliRunner

from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store

START = date(2026, 3, 2)


def at(text: str, tz=None) -> datetime:
    """An aware local datetime for tests (UTC unless a zone is given)."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=tz or ZoneInfo("UTC"))


def file_report(diary: Diary, answers: dict, now: datetime, source="app", reason: str | None = None):
    """Begin, check and durably save a report (or a correction, with `reason`) in one call, as the
    app and `diary record` do in two."""
    return diary.save_report(diary.begin_report(now, correcting=reason is not None), answers, now, source, reason)


@pytest.fixture(autouse=True)
def _quiet_clock_notice(monkeypatch):
    """Tests set DIARY_NOW on purpose for almost every command: its stderr notice (clock.override_notice)
    is silenced as documented, except where a test removes DIARY_NOW_QUIET to check the notice itself."""
    monkeypatch.setenv("DIARY_NOW_QUIET", "1")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "home"
    monkeypatch.setenv("DIARY_HOME", str(d))
    monkeypatch.setenv("TZ", "UTC")
    return d


@pytest.fixture
def diary(data_dir) -> Diary:
    return Diary.enroll(Store.in_dir(data_dir), "P01", builtin_text(), START)


@pytest.fixture
def cli(data_dir, monkeypatch):
    """Run `diary ...` in process at a given DIARY_NOW; returns the click Result."""
    from diary_client.cli.tree import main

    runner = CliRunner()

    def run(*args: str, now: str | None = None, input: str | None = None):
        if now:
            monkeypatch.setenv("DIARY_NOW", now)
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return run


def one_line_error(result, *words: str) -> None:
    """A click Result that is a user error: exit 1, one line naming the problem, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.strip().count("\n") == 0, result.output
    for w in words:
        assert w in result.output, result.output
