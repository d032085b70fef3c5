"""The short device commands load only what they use: run as the `diary` console entry runs them, in
a process of their own, each reports at exit which of the heavy libraries it imported."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta

from hub_fixture import answers_for, hub, make_entry  # noqa: F401  # hub: the fixture

from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store

HEAVY = ("numpy", "scipy", "sqlite_utils", "pandas", "pydantic", "pydantic_core", "annotated_types", "matplotlib",
         "textual", "fastapi", "starlette", "uvicorn", "anyio._backends._asyncio")

# `diary ARGS...` through the console entry; at exit (click ends with SystemExit) it prints the heavy
# libraries loaded, on stderr's last line.
AS_DIARY = """
import atexit, sys
heavy = sys.argv.pop(1).split(",")
atexit.register(lambda: print("LOADED:" + ",".join(sorted(({m.split(".")[0] for m in sys.modules} | set(sys.modules))
                                                         & set(heavy))), file=sys.stderr))
sys.argv[0] = "diary"
from diary_client.cli.launch import run
run()
"""


def loaded(args: list[str], env_now: str | None = "2026-03-02T19:00", heavy: tuple[str, ...] = HEAVY) -> tuple[set[str], str]:
    env = os.environ | {"DIARY_NOW": env_now} if env_now else None
    run = subprocess.run([sys.executable, "-c", AS_DIARY, ",".join(heavy), *args], capture_output=True, text=True,
                         timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("LOADED:"), run.stderr[-2000:]
    return {m for m in last.removeprefix("LOADED:").split(",") if m}, run.stdout


def enrolled(tmp_path, start=date(2026, 3, 1), **kw) -> str:
    Diary.enroll(Store.in_dir(tmp_path), "P01", builtin_text(), start, **kw).store.close()
    return str(tmp_path)


RECORD = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20", "headache=0",
          "gi=5", "thinking=30", "side_effects="]


def test_status_and_record_load_no_heavy_library(tmp_path):
    data = enrolled(tmp_path)
    assert loaded(["--data-dir", data, "status"])[0] == set()
    got, out = loaded(["--data-dir", data, "record", *RECORD])
    assert got == set() and "saved" in out
    assert loaded(["--data-dir", data, "status", "--json"])[0] == set()
    assert loaded(["--data-dir", data, "verify"])[0] == set()  # the whole chain checked, sqlite3 alone


def test_report_computes_with_numpy_alone(tmp_path):
    data = enrolled(tmp_path, start=date(2026, 1, 1))
    diary = Diary(Store.in_dir(tmp_path))
    at = datetime(2026, 1, 1, 19, 0).astimezone()
    diary.store.save_all([diary.entry(day, answers_for(diary.protocol, "baseline", 40 + k % 7), at + timedelta(days=k),
                                      "on_time", "app")
                          for k, day in enumerate(date(2026, 1, 1) + timedelta(days=i) for i in range(10))])
    diary.store.close()
    got, out = loaded(["--data-dir", data, "report", "--json"], env_now="2026-01-11T19:00")
    assert got == {"numpy"}, got  # the t distribution is analysis.tdist's: no scipy, no sqlite-utils
    assert '"participant_id": "P01"' in out


def test_sync_loads_no_heavy_library_when_no_history_arrives(tmp_path, hub):  # noqa: F811
    from sync.client.upload import enroll_device

    diary = enroll_device(Store.in_dir(tmp_path), hub.url, hub.code("P01", date(2026, 3, 1)))
    diary.store.save(make_entry("P01", date(2026, 3, 1), 1, device_id=diary.device_id))
    diary.store.close()
    got, out = loaded(["--data-dir", str(tmp_path), "sync"], env_now=None, heavy=(*HEAVY, "diary_client.core.event"))
    # The hub's answers are msgspec Structs (sync.client.answers): no pydantic; the requests go over httpx's
    # blocking client (sync.client.blocking): no anyio asyncio backend; no event pending: no event models.
    assert got == set(), got
    assert "Uploaded 1 new" in out, out


def test_sync_loads_pydantic_only_to_read_history_that_arrives(tmp_path, hub):  # noqa: F811
    from sync.client.upload import enroll_device

    old = enroll_device(Store.in_dir(tmp_path / "old"), hub.url, hub.code("P01", date(2026, 3, 1)))
    old.store.save(make_entry("P01", date(2026, 3, 1), 1, device_id=old.device_id))
    old.store.close()
    assert loaded(["--data-dir", str(tmp_path / "old"), "sync"], env_now=None)[0] == set()
    new = enroll_device(Store.in_dir(tmp_path / "new"), hub.url, hub.code("P01"))
    new.store.close()
    got, out = loaded(["--data-dir", str(tmp_path / "new"), "sync"], env_now=None)
    assert got == {"pydantic", "pydantic_core", "annotated_types"}, got  # the fetched entries, validated at the edge
    assert Store.in_dir(tmp_path / "new").count("entries") == 1


def test_a_migration_still_loads_sqlite_utils(tmp_path):
    """A new diary file is made by sqlite-utils' migrations (the one write that needs it)."""
    store = Store.in_dir(tmp_path)
    assert "db" in vars(store)  # the migrations ran through sqlite-utils over the same connection
    store.close()
    reopened = Store.in_dir(tmp_path)
    assert "db" not in vars(reopened)  # nothing due: not loaded
    reopened.close()
