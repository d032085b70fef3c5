"""Benchmark the device store: durable single-entry save vs a bare sqlite3 insert, and CSV import.

Run: python bench/bench_store.py [--n 300]
Targets: save ratio (store / bare sqlite3, both synchronous=FULL in WAL) <= 2; 365-day import < 0.5 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.simulate import simulate  # noqa: E402
from diary_client.cli.participant import read_csv_rows  # noqa: E402
from diary_client.core.answers import format_value  # noqa: E402
from diary_client.core.entry import Entry, new_id  # noqa: E402
from diary_client.core.protocol import builtin_text, parse_protocol  # noqa: E402
from diary_client.device.diary import Diary  # noqa: E402
from diary_client.device.store import Store  # noqa: E402

START = date(2026, 1, 1)
ANSWERS = {"severity": 50, "pain": 40, "fatigue": 30, "sleep_quality": 60, "sadness": 10, "stress": 20,
           "headache": 0, "gi": 5, "thinking": 30, "side_effects": []}


def entry(k: int) -> Entry:
    return Entry(id=new_id(), participant_id="P01", study_id="ldn-fm", protocol_version=1,
                 diary_date=START + timedelta(days=k), study_day=k + 1, answers=ANSWERS,
                 submitted_at=datetime.now(UTC), timing="on_time", source="app",
                 device_id="dev", seq=0)


def time_store(folder: Path, n: int) -> list[float]:
    store = Store(folder / "store.db")
    out = []
    for k in range(n):
        e = entry(k)
        t = time.perf_counter()
        store.save(e)
        out.append(time.perf_counter() - t)
    return out


def time_bare(folder: Path, n: int) -> list[float]:
    con = sqlite3.connect(folder / "bare.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE entries (id TEXT PRIMARY KEY, diary_date TEXT, answers TEXT, submitted_at TEXT)")
    out = []
    for k in range(n):
        e = entry(k)
        t = time.perf_counter()
        con.execute("BEGIN")
        con.execute("INSERT INTO entries VALUES (?, ?, ?, ?)",
                    [e.id, e.diary_date.isoformat(), json.dumps(e.answers), e.submitted_at.isoformat()])
        con.execute("COMMIT")
        out.append(time.perf_counter() - t)
    return out


def year_protocol_text() -> str:
    text = builtin_text().replace("days = 56", "days = 323")  # 14 + 14 + 323 + 14 = 365 days
    assert parse_protocol(text).days_total == 365
    return text


def time_import(folder: Path) -> tuple[float, int]:
    text = year_protocol_text()
    protocol = parse_protocol(text)
    days = simulate(protocol, START, np.random.default_rng(1))
    path = folder / "year.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", *[i.id for i in protocol.items]])
        for d, a in days.items():
            w.writerow([d, *[format_value(i, a.get(i.id)) for i in protocol.items]])
    diary = Diary.enroll(Store(folder / "import.db"), "P01", text, START)
    now = datetime(2027, 6, 1, tzinfo=UTC)
    t = time.perf_counter()
    saved = diary.import_rows(read_csv_rows(path), now)
    return time.perf_counter() - t, len(saved)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="saves per side (default 300)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        folder = Path(tmp)
        # interleave halves so that disk noise hits both sides alike
        store, bare = [], []
        for half in range(2):
            sub = folder / str(half)
            sub.mkdir()
            bare += time_bare(sub, args.n // 2)
            store += time_store(sub, args.n // 2)
        s_med, b_med = statistics.median(store), statistics.median(bare)
        print(f"durable save, median of {len(store)}: store {s_med * 1e3:.2f} ms, "
              f"bare sqlite3 {b_med * 1e3:.2f} ms, ratio {s_med / b_med:.2f} (target <= 2)")
        secs, n = time_import(folder)
        print(f"import of a {n}-day CSV in process: {secs:.3f} s (target < 0.5 s)")


if __name__ == "__main__":
    main()
