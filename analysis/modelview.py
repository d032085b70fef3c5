"""The model's view of an item: phase means, reductions, active − comparators, responder probability.

Point estimates are the GLS-AR(1) fit at the REML φ (what nlme::gls gives); intervals, p-values
and the responder probability come from the posterior that integrates over φ (analysis.posterior).
Requests from many fits are collected in a `Batch` and solved together.
"""

from __future__ import annotations

import msgspec
import numpy as np

from analysis import posterior
from analysis.results import Estimate
from analysis.stats import Fit

BASE_TAIL = 0.001  # the baseline level across 0: a 95% ratio interval needs it below 0.025 (Fieller)


class Batch:
    """Posterior questions from many fits, answered in three vectorised calls."""

    def __init__(self) -> None:
        self._parts: dict[str, list] = {"interval": [], "ratio": [], "p": [], "below": []}
        self._r: list[np.ndarray] = []
        self._size = {"interval": 0, "ratio": 0, "p": 0, "below": 0}
        self._out: dict[str, list] = {}

    def _add(self, kind: str, rows: posterior.Rows) -> slice:
        lo = self._size[kind]
        self._parts[kind].append(rows)
        self._size[kind] = lo + len(rows.df)
        return slice(lo, lo + len(rows.df))

    def interval(self, rows: posterior.Rows) -> slice:
        return self._add("interval" if rows.linear else "ratio", rows)

    def p(self, rows: posterior.Rows) -> slice:
        return self._add("p", rows)

    def below(self, rows: posterior.Rows, r: np.ndarray) -> slice:
        self._r.append(np.asarray(r, dtype=float))
        return self._add("below", rows)

    def solve(self) -> None:
        for kind in ("interval", "ratio"):
            self._out[kind] = posterior.interval(posterior.stack(self._parts[kind])).tolist()
        self._out["p"] = posterior.two_sided(posterior.stack(self._parts["p"])).tolist()
        r = np.concatenate(self._r) if self._r else np.zeros(0)
        self._out["below"] = posterior.below(posterior.stack(self._parts["below"]), r).tolist()

    def get(self, kind: str, where: slice, g: int):
        """The answer for series g of the request at `where` (interval kinds: [low, high])."""
        return self._out[kind][where.start + g]


class Roles(msgspec.Struct, frozen=True):
    """The model columns of each compared role: the first baseline, placebo and active phase of a fixed
    design, every period of the role in a randomized one (a role's level is the mean of its periods'
    means); empty: not in the model."""

    baseline: tuple[int, ...]
    placebo: tuple[int, ...]
    active: tuple[int, ...]
    others: dict[str, tuple[int, ...]] | None = None  # randomized designs: every role's columns, for `roles`


class SeriesModel(msgspec.Struct, frozen=True):
    """One item's model numbers, before they are put on the report."""

    means: dict[str, Estimate]
    reductions: dict[str, Estimate]
    vs_placebo_points: Estimate | None
    comparisons: dict[str, tuple[float, float, tuple[float, float] | None, float | None] | None]  # diff, sd, ci, p
    responder_probability: float | None
    baseline_unclear: bool = False  # percent-of-baseline intervals and the responder probability withheld
    roles: dict[str, Estimate] | None = None  # randomized designs: each role's mean of its periods' means


def _unit(q: int, *pairs: tuple[tuple[int, ...], float]) -> np.ndarray:
    """A contrast vector: each (columns, weight) adds weight / len(columns) to each column (a role's mean)."""
    c = np.zeros(q)
    for cols, v in pairs:
        for i in cols:
            c[i] += v / len(cols)
    return c


def _level(beta: list[float], cols: tuple[int, ...]) -> float:
    """The mean of the columns' coefficients (one column: its coefficient, exactly)."""
    return sum(beta[c] for c in cols) / len(cols)


def _oriented(rows: posterior.Rows, sign: np.ndarray) -> posterior.Rows:
    """Rows of num / (sign·den): the denominator made positive series by series."""
    s = sign[:, None]
    return posterior.Rows(rows.en, rows.ed * s, rows.vnn, rows.vnd * s, rows.vdd, rows.w, rows.df)


