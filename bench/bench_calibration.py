"""Calibration of the reports' p-values: false-positive rates at α = 0.05, 0.01, 0.001 on AR(1) nulls.

Usage: nice python bench/bench_calibration.py [--nulls 20000] [--seed 1] [--processes 2]

Each cell simulates null participants on the 98-day ldn-fm schedule (baseline 14, placebo 14, drug
56, washout 14 days; AR(1) noise, SD 10, no effect), optionally with 15% of days missing at random,
and fits the model with or without the linear trend term. The p-value of drug − placebo is the
reports' (the posterior tail over φ, Zellner & Tiao 1964, Jeffreys' prior); beside it, for
comparison, Kenward & Roger's (1997) t with its df on the same fits. Also: power at a true 30%
reduction at φ = 0.6. The target: every rate within 1.5× of its α. Not a timed test: it takes minutes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from analysis import posterior
from analysis.stats import Job, ar1_fits

PHASE = np.repeat([0, 1, 2, 3], [14, 14, 56, 14])
DAYS = np.arange(1, 99)
ALPHAS = (0.05, 0.01, 0.001)
BLOCK = 2000


def _series(rng: np.random.Generator, n: int, phi: float, effect: float) -> np.ndarray:
    e = rng.normal(size=(n, 98))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, 98):
        x[:, t] = phi * x[:, t - 1] + np.sqrt(1 - phi * phi) * e[:, t]
    return 60 * (1 - effect * (PHASE == 2)) + 10 * x


def cell(args: tuple) -> dict:
    """One cell: (phi, missing, trend, n, seed, effect) -> counts of p < α for both methods."""
    phi, missing, trend, n, seed, effect = args
    rng = np.random.default_rng(seed)
    c = np.zeros(5 if trend else 4)
    c[2], c[1] = 1.0, -1.0
    hits = {"posterior": np.zeros(len(ALPHAS)), "kenward_roger": np.zeros(len(ALPHAS))}
    for lo in range(0, n, BLOCK):
        Y = _series(rng, min(BLOCK, n - lo), phi, effect)
        keep = rng.random(Y.shape) >= missing
        jobs = [Job(DAYS[k], PHASE[k], y[k][:, None], 4, trend) for y, k in zip(Y, keep)]
        fits = ar1_fits(jobs, kr=True)
        p = posterior.two_sided(posterior.stack([posterior.rows(f, c) for f in fits]))
        p_kr = np.array([f.kr(c).p[0] for f in fits])
        for name, ps in (("posterior", p), ("kenward_roger", p_kr)):
            hits[name] += [(ps < a).sum() for a in ALPHAS]
    return {"phi": phi, "missing": missing, "trend": trend, "n": n, "effect": effect,
            **{name: (h / n).tolist() for name, h in hits.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nulls", type=int, default=20000, help="null participants per cell")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    grid = list(itertools.product((0.3, 0.6, 0.8), (0.0, 0.15), (False, True)))
    tasks = [(phi, miss, trend, args.nulls, args.seed * 1000 + i, 0.0) for i, (phi, miss, trend) in enumerate(grid)]
    powers = [(0.6, 0.0, False), (0.6, 0.0, True), (0.6, 0.15, False), (0.6, 0.15, True)]
    tasks += [(phi, miss, trend, 4000, args.seed * 1000 + 90 + i, 0.30) for i, (phi, miss, trend) in enumerate(powers)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.processes) as pool:
        results = list(pool.map(cell, tasks))
    print(f"{args.nulls} nulls per cell, {time.perf_counter() - t0:.0f} s")
    print("| φ | missing | trend | α = 0.05 | α = 0.01 | α = 0.001 | Kenward–Roger: 0.05 | 0.01 | 0.001 |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for r in results[: len(grid)]:
        ps, kr = r["posterior"], r["kenward_roger"]
        worst = max(worst, *(x / a for x, a in zip(ps, ALPHAS)))
        print(f"| {r['phi']} | {r['missing']:.0%} | {'yes' if r['trend'] else 'no'} | "
              + " | ".join(f"{x:.4f}" for x in ps) + " | " + " | ".join(f"{x:.4f}" for x in kr) + " |")
    print(f"largest rate / α (reports' p): {worst:.2f} (target ≤ 1.5)")
    for r in results[len(grid):]:
        print(f"power at a true 30% reduction, φ = {r['phi']}, {r['missing']:.0%} missing, trend "
              f"{'on' if r['trend'] else 'off'} ({r['n']} participants): {r['posterior'][0]:.3f} "
              f"(Kenward–Roger {r['kenward_roger'][0]:.3f})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
