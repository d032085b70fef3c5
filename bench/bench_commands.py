"""Short device commands as whole processes, each beside its floor timed in the same run, pair by pair.

    python bench/bench_commands.py [--runs 9] [--only record,sync,report]

1. `diary record` (one report filed) vs a stdlib process that saves one row durably (sqlite3,
   WAL, synchronous=FULL, one IMMEDIATE transaction): target <= 5x;
2. `diary sync` of 365 pending entries vs a one-shot anchor client (httpx posting the same batch
   bodies with a token to the same hub): target <= 1.5x;
3. `diary report --json` on a finished, unblinded study (98 days) vs a stdlib + numpy floor that
   reads the same entries and prints each item's phase means and SDs as JSON: target <= 2x.

Each round runs the command and its floor one after the other (alternating which goes first), on
fresh copies made before the clock starts; the ratio is taken per round, so a change of load on a
shared machine falls on both. Figures: median and min-max of each, and the per-round ratio.
Cold start to the home screen has its own script: bench/startup.sh.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PY = sys.executable
DIARY = str(Path(PY).parent / "diary")
RECORD_NOW = "2026-03-02T19:00"
RECORD_ARGS = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20", "headache=0",
               "gi=5", "thinking=30", "side_effects="]

FLOOR_SAVE = """
import json, sqlite3, sys, uuid
from datetime import datetime, timezone
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=FULL")
con.execute("BEGIN IMMEDIATE")
con.execute("INSERT INTO entries VALUES (?, ?, ?, ?)", [str(uuid.uuid4()), "2026-03-02",
            json.dumps({"severity": 50}), datetime.now(timezone.utc).isoformat()])
