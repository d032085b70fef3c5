"""Linear mixed model: phase means, a random intercept and a random drug effect per participant (REML).

y_ij = x_ij'β + b_0i + b_1i·drug_ij + e_ij, (b_0i, b_1i) ~ N(0, G) with G unstructured,
e_ij ~ N(0, σ²) — `lmer(value ~ phase + (1 + drug | participant), REML = TRUE)`. The covariates
are phase indicators, so each participant's data enter only through her per-phase day counts,
sums and her sum of squares: every GLS product is a 2 × 2 Woodbury step per participant. θ is the
relative Cholesky factor of G/σ² (lme4's parametrisation), the profiled REML deviance is minimised
by Nelder–Mead, and contrasts get Satterthwaite's degrees of freedom from the numerical Hessian of
the REML deviance in (θ, σ) as in lmerTest (Kuznetsova, Brockhoff & Christensen 2017). Pinned
against lmerTest in the tests. It ignores day-to-day autocorrelation (lmer has none).
"""

from __future__ import annotations

import math

import msgspec
import numpy as np


class PhaseSums(msgspec.Struct, frozen=True):
    """Per participant (m) and phase (P): days, sum of values; per participant the sum of squares."""

    counts: np.ndarray  # (m, P)
    sums: np.ndarray  # (m, P)
    squares: np.ndarray  # (m,)


class MixedFit(msgspec.Struct, frozen=True):
    beta: np.ndarray
    theta: np.ndarray  # (3,) or (1,) relative Cholesky factor
    sigma: float
    n_obs: int
    n_groups: int
    G: np.ndarray  # random-effects covariance (r × r)
    cov: np.ndarray  # cov(β̂)
    vp_cov: np.ndarray  # asymptotic covariance of (θ, σ): 2 × the inverse Hessian of the REML deviance
    _cov: object  # cov(β̂) as a function of (θ, σ), for Satterthwaite's gradient

    def contrast(self, c: np.ndarray, level: float = 0.95) -> tuple[float, float, float | None, float | None, tuple | None]:
        """Estimate, SE, Satterthwaite df, two-sided p and CI of c'β."""
        from scipy.special import stdtr, stdtrit

        vp = np.append(self.theta, self.sigma)
        est = float(c @ self.beta)
        var = float(c @ self.cov @ c)
        se = math.sqrt(max(var, 0.0))
        g = _gradient(lambda x: float(c @ self._cov(x) @ c), vp)  # type: ignore[operator]  # _cov is set to a callable by fit()
        spread = float(g @ self.vp_cov @ g)
        df = 2 * var * var / spread if spread > 0 and np.isfinite(spread) else None
        if se == 0 or df is None:
            return est, se, df, None, None
        hw = float(stdtrit(df, 0.5 + level / 2)) * se
        return est, se, df, float(2 * stdtr(df, -abs(est) / se)), (est - hw, est + hw)


def _woodbury(L: np.ndarray, ZZ: np.ndarray) -> tuple[np.ndarray, float]:
    """Per participant K = Λ C⁻¹ Λ' with C = I + Λ'Z'ZΛ (flattened, m·r²) and Σ log|C|; r is 1 or 2.

    Written out element by element: numpy's batched 2 × 2 products cost more in calls than in sums.
    """
    if L.shape[0] == 1:
        lam = L[0, 0]
        c = 1.0 + lam * lam * ZZ[:, 0, 0]
        return lam * lam / c, float(np.log(c).sum())
    l11, l21, l22 = L[0, 0], L[1, 0], L[1, 1]
    a, b, d = ZZ[:, 0, 0], ZZ[:, 0, 1], ZZ[:, 1, 1]
    u00, u01, u10, u11 = a * l11 + b * l21, b * l22, b * l11 + d * l21, d * l22  # Z'Z Λ
    c00 = 1.0 + l11 * u00 + l21 * u10
    c01 = l11 * u01 + l21 * u11
    c11 = 1.0 + l22 * u11
    det = c00 * c11 - c01 * c01
    i00, i01, i11 = c11 / det, -c01 / det, c00 / det
    x00, x01 = l11 * i00, l11 * i01  # Λ C⁻¹
    x10, x11 = l21 * i00 + l22 * i01, l21 * i01 + l22 * i11
    k00, k01 = x00 * l11, x00 * l21 + x01 * l22
    k11 = x10 * l21 + x11 * l22
    return np.stack([k00, k01, k01, k11], axis=1).reshape(-1), float(np.log(det).sum())