class FitPlan:
    """The questions one fit's series need answered, and their answers once the batch is solved."""

    def __init__(self, fit: Fit, cols: dict[str, int], roles: Roles, better: list[str], compare: bool,
                 responder_points: float | None, batch: Batch) -> None:
        self.fit, self.cols, self.roles, self.batch = fit, cols, roles, batch
        self.beta = fit.beta.tolist()
        self.varies = (fit.sigma2 > 0).tolist()
        self.flip = np.array([1.0 if b == "lower" else -1.0 for b in better])  # positive reduction = better
        q = fit.q
        keys = list(cols)
        means = posterior.rows_many(fit, np.eye(q)[[cols[k] for k in keys]])
        self.means = {k: batch.interval(R) for k, R in zip(keys, means)}
        self.role_means: dict[str, tuple[tuple[int, ...], slice]] = {}
        present = {r: c for r, c in (roles.others or {}).items() if c}
        if present:
            rows = posterior.rows_many(fit, np.stack([_unit(q, (c, 1.0)) for c in present.values()]))
            self.role_means = {r: (c, batch.interval(R)) for (r, c), R in zip(present.items(), rows)}
        self.comparisons: dict[str, tuple[tuple[int, ...], tuple[int, ...], slice, slice, list]] = {}
        self.reductions: dict[str, tuple[int, slice, slice]] = {}
        self.vs_placebo: tuple[slice, slice | None] | None = None
        self.base_at: slice | None = None
        if not compare:
            return
        a, b, pl = roles.active, roles.baseline, roles.placebo
        pairs = [(name, other) for name, other in (("active_vs_baseline", b), ("active_vs_placebo", pl))
                 if a and other]
        if pairs:
            diffs = posterior.rows_many(fit, np.stack([_unit(q, (a, 1.0), (o, -1.0)) for _, o in pairs]))
            for (name, o), R in zip(pairs, diffs):
                self.comparisons[name] = (a, o, batch.p(R), batch.interval(R), posterior.sd(R).tolist())
        if not b:
            return
        # the paper's denominator: the baseline's own level (with a trend, not its level at the mean day)
        den: np.ndarray = sum((fit.own_level(c) for c in b), np.zeros(fit.q)) / len(b)
        mu_b = fit.beta @ den
        self.level = mu_b.tolist()
        self.sign = np.where(mu_b < 0, -1.0, 1.0)
        # a ratio has an interval when the baseline level is clearly away from 0: its posterior tail
        # across 0 is below a normal's beyond 4 SDs (a posterior SD would be infinite: as φ → 1 any
        # level's variance grows without bound, and the posterior reaches φ = 1)
        self.base_at = batch.below(posterior.rows(fit, den), np.zeros(len(mu_b)))
        # one baseline column is the reference (its reduction is 0); several are each compared with their mean
        others = [k for k in keys if len(b) > 1 or cols[k] not in b]
        nums = [_unit(q, (b, 100.0), ((cols[k],), -100.0)) for k in others]
        with_vs = bool(a and pl)
        if with_vs:
            nums.append(_unit(q, (pl, 100.0), (a, -100.0)))
        if not nums:
            return
        ratios = [_oriented(R, self.sign) for R in posterior.rows_many(fit, np.stack(nums), den)]
        vs_base = posterior.rows_many(fit, np.stack([_unit(q, ((cols[k],), 1.0), (b, -1.0)) for k in others])) if others else []
        for k, R, D in zip(others, ratios, vs_base):
            self.reductions[k] = (cols[k], batch.interval(R), batch.p(D))
        if with_vs:
            ask = None if responder_points is None else batch.below(ratios[-1], self.flip * responder_points)
            self.vs_placebo = (batch.interval(ratios[-1]), ask)  # P(flip·Q < flip·R): responder_probability

    def _base_ok(self, g: int) -> bool:
        if self.base_at is None:
            return False
        below = self.batch.get("below", self.base_at, g)
        return min(below, 1.0 - below) < BASE_TAIL

    def _ratio_ci(self, where: slice, g: int) -> tuple[float, float] | None:
        if not self._base_ok(g):
            return None
        f = self.flip[g]
        lo, hi = self.batch.get("ratio", where, g)
        return (lo, hi) if f > 0 else (-hi, -lo)

    def series(self, g: int) -> SeriesModel:
        batch, beta = self.batch, self.beta[g]
        if not self.varies[g]:  # constant values: nothing to test, no interval
            return SeriesModel({k: Estimate(beta[c]) for k, c in self.cols.items()}, {}, None,
                               {name: None for name in self.comparisons}, None,
                               roles={r: Estimate(_level(beta, c)) for r, (c, _) in self.role_means.items()})
        means = {k: Estimate(beta[c], tuple(batch.get("interval", self.means[k], g)))
                 for k, c in self.cols.items()}
        role_means = {r: Estimate(_level(beta, c), tuple(batch.get("interval", at, g)))
                      for r, (c, at) in self.role_means.items()}
        comparisons: dict = {}
        for name, (a, o, p_at, ci_at, sd) in self.comparisons.items():
            comparisons[name] = (_level(beta, a) - _level(beta, o), sd[g], tuple(batch.get("interval", ci_at, g)),
                                 batch.get("p", p_at, g))
        reductions: dict[str, Estimate] = {}
        vs_placebo, prob = None, None
        b = self.roles.baseline
        if self.comparisons or self.reductions:
            mu_b = abs(self.level[g]) if b else 0.0
            f = float(self.flip[g])
            for k, (col, red_ci, red_p) in self.reductions.items():
                value = f * 100.0 * (_level(beta, b) - beta[col]) / mu_b if mu_b else None
                reductions[k] = Estimate(value, self._ratio_ci(red_ci, g), batch.get("p", red_p, g))
            base_key = next((k for k, c in self.cols.items() if (c,) == b), None)
            if base_key is not None and mu_b:
                reductions[base_key] = Estimate(0.0)
            if self.vs_placebo is not None and mu_b:
                act, pl = self.roles.active, self.roles.placebo
                value = f * 100.0 * (_level(beta, pl) - _level(beta, act)) / mu_b
                p = comparisons.get("active_vs_placebo")
                vs_placebo = Estimate(float(value), self._ratio_ci(self.vs_placebo[0], g), None if p is None else p[3])
                if self.vs_placebo[1] is not None and self._base_ok(g):
                    below = batch.get("below", self.vs_placebo[1], g)
                    prob = 1.0 - below if f > 0 else below
        unclear = bool(self.reductions or self.vs_placebo) and not self._base_ok(g)
        return SeriesModel(means, reductions, vs_placebo, comparisons, prob, unclear, role_means)