con.execute("COMMIT")
print("saved")
"""

ANCHOR_SYNC = """
import sys, httpx
url, token, *bodies = sys.argv[1:]
with httpx.Client(base_url=url, headers={"Authorization": "Bearer " + token}) as client:
    for path in bodies:
        r = client.post("/api/v1/entries", content=open(path, "rb").read(), headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text
        assert len(r.json()["accepted"]) > 0
"""

FLOOR_REPORT = """
import json, sqlite3, sys
import numpy as np
con = sqlite3.connect(sys.argv[1])
bounds = np.cumsum([0, 14, 14, 56, 14])
rows = con.execute("SELECT study_day, answers FROM entries WHERE supersedes IS NULL ORDER BY study_day").fetchall()
days = np.array([d for d, _ in rows])
answers = [json.loads(a) for _, a in rows]
out = {}
for item in answers[0]:
    vals = np.array([a.get(item) if isinstance(a.get(item), (int, float)) else np.nan for a in answers], dtype=float)
    out[item] = [{"mean": float(np.nanmean(v)) if np.isfinite(v).any() else None,
                  "sd": float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else None}
                 for v in (vals[(days > lo) & (days <= hi)] for lo, hi in zip(bounds[:-1], bounds[1:]))]
print(json.dumps(out, indent=2))
"""


def timed(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True)
    took = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed: {done.stderr.decode()[-400:]}")
    return took


def pairs(runs: int, prepare: Callable[[int], tuple[Callable[[], float], Callable[[], float]]]) -> dict:
    """`runs` rounds (plus one warm-up): each round prepares both sides, then times them, alternating order."""
    cmd_s, floor_s = [], []
    for k in range(runs + 1):
        cmd, floor = prepare(k)
        if k % 2:
            f, c = floor(), cmd()
        else:
            c, f = cmd(), floor()
        if k:  # round 0 warms the page cache and the byte code
            cmd_s.append(c)
            floor_s.append(f)
    ratios = [c / f for c, f in zip(cmd_s, floor_s)]
    return {"runs": runs, "command_s": stats(cmd_s), "floor_s": stats(floor_s), "ratio": stats(ratios)}


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


# -- diary record --------------------------------------------------------------------------------

def bench_record(tmp: Path, runs: int) -> dict:
    from datetime import date

    from diary_client.core.protocol import builtin_text
    from diary_client.device.diary import Diary
    from diary_client.device.store import Store

    template = tmp / "record-template"
    store = Store.in_dir(template)
    Diary.enroll(store, "BENCH", builtin_text(), date(2026, 3, 1))
    store.backup_daily(date(2026, 3, 2))  # the day's copy exists: a second command that day makes none
    store.close()
    floor_db = tmp / "floor-template.db"
    import sqlite3

    con = sqlite3.connect(floor_db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE entries (id TEXT PRIMARY KEY, diary_date TEXT, answers TEXT, submitted_at TEXT)")
    con.commit()
    con.close()
    env = os.environ | {"DIARY_NOW": RECORD_NOW}

    def prepare(k: int):
        data, db = tmp / f"record-{k}", tmp / f"floor-{k}.db"
        shutil.copytree(template, data)
        shutil.copy(floor_db, db)
        return (lambda: timed([DIARY, "--data-dir", str(data), "record", *RECORD_ARGS], env),
                lambda: timed([PY, "-c", FLOOR_SAVE, str(db)]))

    return pairs(runs, prepare)


# -- diary sync ----------------------------------------------------------------------------------

def bench_sync(tmp: Path, runs: int) -> dict:
    from bench_hub import START, YEAR_TOML, entries_for, server

    from diary_client.device.store import Store
    from sync.client.round import batches, upload_body
    from sync.client.upload import enroll_device, sync_diary
    from sync.hub.store import HubStore

    with server("hub", tmp / "hub.db") as (url, _):
        hub = HubStore(tmp / "hub.db")

        def prepare(k: int):
            import asyncio

            now = datetime.now(UTC)
            code = hub.enrolment.enroll(f"S{k:03d}", YEAR_TOML, START, "UTC", now)
            diary = enroll_device(Store.in_dir(tmp / f"sync-{k}"), url, code)
            asyncio.run(sync_diary(diary, now))  # the first round (nothing to send): history fetched, as on any later day
            diary.store.save_all(entries_for(f"S{k:03d}", diary.device_id, 365))
            diary.store.close()
            code = hub.enrolment.enroll(f"A{k:03d}", YEAR_TOML, START, "UTC", now)
            token = hub.enrolment.redeem(code, "anchor", now).token
            bodies = []
            for i, batch in enumerate(batches(entries_for(f"A{k:03d}", f"anchor-{k}", 365), [])):
                path = tmp / f"anchor-{k}-{i}.json"
                path.write_bytes(upload_body(batch, []))
                bodies.append(str(path))
            return (lambda: timed([DIARY, "--data-dir", str(tmp / f"sync-{k}"), "sync"]),
                    lambda: timed([PY, "-c", ANCHOR_SYNC, url, token, *bodies]))

        out = pairs(runs, prepare)
        assert len(hub.reads.entries("S001")) == 365
        return out


# -- diary report --json -------------------------------------------------------------------------

def bench_report(tmp: Path, runs: int) -> dict:
    data = tmp / "report"
    subprocess.run([DIARY, "demo", "--dir", str(data), "--no-app"], check=True, capture_output=True)
    db = str(data / "diary.db")
    return pairs(runs, lambda k: (lambda: timed([DIARY, "--data-dir", str(data), "report", "--json"]),
                                  lambda: timed([PY, "-c", FLOOR_REPORT, db])))


CASES = {
    "record": ("`diary record`", "stdlib one-row durable save", 5.0, bench_record),
    "sync": ("`diary sync` of 365 entries", "one-shot httpx anchor client", 1.5, bench_sync),
    "report": ("`diary report --json`", "stdlib + numpy floor", 2.0, bench_report),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=9, help="counted rounds per case (after one warm-up)")
    ap.add_argument("--only", default=",".join(CASES), help="comma-separated cases: " + ", ".join(CASES))
    args = ap.parse_args()
    # An installed copy runs from byte code (pip compiles it); with PYTHONDONTWRITEBYTECODE set no run
    # would write it, and each command would compile the project's ~90 modules again, its floor none.
    for package in ("diary_client", "sync", "analysis"):
        compileall.compile_dir(ROOT / package, quiet=1)
    results: dict = {"cpus": os.cpu_count(), "load": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            what, floor, target, run = CASES[name]
            r = run(Path(tmp), args.runs)
            results[name] = r | {"target": target}
            c, f, q = r["command_s"], r["floor_s"], r["ratio"]
            print(f"{what}: {c['median']:.3f} s ({c['min']:.3f}-{c['max']:.3f}); {floor}: {f['median']:.3f} s "
                  f"({f['min']:.3f}-{f['max']:.3f}); ratio {q['median']:.2f} ({q['min']:.2f}-{q['max']:.2f}), "
                  f"target <= {target}", flush=True)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "commands.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'commands.json'}")


if __name__ == "__main__":
    main()
