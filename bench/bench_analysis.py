"""Analysis speed: a personal report over 365 days and a cohort report over 1,000 × 98 days, each with its floor.

Usage: python bench/bench_analysis.py [--participants 1000] [--runs 15]
The floor does the same core work with the bare libraries in the same run: numpy phase means and SDs
for every item plus statsmodels GLSAR (AR(1), 5 iterations) fits — one per item for the personal
report, one per participant (primary item) for the cohort. Budgets: personal < 0.3 s, cohort < 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np

from analysis.cohort import cohort_report
from analysis.participant import ParticipantData
from analysis.personal import analyse
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.entry import latest
from diary_client.core.protocol import load_protocol
from diary_client.core.schedule import phase_spans

START = date(2025, 1, 6)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def year_protocol():
    """ldn-fm stretched to 365 days: 30 baseline, 30 placebo, 275 drug, 30 washout."""
    p = load_protocol()
    return replace(p, phases=[replace(ph, days=days) for ph, days in zip(p.phases, (30, 30, 275, 30), strict=True)])


def timed(fn, runs: int) -> tuple[float, float]:
    """(first call, median of the next `runs` calls) in seconds."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return first, statistics.median(times)


def floor_work(protocol, start, entries_list, glsar_items):
    """numpy phase means/SDs of every numeric item + a GLSAR fit per (participant, item) in glsar_items."""
    import statsmodels.api as sm

    spans = phase_spans(protocol, start)
    numeric = [i.id for i in protocol.items if i.numeric]
    for entries in entries_list:
        days = latest(entries)
        day_no = np.array([(d - start).days for d in days])
        phase = np.searchsorted([s.last_day for s in spans], day_no + 1)
        Y = np.array([[e.answers.get(i, np.nan) for i in numeric] for e in days.values()], dtype=float)
        for c in range(len(spans)):
            rows = Y[phase == c]
            rows.mean(axis=0), rows.std(axis=0, ddof=1)
        X = np.eye(len(spans))[phase]
        for j in range(len(numeric) if glsar_items == "all" else 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sm.GLSAR(Y[:, j], X, rho=1).iterative_fit(maxiter=5)


def bench_personal(runs: int) -> dict:
    proto = year_protocol()
    entries = as_entries(proto, START, simulate(proto, START, np.random.default_rng(1), Profile(missing=0.05)), "Y1")

    def report():
        json.dumps(analyse(proto, START, entries, NOW, "Y1", blinded=False).as_json())

    first, median = timed(report, runs)
    _, floor = timed(lambda: floor_work(proto, START, [entries], "all"), runs)
    return {"days": proto.days_total, "entries": len(entries), "first_s": first, "median_s": median,
            "floor_s": floor, "ratio": median / floor, "budget_s": 0.3}


def bench_cohort(n: int, runs: int) -> dict:
    proto = load_protocol()
    rng = np.random.default_rng(2)
    people = []
    for i in range(n):
        effects = {"placebo": 0.023, "active": float(rng.uniform(0, 0.6))}
        days = simulate(proto, START, rng, Profile(missing=0.03, effects=effects))
        people.append(ParticipantData(f"P{i:04d}", proto, START, as_entries(proto, START, days, f"P{i:04d}")))
    covariates = {p.participant_id: {"esr": float(rng.normal(20, 5))} for p in people}

    def report():
        "".join(cohort_report(people, NOW, covariates).json_text())

    first, median = timed(report, runs)
    _, floor = timed(lambda: floor_work(proto, START, [p.entries for p in people], "primary"), runs)
    return {"participants": n, "entries": sum(len(p.entries) for p in people), "first_s": first,
            "median_s": median, "floor_s": floor, "ratio": median / floor, "budget_s": 5.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=15, help="timed runs of the personal report (cohort: a third)")
    args = ap.parse_args()
    p = bench_personal(args.runs)
    print(f"personal report, {p['days']} days ({p['entries']} entries, 9 numeric items): "
          f"median {p['median_s'] * 1000:.1f} ms (first call {p['first_s'] * 1000:.0f} ms), "
          f"floor {p['floor_s'] * 1000:.1f} ms, ratio {p['ratio']:.2f}, budget {p['budget_s']} s")
    c = bench_cohort(args.participants, max(args.runs // 5, 2))
    print(f"cohort report, {c['participants']} participants × 98 days ({c['entries']} entries): "
          f"median {c['median_s']:.2f} s (first call {c['first_s']:.2f} s), floor {c['floor_s']:.2f} s, "
          f"ratio {c['ratio']:.2f}, budget {c['budget_s']} s")
    print(json.dumps({"personal": p, "cohort": c}))


if __name__ == "__main__":
    main()
