"""Benchmark: opening the progress view of a finished 98-day study, against a bare Textual screen.

Run: python bench/bench_progress.py [--runs 7]
Target: the view (chart, weeks, calendar, and the phase summary computed) opens in < 1 s.
The floor is the bare libraries doing the same drawing: a screen with tabs, a plotext chart of
98 points and a 14-row DataTable, pushed and measured the same way in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App  # noqa: E402
from textual.screen import Screen  # noqa: E402
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane  # noqa: E402
from textual_plotext import PlotextPlot  # noqa: E402

from diary_client.app.main import create_app  # noqa: E402
from diary_client.cli.demo import build_demo  # noqa: E402

NOW = "2026-06-20T12:00"


class FloorScreen(Screen):
    def compose(self):
        yield Header()
        with TabbedContent():
            with TabPane("Chart"):
                yield PlotextPlot(id="chart")
            with TabPane("Weeks"):
                yield DataTable(id="weeks")
        yield Footer()

    def on_mount(self):
        import random

        plt = self.query_one(PlotextPlot).plt
        plt.plot(list(range(1, 99)), [random.randint(0, 100) for _ in range(98)])
        table = self.query_one(DataTable)
        table.add_columns(*"abcdefghij")
        for w in range(14):
            table.add_row(*[str(w)] * 10)


class FloorApp(App):
    def on_key(self, event):
        if event.key == "p":
            self.push_screen(FloorScreen())


async def time_open(app, screen_name: str) -> tuple[float, float]:
    """Seconds from the key press to the view on screen, and to its background work done."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        t = time.perf_counter()
        await pilot.press("p")
        await pilot.pause()
        shown = time.perf_counter() - t
        assert type(app.screen).__name__ == screen_name, type(app.screen).__name__
        await app.workers.wait_for_complete()
        await pilot.pause()
        return shown, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    from datetime import datetime

    now = datetime.fromisoformat(NOW).replace(tzinfo=ZoneInfo("UTC"))
    with tempfile.TemporaryDirectory() as tmp:
        build_demo(Path(tmp) / "demo", now)
        app_times, floor_times = [], []
        for _ in range(args.runs):
            # the first app run also pays the one-off imports (numpy, scipy) of the summary
            app_times.append(asyncio.run(time_open(create_app(Path(tmp) / "demo", lambda: now), "ProgressScreen")))
            floor_times.append(asyncio.run(time_open(FloorApp(), "FloorScreen")))
    for i, what in enumerate(("view on screen", "summary computed")):
        a, f = statistics.median(t[i] for t in app_times), statistics.median(t[i] for t in floor_times)
        print(f"progress view of a finished 98-day study, {what}: first open {app_times[0][i]:.3f} s, "
              f"median {a:.3f} s (target < 1 s); floor median {f:.3f} s; ratio {a / f:.2f}")


if __name__ == "__main__":
    main()
