"""Two-stage random-effects meta-analysis of a set of N-of-1 trials (REML τ², Hartung–Knapp).

Each participant contributes her model-based effect y_i and its variance v_i. τ² is the REML
estimate by Fisher scoring (Viechtbauer 2005, as `metafor::rma(method = "REML")`); the mean effect
has the Hartung–Knapp (2001) standard error and a t(k − 1) interval and p (`test = "knha"`);
I² = τ²/(τ² + s²) with Higgins & Thompson's typical within-study variance s²; the 95% prediction
interval for a new participant is μ̂ ± t(k − 1)·√(SE² + τ²) (Riley et al. 2011). Each participant's
shrunken effect is her empirical-Bayes estimate (BLUP) μ̂ + λ_i(y_i − μ̂), λ_i = τ²/(τ² + v_i), with
SE √(λ_i v_i + (1 − λ_i)² SE²) (as `metafor::blup`). Pinned against metafor in the tests.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

METHOD = "random-effects meta-analysis: REML tau^2, Hartung-Knapp CI and p (t, k-1 df), BLUP shrinkage"


class Meta(msgspec.Struct, frozen=True):
    k: int
    effect: float
    se: float
    ci95: tuple[float, float] | None
    p: float | None
    tau2: float
    i2: float  # percent
    prediction_interval: tuple[float, float] | None
    blup: np.ndarray
    blup_se: np.ndarray


def reml_tau2(y: np.ndarray, v: np.ndarray, tol: float = 1e-12, max_iter: int = 500) -> float:
    """REML estimate of the between-participant variance by Fisher scoring, truncated at 0."""
    tau2 = max(float(np.var(y, ddof=1) - np.mean(v)), 0.0) if len(y) > 1 else 0.0
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        sw = w.sum()
        mu = (w * y).sum() / sw
        r = y - mu
        # P = W − w w'/Σw; y'PPy and tr(P), tr(PP) in closed form
        Py = w * r
        yPPy = (Py * Py).sum()
        trP = sw - (w * w).sum() / sw
        trPP = (w * w).sum() - 2 * (w**3).sum() / sw + ((w * w).sum() / sw) ** 2
        step = (yPPy - trP) / trPP
        new = max(tau2 + step, 0.0)
        if abs(new - tau2) <= tol * max(1.0, tau2):
            return new
        tau2 = new
    return tau2


def random_effects(y: np.ndarray, v: np.ndarray, level: float = 0.95) -> Meta | None:
    """The meta-analysis of effects y with variances v (at least 2 participants)."""
    from scipy.special import stdtr, stdtrit

    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v = y[ok], v[ok]
    k = len(y)
    if k < 2:
        return None
    tau2 = reml_tau2(y, v)
    w = 1.0 / (v + tau2)
    mu = float((w * y).sum() / w.sum())
    q_hk = float((w * (y - mu) ** 2).sum() / (k - 1))
    se = math.sqrt(q_hk / w.sum())
    crit = float(stdtrit(k - 1, 0.5 + level / 2))
    ci = (mu - crit * se, mu + crit * se) if se > 0 else None
    p = float(2 * stdtr(k - 1, -abs(mu) / se)) if se > 0 else None
    w0 = 1.0 / v
    s2 = (k - 1) * w0.sum() / (w0.sum() ** 2 - (w0 * w0).sum())
    i2 = 100.0 * tau2 / (tau2 + s2)
    half = crit * math.sqrt(se * se + tau2)
    lam = tau2 / (tau2 + v)
    blup = mu + lam * (y - mu)
    blup_se = np.sqrt(lam * v + (1 - lam) ** 2 * se * se)
    return Meta(k, mu, se, ci, p, tau2, i2, (mu - half, mu + half), blup, blup_se)
