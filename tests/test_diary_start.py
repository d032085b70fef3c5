"""The app's path from `diary` to the home screen stays light: none of the heavy libraries load."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store

HEAVY = ("pydantic", "pydantic_core", "fastapi", "starlette", "uvicorn", "httpx", "numpy", "scipy",
         "matplotlib", "statsmodels", "pandas", "textual_plotext", "plotext", "sqlite_utils", "click",
         "annotated_types")  # the models' constraints load with pydantic (constraints.py), not before

# The console entry as `diary --data-dir DIR` runs it, up to the home screen drawn headless. The
# first timed sync (which loads the HTTP client, by design) is put off past the test, so however
# long reaching home takes on a busy machine, only the path to home is looked at.
TO_HOME = """
import asyncio, sys
from diary_client.cli import launch
from diary_client.app.main import create_app
from diary_client.core import clock

async def main():
    app = create_app(launch.app_data_dir(["--data-dir", sys.argv[1]]), clock.now, first_sync_s=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = str(app.screen.query_one("#day").render())
    assert shown.startswith("Day "), shown
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))
    print(",".join(heavy))

asyncio.run(main())
"""


def test_the_path_to_home_loads_no_heavy_library(tmp_path, monkeypatch):
    monkeypatch.setenv("DIARY_NOW", "2026-03-20T19:00")
    Diary.enroll(Store.in_dir(tmp_path), "P01", builtin_text(), date(2026, 3, 2), hub_url="http://127.0.0.1:9")
    run = subprocess.run([sys.executable, "-c", TO_HOME, str(tmp_path), ",".join(HEAVY)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "", f"loaded on the way to home: {run.stdout.strip()}"


def test_only_opening_the_app_skips_the_command_line(tmp_path, monkeypatch):
    from diary_client.cli.datadir import default_data_dir
    from diary_client.cli.launch import app_data_dir

    monkeypatch.delenv("DIARY_HOME", raising=False)
    assert app_data_dir([]) == default_data_dir()
    monkeypatch.setenv("DIARY_HOME", str(tmp_path))
    assert app_data_dir([]) == tmp_path
    assert app_data_dir(["--data-dir", "x"]) == app_data_dir(["--data-dir=x"]) == Path("x")
    for args in (["status"], ["--data-dir", "x", "status"], ["--help"], ["--data-dir"], ["--data-dir="],
                 ["--data-dir", "--help"], ["--version"]):
        assert app_data_dir(args) is None, args  # a command: click's command line takes it
