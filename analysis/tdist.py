"""Student's t distribution in numpy (CDF, quantile, log density constant), so that a personal report
needs no scipy: importing scipy.special costs about twice numpy's own import, for three functions.

The CDF is the regularised incomplete beta function by its continued fraction (Lentz's method, on
the side where it converges fast), accurate to ~1e-15 relative in both tails; tests/test_analysis_stats.py
checks it against scipy.special.stdtr and stdtrit.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_EPS = 4e-15  # a continued fraction's step this close to 1 changes nothing more (large df stalls at ~2e-15)
_TINY = 1e-300
_MAX_STEPS = 2000  # continued-fraction steps; ~√(a + b) are needed, so a df of a million still converges


def lgamma(x: np.ndarray) -> np.ndarray:
    """log Γ(x) elementwise (math.lgamma of each distinct value: the arrays here hold a few)."""
    levels, which = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return np.array([math.lgamma(v) for v in levels])[which].reshape(np.shape(x))


def _betacf(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The continued fraction of I_x(a, b), for x < (a + 1) / (a + b + 2) (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
    h = d.copy()
    for m in range(1, _MAX_STEPS + 1):
        m2 = 2.0 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / np.where(np.abs(d) < _TINY, _TINY, d)
            c = 1.0 + aa / c
            c = np.where(np.abs(c) < _TINY, _TINY, c)
            step = d * c
            h = h * step
        if np.all(np.abs(step - 1.0) <= _EPS):
            break
    return h


def betainc(a: np.ndarray | float, b: np.ndarray | float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The regularised incomplete beta I_x(a, b) for 0 ≤ x ≤ 1, with y = 1 − x given as computed
    without cancellation by the caller (the small side of x keeps its digits)."""
    a, b, x, y = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, x, y)))
    flip = x > (a + 1.0) / (a + b + 2.0)  # there I_x(a, b) = 1 − I_y(b, a), whose fraction converges fast
    aa, bb, xx, yy = np.where(flip, b, a), np.where(flip, a, b), np.where(flip, y, x), np.where(flip, x, y)
    with np.errstate(divide="ignore"):
        log_front = aa * np.log(xx) + bb * np.log(yy) - (lgamma(aa) + lgamma(bb) - lgamma(aa + bb))
    part = np.exp(log_front) / aa * _betacf(aa, bb, xx)
    return np.where(flip, 1.0 - part, part)


def cdf(z: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """P(T < z) for Student's t with `df` degrees of freedom (z may be ±inf)."""
    z, df = np.broadcast_arrays(np.asarray(z, dtype=float), np.asarray(df, dtype=float))
    zz = z * z
    with np.errstate(invalid="ignore"):
        x = np.where(np.isinf(z), 0.0, df / (df + zz))
        y = np.where(np.isinf(z), 1.0, zz / (df + zz))
    tail = 0.5 * betainc(df / 2.0, 0.5, x, y)  # P(T < −|z|)
    return np.where(z < 0, tail, 1.0 - tail)


def cdf_of_u(u: np.ndarray, df: np.ndarray | float) -> np.ndarray:
    """P(T < z) at u = z / √(df + z²) ∈ [−1, 1], where (1 − u)(1 + u) is the beta function's x."""
    u, df = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(df, dtype=float))
    tail = 0.5 * betainc(df / 2.0, 0.5, (1.0 - u) * (1.0 + u), u * u)
    return np.where(u < 0, tail, 1.0 - tail)


def log_c(df: np.ndarray) -> np.ndarray:
    """log of the density's constant Γ((ν+1)/2) / (Γ(ν/2) √(νπ))."""
    df = np.asarray(df, dtype=float)
    return lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * np.log(df * np.pi)


def _pdf(z: np.ndarray, df: np.ndarray, lc: np.ndarray) -> np.ndarray:
    return np.exp(lc - (df + 1) / 2 * np.log1p(z * z / df))


def ppf(df: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The quantile: z with P(T < z) = p; ±inf at p = 0 or 1. Newton's method in u = z / √(df + z²),
    kept inside a shrinking bracket of [−1, 1], then Newton's steps in z for z's last digits."""
    df, p = (a.astype(float) for a in np.broadcast_arrays(np.asarray(df, dtype=float), np.asarray(p, dtype=float)))
    inner = (p > 0) & (p < 1)
    # start from the normal quantile with Cornish & Fisher's first two terms for t (close but for df ~1)
    z0 = np.array([NormalDist().inv_cdf(v) if 0 < v < 1 else 0.0 for v in p.ravel()]).reshape(p.shape)
    z = z0 + (z0**3 + z0) / (4 * df) + (5 * z0**5 + 16 * z0**3 + 3 * z0) / (96 * df * df)
    lo, hi, u = -np.ones_like(p), np.ones_like(p), z / np.sqrt(df + z * z)
    lc = log_c(df)
    for _ in range(200):
        f = cdf_of_u(u, df) - p
        lo, hi = np.where(f < 0, u, lo), np.where(f < 0, hi, u)
        w = np.maximum((1 - u) * (1 + u), _TINY)  # 1 − u²
        z = u * np.sqrt(df / w)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            new = u - f / (_pdf(z, df, lc) * np.sqrt(df) / w**1.5)  # dz/du = √df / (1 − u²)^(3/2)
        new = np.where(np.isfinite(new) & (new >= lo) & (new <= hi), new, 0.5 * (lo + hi))
        done = np.abs(new - u) <= 1e-13 * np.maximum(np.abs(u), 1e-3)
        u = new
        if np.all(done | ~inner):
            break
    z = np.where(inner, u * np.sqrt(df / np.maximum((1 - u) * (1 + u), _TINY)), 0.0)
    for _ in range(2):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            polished = z - (cdf(z, df) - p) / _pdf(z, df, lc)
        z = np.where(np.isfinite(polished), polished, z)
    return np.where(p <= 0, -np.inf, np.where(p >= 1, np.inf, z))
