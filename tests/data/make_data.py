"""Writes the fixed data sets that tests/data/reference.R fits (run once; the CSVs are committed).

gls.csv: 4 series of 98 days on the ldn-fm phases (AR(1), φ 0.3–0.8, some with missing days);
meta.csv: 12 participants' effects and variances; mixed.csv: 12 participants' daily values with
a random intercept and a random drug effect.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
PHASES = ["baseline"] * 14 + ["placebo"] * 14 + ["ldn"] * 56 + ["washout"] * 14


def ar1(rng, n, phi, sd):
    x = np.empty(n)
    x[0] = rng.normal(0, sd)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.normal(0, sd * np.sqrt(1 - phi * phi))
    return x


def main() -> None:
    rng = np.random.default_rng(20261201)
    with (HERE / "gls.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["series", "day", "phase", "y"])
        for s, (phi, missing, drift) in enumerate([(0.3, 0.0, 0.0), (0.6, 0.15, 0.0), (0.8, 0.1, 8.0), (0.5, 0.2, 0.0)]):
            effect = np.array([{"ldn": -15.0, "placebo": -2.0}.get(p, 0.0) for p in PHASES])
            y = 60 + effect + drift * (np.arange(98) - 48.5) / 98 + ar1(rng, 98, phi, 10)
            keep = rng.random(98) >= missing
            for d in np.flatnonzero(keep):
                w.writerow([f"s{s + 1}", d + 1, PHASES[d], f"{y[d]:.4f}"])
    with (HERE / "meta.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["participant", "yi", "vi"])
        true = rng.normal(-12, 6, 12)
        for i, t in enumerate(true):
            v = float(rng.uniform(4, 30))
            w.writerow([f"P{i + 1:02d}", f"{t + rng.normal(0, np.sqrt(v)):.4f}", f"{v:.4f}"])
    with (HERE / "mixed.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["participant", "day", "phase", "drug", "value"])
        for i in range(12):
            b0, b1 = rng.normal(0, 8), rng.normal(0, 6)
            for d in range(98):
                if rng.random() < 0.1:
                    continue
                ph = PHASES[d]
                mean = 60 + b0 + {"placebo": -2.0, "ldn": -14.0 + b1, "washout": -4.0}.get(ph, 0.0)
                w.writerow([f"P{i + 1:02d}", d + 1, ph, int(ph == "ldn"), f"{mean + rng.normal(0, 9):.3f}"])


if __name__ == "__main__":
    main()
