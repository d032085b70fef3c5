"""Linear mixed model with a random intercept per participant (REML), from per-participant sums.

y_ij = x_ij'β + b_i + e_ij, b_i ~ N(0, τ²), e_ij ~ N(0, σ²). With γ = τ²/σ², participant i's
V_i/σ² = I + γJ has inverse I − c_i J with c_i = γ/(1 + n_iγ), so every GLS product needs only
each participant's n_i, column sums, X'X, X'y, Σy and Σy². The restricted likelihood is profiled
over log γ on a grid refined by a parabola: the same model statsmodels' MixedLM fits (the tests
check), in milliseconds for 100,000 rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_GAMMA = np.linspace(-6.0, 4.0, 101)  # log10 of τ²/σ²


@dataclass(frozen=True)
class MixedFit:
    beta: np.ndarray  # fixed effects
    cov: np.ndarray  # their covariance
    sigma2: float  # residual variance
    tau2: float  # random-intercept variance
    n_obs: int
    n_groups: int

    def contrast(self, c: np.ndarray) -> dict:
        """Estimate, standard error, Wald z p-value and 95% CI of c'β."""
        from scipy.special import ndtr

        est = float(c @ self.beta)
        se = float(math.sqrt(max(c @ self.cov @ c, 0.0)))
        p = float(2 * ndtr(-abs(est) / se)) if se > 0 else None
        return {"estimate": est, "se": se, "p": p, "ci95": [est - 1.959964 * se, est + 1.959964 * se]}


def fit_random_intercept(y: np.ndarray, X: np.ndarray, groups: np.ndarray) -> MixedFit:
    """REML fit; `groups` are integer codes 0..m-1, every code present."""
    y, X = np.asarray(y, float), np.asarray(X, float)
    m, p, N = int(groups.max()) + 1, X.shape[1], len(y)
    counts = np.bincount(groups, minlength=m).astype(float)
    S = np.column_stack([np.bincount(groups, weights=X[:, j], minlength=m) for j in range(p)])  # per participant
    ty = np.bincount(groups, weights=y, minlength=m)
    XtX, Xty, yty = X.T @ X, X.T @ y, float(y @ y)
    SS = (S[:, :, None] * S[:, None, :]).reshape(m, p * p)
    Sty = S * ty[:, None]

    def moments(gammas: np.ndarray):
        c = gammas[:, None] / (1.0 + counts[None, :] * gammas[:, None])  # (G, m)
        A = XtX[None] - (c @ SS).reshape(len(gammas), p, p)
        b = Xty[None] - c @ Sty
        ywy = yty - c @ (ty * ty)
        logdet_v = np.log1p(counts[None, :] * gammas[:, None]).sum(axis=1)
        beta = np.linalg.solve(A, b[..., None])[..., 0]
        rss = np.maximum(ywy - np.einsum("gp,gp->g", b, beta), 1e-300)
        return A, beta, rss, logdet_v

    def best(log_grid: np.ndarray, with_zero: bool) -> float:
        grid = np.concatenate([[0.0], 10.0**log_grid]) if with_zero else 10.0**log_grid
        A, _, rss, logdet_v = moments(grid)
        reml = -0.5 * (logdet_v + np.linalg.slogdet(A)[1] + (N - p) * np.log(rss))
        i = int(np.argmax(reml))
        lo = 1 if with_zero else 0
        if not lo < i < len(grid) - 1:
            return float(grid[i])
        y0, y1, y2 = reml[i - 1], reml[i], reml[i + 1]  # parabola in log γ through the best three
        den = y0 - 2 * y1 + y2
        shift = float(np.clip(0.5 * (y0 - y2) / den, -1, 1)) if den < 0 else 0.0
        return float(10.0 ** (np.log10(grid[i]) + shift * (log_grid[1] - log_grid[0])))

    gamma = best(LOG_GAMMA, with_zero=True)
    if gamma > 0:  # a finer grid around the first answer
        step = LOG_GAMMA[1] - LOG_GAMMA[0]
        gamma = best(np.log10(gamma) + np.linspace(-step, step, 21), with_zero=False)
    A, beta, rss, _ = moments(np.array([gamma]))
    sigma2 = float(rss[0]) / (N - p)
    return MixedFit(beta[0], sigma2 * np.linalg.inv(A[0]), sigma2, float(gamma) * sigma2, N, m)
