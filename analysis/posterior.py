"""Posterior tail probabilities and intervals of contrasts and ratios of contrasts of a GLS-AR(1) fit.

Zellner & Tiao (1964, JASA 59:763–778): with flat priors on the phase means (and trend) and on
log σ, the posterior of c'β given φ is Student t with n − q df around c'β̂(φ), scale
σ̂(φ)·√(c'M(φ)⁻¹c), and φ's own posterior is the restricted likelihood times φ's prior (Jeffreys',
(1 − φ²)^(−1/2)). Integrating over φ (the fit's nodes) gives the posterior of any contrast; a ratio
num/den with a positive denominator is handled through P(num − r·den < 0), which is linear in β
for each r (the Bayesian form of Fieller's interval). The two-sided tail probability
2·min(P(c'β < 0), P(c'β > 0)) is the p-value the reports give: bench/bench_calibration.py shows its
false-positive rate on AR(1) nulls.

Everything is vectorised over rows: one row is one series of one fit and one requested quantity,
so a cohort's intervals are solved in a few numpy calls.
"""

from __future__ import annotations

from functools import lru_cache

import msgspec
import numpy as np

from analysis import tdist
from analysis.stats import Fit

FIELDS = ("en", "ed", "vnn", "vnd", "vdd", "w", "df")
TABLE = 4097  # points of the tabulated t CDF, in u = z / √(ν + z²) ∈ [−1, 1]


class Rows(msgspec.Struct, frozen=True):
    """Per row (R) and node (K): num's and den's means and the (co)variances of num and den."""

    en: np.ndarray
    ed: np.ndarray
    vnn: np.ndarray
    vnd: np.ndarray
    vdd: np.ndarray
    w: np.ndarray
    df: np.ndarray  # (R,) conditional t df
    linear: bool = False  # no denominator: num's sd does not depend on r


def rows(fit: Fit, num: np.ndarray, den: np.ndarray | None = None) -> Rows:
    """One row per series of `fit` for num'β (over den'β when `den` is given; else over 1)."""
    num = np.asarray(num, dtype=float)
    en = fit.node_beta @ num  # (k, K)
    vnn = np.einsum("q,kgqr,r->kg", num, fit.node_cov, num)
    if den is None:
        ed, vnd, vdd = np.ones_like(en), np.zeros_like(en), np.zeros_like(en)
    else:
        den = np.asarray(den, dtype=float)
        ed = fit.node_beta @ den
        vnd = np.einsum("q,kgqr,r->kg", num, fit.node_cov, den)
        vdd = np.einsum("q,kgqr,r->kg", den, fit.node_cov, den)
    return Rows(en, ed, vnn, vnd, vdd, fit.node_w, np.full(len(en), float(fit.df)), den is None)


def rows_many(fit: Fit, nums: np.ndarray, den: np.ndarray | None = None) -> list[Rows]:
    """`rows(fit, num, den)` for each row of nums (n, q), in shared numpy calls."""
    nums = np.asarray(nums, dtype=float).reshape(-1, fit.q)
    en = np.einsum("kgq,nq->nkg", fit.node_beta, nums)
    cov_n = np.einsum("kgqr,nr->nkgq", fit.node_cov, nums)
    vnn = np.einsum("nkgq,nq->nkg", cov_n, nums)
    df = np.full(en.shape[1], float(fit.df))
    if den is None:
        zero, one = np.zeros_like(en[0]), np.ones_like(en[0])
        return [Rows(en[i], one, vnn[i], zero, zero, fit.node_w, df, True) for i in range(len(nums))]
    den = np.asarray(den, dtype=float)
    ed = fit.node_beta @ den
    vnd = cov_n @ den
    vdd = np.einsum("q,kgqr,r->kg", den, fit.node_cov, den)
    return [Rows(en[i], ed, vnn[i], vnd[i], vdd, fit.node_w, df) for i in range(len(nums))]


def stack(parts: list[Rows]) -> Rows:
    """The rows of many requests as one set, solved together."""
    if not parts:
        z = np.zeros((0, 1))
        return Rows(z, z, z, z, z, z, np.zeros(0))
    K = max(p.w.shape[1] for p in parts)
    assert all(p.w.shape[1] == K for p in parts), "every fit has the same nodes"
    return Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS), all(p.linear for p in parts))  # type: ignore[call-arg,arg-type]  # mypy cannot count a starred generator: one per FIELDS


@lru_cache(maxsize=64)
def _table(df: float) -> np.ndarray:
    out = tdist.cdf_of_u(np.linspace(-1.0, 1.0, TABLE), df)
    out[0], out[-1] = 0.0, 1.0
    return out


