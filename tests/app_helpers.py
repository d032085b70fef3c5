"""Helpers for the app tests: an app over a data dir with a clock the test moves."""

from __future__ import annotations

from pathlib import Path

from conftest import at

from diary_client.app.main import create_app


class Clock:
    def __init__(self, when: str):
        self.now = at(when)

    def set(self, when: str) -> None:
        self.now = at(when)

    def __call__(self):
        return self.now


class Ticks:
    """A monotonic clock the test moves (`ticks.t += 1.2`): the VAS typing pause without sleeping."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_app(data_dir: Path, when: str):
    clock = Clock(when)
    return create_app(data_dir, now_fn=clock), clock


def text_of(app, selector: str) -> str:
    """The plain text a widget shows (text, or a rich renderable such as a table)."""
    import io

    from rich.console import Console

    widget = app.screen.query_one(selector)
    shown = getattr(widget, "content", None)
    if not hasattr(shown, "__rich_console__"):
        return str(widget.render())
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(shown)
    return console.export_text()


async def answer_all(pilot, vas: str = "42") -> None:
    """Answer every item of the open report with keys only, ending on the review screen."""
    from diary_client.app.screens.report import ReportScreen

    screen = pilot.app.screen
    assert isinstance(screen, ReportScreen)
    for item in list(screen.items):
        if item.kind == "vas":
            await pilot.press(*vas)
        elif item.kind == "yesno":
            await pilot.press("y")
        elif item.kind == "multi":
            await pilot.press("down", "space")
        elif item.kind == "text":
            await pilot.press(*"ok")
        await pilot.press("enter")
        await pilot.pause()


async def start_report(pilot) -> None:
    """From a freshly started app on home: Enter opens today's report."""
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


def screen_text(app) -> str:
    """What the terminal shows now, line by line (the compositor's strips)."""
    return "\n".join(s.text for s in app.screen._compositor.render_strips())
