"""Writes tests/data/edges.csv, the series at the edges of φ that tests/data/edges.R fits (run once).

hi1: REML φ between the old grid's last two points (0.96, 0.98); hi2: REML φ above 0.98; neg: REML
φ below −0.9 with missing days (a negative φ: only `corAR1(form = ~ day)` fits it, `corCAR1` cannot);
trend: a drifting series with strong autocorrelation, fitted with the study-day trend (integer
values 0–100 as a VAS item gives them); cut: a series whose drug − placebo p moved from 0.64 to 0.50
when φ's posterior was no longer cut to [−0.9, 0.98]. On the ldn-fm phases (14, 14, 56, 14 days).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from make_data import ar1  # run from tests/data's folder or as a script: it sits beside this file

HERE = Path(__file__).parent
PHASES = np.array(["baseline"] * 14 + ["placebo"] * 14 + ["ldn"] * 56 + ["washout"] * 14)
DAY = np.arange(98)


def edge_series(seed: int, phi: float, missing: float):
    rng = np.random.default_rng(seed)
    y = np.clip(np.rint(60 + np.where(PHASES == "ldn", -15, 0) + ar1(rng, 98, phi, 10)), 0, 100)
    return y, rng.random(98) >= missing


def trend_series(seed: int):
    rng = np.random.default_rng(seed)
    mean = 40 + np.where(PHASES == "ldn", -12, 0) + np.where(PHASES == "placebo", -2, 0) + 10 * (DAY - 48.5) / 98
    return np.clip(np.rint(mean + ar1(rng, 98, 0.97, 15)), 0, 100), np.ones(98, dtype=bool)


def shoulder_series(seed: int, index: int):
    """Series `index` of a stream of random AR(1) participants (φ, missing share, effect drawn)."""
    rng = np.random.default_rng(seed)
    for _ in range(index + 1):
        phi, missing, effect = rng.uniform(0.0, 0.97), rng.uniform(0, 0.3), rng.uniform(0, 25)
        e = rng.normal(size=98)
        x = np.empty(98)
        x[0] = e[0]
        for t in range(1, 98):
            x[t] = phi * x[t - 1] + np.sqrt(1 - phi * phi) * e[t]
        y = 60 - effect * (PHASES == "ldn") + 10 * x
        keep = rng.random(98) >= missing
    return np.round(y, 4), keep


def main() -> None:
    series = {"hi1": edge_series(28, 0.97, 0.1), "hi2": edge_series(7, 0.99, 0.1), "neg": edge_series(3, -0.95, 0.1),
              "trend": trend_series(1002), "cut": shoulder_series(11, 230)}
    with (HERE / "edges.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series", "day", "phase", "y"])
        for name, (y, keep) in series.items():
            for d in np.flatnonzero(keep):
                w.writerow([name, d + 1, PHASES[d], f"{y[d]:g}"])


if __name__ == "__main__":
    main()