def _tables(df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The t CDF tables of the rows' df values, flat, and each row's offset into them."""
    levels, which = np.unique(df, return_inverse=True)
    if len(levels) == 0:
        return np.zeros(TABLE), np.zeros(0, dtype=np.int64)
    return np.concatenate([_table(float(v)) for v in levels]), which * TABLE


def _t_cdf(z: np.ndarray, df: np.ndarray, tables: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Student t CDF of z (R, K) with df (R,), by linear interpolation in u (error ≈ 1e-9 or less)."""
    flat, offset = tables
    d = df[:, None]
    with np.errstate(invalid="ignore"):
        u = z / np.sqrt(d + z * z)
    u = np.where(np.isnan(u), np.where(np.isnan(z), 0.0, np.sign(z)), u)  # ±inf → ±1
    pos = (u + 1.0) * ((TABLE - 1) / 2.0)
    i = np.minimum(pos.astype(np.int64), TABLE - 2)
    f = pos - i
    i += offset[:, None]
    return flat[i] * (1.0 - f) + flat[i + 1] * f


def _t_logc(df: np.ndarray) -> np.ndarray:
    levels, which = np.unique(df, return_inverse=True)
    return tdist.log_c(levels)[which]


def _t_pdf(z: np.ndarray, df: np.ndarray, logc: np.ndarray) -> np.ndarray:
    d = df[:, None]
    return np.exp(logc[:, None] - (d + 1) / 2 * np.log1p(z * z / d))


def _z(r: np.ndarray, R: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Per node, z = (r·den − num) / sd(num − r·den) and dz/dr."""
    r = r[:, None]
    if R.linear:
        inv = 1.0 / np.sqrt(np.where(R.vnn > 0, R.vnn, np.nan))
        gap = r - R.en
        z = np.where(np.isnan(inv), np.where(gap > 0, np.inf, np.where(gap < 0, -np.inf, 0.0)), gap * inv)
        return z, np.where(np.isnan(inv), 0.0, inv)
    var = np.maximum(R.vnn - 2 * r * R.vnd + r * r * R.vdd, 0.0)
    sd = np.sqrt(var)
    gap = r * R.ed - R.en
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, gap / sd, np.where(gap > 0, np.inf, np.where(gap < 0, -np.inf, 0.0)))
        dz = np.where(sd > 0, R.ed / sd - gap * (r * R.vdd - R.vnd) / (sd * var), 0.0)
    return z, dz


def sd(R: Rows) -> np.ndarray:
    """Per row, the posterior standard deviation of num (rows without a denominator)."""
    scale = np.where(R.df > 2, R.df / np.maximum(R.df - 2, 1e-9), np.inf)[:, None]
    mean = (R.w * R.en).sum(axis=1)
    return np.sqrt(np.maximum((R.w * (R.vnn * scale + R.en * R.en)).sum(axis=1) - mean * mean, 0.0))


def below(R: Rows, r: np.ndarray | float = 0.0) -> np.ndarray:
    """Per row, the posterior probability that num − r·den < 0 (num/den < r when den > 0)."""
    r = np.broadcast_to(np.asarray(r, dtype=float), R.df.shape).astype(float)
    z, _ = _z(r, R)
    return np.clip((R.w * _t_cdf(z, R.df, _tables(R.df))).sum(axis=1), 0.0, 1.0)


def two_sided(R: Rows) -> np.ndarray:
    """Per row, 2·min(P(num < 0), P(num > 0)): the reports' p-value of a contrast."""
    lo = below(R, 0.0)
    return np.minimum(1.0, 2.0 * np.minimum(lo, 1.0 - lo))


def quantile(R: Rows, prob: np.ndarray | float) -> np.ndarray:
    """Per row, r with P(num/den < r) = prob (den assumed positive), by safeguarded Newton steps."""
    n = len(R.df)
    target = np.broadcast_to(np.asarray(prob, dtype=float), (n,))
    if n == 0:
        return np.zeros(0)
    # start from the weighted mean of each node's own quantile (exact when the nodes agree)
    ed = np.where(R.ed != 0, R.ed, 1.0)
    ratio = R.en / ed
    centre = (R.w * ratio).sum(axis=1)
    spread = np.sqrt((R.w * (R.vnn / ed**2 + (ratio - centre[:, None]) ** 2)).sum(axis=1))
    spread = np.where(np.isfinite(spread) & (spread > 0), spread, 1.0)
    levels, which = np.unique(np.stack([R.df, target]), axis=1, return_inverse=True)
    tq = tdist.ppf(levels[0], levels[1])[np.ravel(which)]
    x = (R.w * (R.en + tq[:, None] * np.sqrt(R.vnn)) / ed).sum(axis=1)
    x = np.where(np.isfinite(x), x, centre)
    lo, hi = centre - 60 * spread, centre + 60 * spread
    active = np.arange(n)  # rows still moving: solved rows drop out of the arrays
    sub = R
    flat, offset = _tables(R.df)
    logc = _t_logc(R.df)
    for _ in range(60):
        z, dz = _z(x[active], sub)
        F = (sub.w * _t_cdf(z, sub.df, (flat, offset[active]))).sum(axis=1)
        dF = (sub.w * _t_pdf(z, sub.df, logc[active]) * dz).sum(axis=1)
        xa, la, ha, ta = x[active], lo[active], hi[active], target[active]
        high = F > ta
        ha, la = np.where(high, np.minimum(ha, xa), ha), np.where(high, la, np.maximum(la, xa))
        with np.errstate(divide="ignore", invalid="ignore"):
            step = xa - (F - ta) / dF
        bad = ~np.isfinite(step) | (step <= la) | (step >= ha)
        new = np.where(bad, 0.5 * (la + ha), step)
        # Newton converges quadratically: after a step below 2e-3 of the spread, the error is ~1e-6 of it
        moving = bad | (np.abs(new - xa) > 2e-3 * spread[active])
        x[active], lo[active], hi[active] = new, la, ha
        if not moving.any():
            break
        active = active[moving]
        sub = _take(sub, moving)
    return x


def _take(R: Rows, keep: np.ndarray) -> Rows:
    return Rows(*(getattr(R, f)[keep] for f in FIELDS), R.linear)  # type: ignore[call-arg]  # one per FIELDS (mypy cannot count them)


def interval(R: Rows, level: float = 0.95) -> np.ndarray:
    """(R, 2) equal-tailed posterior interval."""
    a = (1.0 - level) / 2
    both = quantile(stack([R, R]), np.concatenate([np.full(len(R.df), a), np.full(len(R.df), 1 - a)]))
    return both.reshape(2, -1).T