def _inverse(H: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return np.full_like(H, np.nan)


def _gradient(f, x: np.ndarray) -> np.ndarray:
    out = np.empty(len(x))
    for i in range(len(x)):
        h = 1e-5 * max(abs(x[i]), 1e-2)
        e = np.zeros(len(x))
        e[i] = h
        out[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def _hessian(f, x: np.ndarray) -> np.ndarray:
    n = len(x)
    H = np.empty((n, n))
    h = 1e-4 * np.maximum(np.abs(x), 1e-2)
    f0 = f(x)
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h[i], h[j]
            if i == j:
                H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / (h[i] * h[i])
            else:
                H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


def fit(data: PhaseSums, A: np.ndarray, Zmap: np.ndarray) -> MixedFit:
    """REML fit. `A` (P × p) maps a phase to its fixed-effect row, `Zmap` (P × r) to its random-effect row."""
    from scipy.optimize import minimize

    c, s, ss = data.counts, data.sums, data.squares
    m, p, r = c.shape[0], A.shape[1], Zmap.shape[1]
    N = float(c.sum())
    # per participant: X'X, X'y, Z'Z, Z'X, Z'y (phase-level covariates: weighted by day counts)
    XX = np.einsum("Pa,mP,Pb->ab", A, c, A)
    Xy = s.sum(axis=0) @ A
    ZZ = np.einsum("Pa,mP,Pb->mab", Zmap, c, Zmap)
    ZX = np.einsum("Pa,mP,Pb->mab", Zmap, c, A)
    Zy = s @ Zmap
    yy = float(ss.sum())

    def lam_of(theta: np.ndarray) -> np.ndarray:
        L = np.zeros((r, r))
        L[np.tril_indices(r)] = theta
        return L

    # Σ_i X'Z_i K_i Z_i'X with K_i = Λ C_i⁻¹ Λ' (r × r): products fixed once, so a deviance is a few dot products
    XZ = ZX.transpose(0, 2, 1)
    OXX = np.einsum("mpa,mbq->mabpq", XZ, ZX).reshape(m * r * r, p * p)
    OXy = np.einsum("mpa,mb->mabp", XZ, Zy).reshape(m * r * r, p)
    Oyy = np.einsum("ma,mb->mab", Zy, Zy).reshape(m * r * r)

    def parts(theta: np.ndarray):
        L = lam_of(theta)
        k, logdet = _woodbury(L, ZZ)
        M = XX - (k @ OXX).reshape(p, p)
        b = Xy - k @ OXy
        q = yy - float(k @ Oyy)
        beta = np.linalg.solve(M, b)
        r2 = max(q - b @ beta, 1e-300)
        return logdet, np.linalg.slogdet(M)[1], r2, beta, M

    def profiled(theta: np.ndarray) -> float:
        ldc, ldm, r2, _, _ = parts(theta)
        return ldc + ldm + (N - p) * (1 + math.log(2 * math.pi * r2 / (N - p)))

    def deviance(vp: np.ndarray) -> float:  # REML deviance in (θ, σ), up to a constant
        ldc, ldm, r2, _, _ = parts(vp[:-1])
        s2 = vp[-1] ** 2
        return ldc + ldm + (N - p) * math.log(s2) + r2 / s2

    def cov(vp: np.ndarray) -> np.ndarray:
        return vp[-1] ** 2 * np.linalg.inv(parts(vp[:-1])[4])

    start = np.eye(r)[np.tril_indices(r)].astype(float)
    best = minimize(profiled, start, method="BFGS", options={"gtol": 1e-6})
    theta = best.x.copy()
    # the diagonal's sign is free (G = ΛΛ'): report the positive one, as lme4 does
    L = lam_of(theta)
    flip = np.sign(np.where(np.diag(L) == 0, 1.0, np.diag(L)))
    L = L * flip[None, :]
    theta = L[np.tril_indices(r)]
    _, _, r2, beta, _ = parts(theta)
    sigma = math.sqrt(r2 / (N - p))
    vp = np.append(theta, sigma)
    return MixedFit(beta, theta, sigma, int(N), m, sigma * sigma * (L @ L.T), cov(vp),
                    2.0 * _inverse(_hessian(deviance, vp)), cov)
