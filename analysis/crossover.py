"""The two-period crossover analysis of a counterbalanced study (Jones & Kenward), from each participant's role means.

Each participant contributes her primary item's mean in the drug period and in the placebo period
(the paper's arithmetic: the raw means of her filed days) and her sequence group: drug first (AB)
or placebo first (BA). With d = period 1 − period 2 and t = period 1 + period 2 for each participant:

- treatment (drug − placebo) = (mean d_AB − mean d_BA) / 2, and period (period 1 − period 2) =
  (mean d_AB + mean d_BA) / 2, each with the SE from the pooled within-group variance of d and a
  t test on n_AB + n_BA − 2 df: the same numbers as `lm(y ~ participant + period + treatment)`;
- carry-over (drug − placebo carried into the next period; it cannot be told from a sequence
  effect) = mean t_AB − mean t_BA, a two-sample t test on the totals, pooled variance: `lm(t ~ group)`.

The carry-over test has little power (it compares participants, not periods within them); a large
one makes the treatment estimate biased, which is why designs add a washout. Pure; scipy's t only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

METHOD = ("two-period crossover (Jones & Kenward): treatment and period effects from each participant's period "
          "difference by sequence group, carry-over from her total; two-sample t tests with pooled variance "
          "(= lm(y ~ participant + period + treatment) and lm(total ~ sequence) in R), on her raw drug and "
          "placebo means")


class Part(msgspec.Struct, frozen=True):
    estimate: float
    se: float
    df: int
    p: float
    ci95: tuple[float, float]


class Crossover(msgspec.Struct, frozen=True):
    """The primary item's two-period crossover analysis (item units: drug minus placebo)."""

    item: str
    treatment: Part
    period: Part  # period 1 − period 2
    carryover: Part  # total of the drug-first group − total of the placebo-first group
    n_active_first: int
    n_placebo_first: int
    method: str = METHOD

    def as_json(self) -> dict:
        t, pe, c = self.treatment, self.period, self.carryover
        return {"item": self.item,
                "treatment": {"estimate": t.estimate, "ci95": list(t.ci95), "p": t.p, "se": t.se, "df": t.df},
                "period": {"estimate": pe.estimate, "p": pe.p, "ci95": list(pe.ci95)},
                "carryover": {"estimate": c.estimate, "p": c.p, "ci95": list(c.ci95)},
                "groups": {"active_first": self.n_active_first, "placebo_first": self.n_placebo_first},
                "method": self.method}


def _pooled(a: Sequence[float], b: Sequence[float]) -> tuple[float, int]:
    """The pooled within-group variance of two samples and its df."""
    ma, mb = math.fsum(a) / len(a), math.fsum(b) / len(b)
    ss = math.fsum((x - ma) ** 2 for x in a) + math.fsum((x - mb) ** 2 for x in b)
    df = len(a) + len(b) - 2
    return ss / df, df


def _part(estimate: float, se: float, df: int) -> Part:
    from scipy.special import stdtr, stdtrit

    hw = float(stdtrit(df, 0.975)) * se
    p = float(2 * stdtr(df, -abs(estimate) / se)) if se > 0 else (1.0 if estimate == 0 else 0.0)
    return Part(estimate, se, df, p, (estimate - hw, estimate + hw))


def crossover(item: str, active: Sequence[float], placebo: Sequence[float],
              active_first: Sequence[bool]) -> Crossover | None:
    """From each participant's drug mean, placebo mean and whether the drug came first; None without
    at least one participant in each group and three in all (no variance to pool)."""
    ab = [(a, p) for a, p, first in zip(active, placebo, active_first) if first]
    ba = [(p, a) for a, p, first in zip(active, placebo, active_first) if not first]  # (period 1, period 2)
    if not ab or not ba or len(ab) + len(ba) < 3:
        return None
    d_ab, d_ba = [x - y for x, y in ab], [x - y for x, y in ba]
    t_ab, t_ba = [x + y for x, y in ab], [x + y for x, y in ba]
    mean = lambda xs: math.fsum(xs) / len(xs)  # noqa: E731
    scale = math.sqrt(1 / len(ab) + 1 / len(ba))
    var_d, df = _pooled(d_ab, d_ba)
    se_d = math.sqrt(var_d) * scale / 2
    var_t, _ = _pooled(t_ab, t_ba)
    return Crossover(
        item,
        _part((mean(d_ab) - mean(d_ba)) / 2, se_d, df),
        _part((mean(d_ab) + mean(d_ba)) / 2, se_d, df),
        _part(mean(t_ab) - mean(t_ba), math.sqrt(var_t) * scale, df),
        len(ab), len(ba))
