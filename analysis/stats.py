"""Phase-mean regression with AR(1) errors (REML φ, exact gap-aware GLS), Kenward–Roger inference.

The model for one participant and one item: y_t = μ_phase(t) [+ β·(t − t̄)] + e_t with stationary
AR(1) errors, e_t = φ e_{t-1} + u_t, observed on study days t (missing days leave gaps). Whitening
is exact for gaps: e_i given e_{i-1} g days earlier has mean φ^g e_{i-1} and variance σ²(1 − φ^{2g}),
so the precision matrix is tridiagonal and every quantity below costs O(days).
Two days g apart correlate φ^g for any φ in (−1, 1): exactly
`nlme::gls(correlation = corAR1(form = ~ day), method = "REML")`, which nlme turns into
corARMA(p = 1, q = 0) on the day lags when days are missing (corCAR1 is the same model for φ > 0
only; tests/data/edges.R). φ maximises the restricted
(REML) likelihood on [−0.999, 0.999], edges included: a grid in θ = arcsin φ, a zoom on the best
point's bracket and a parabola. As |φ| → 1 the model becomes a random walk: the restricted
likelihood tends to a finite limit, so its maximum can lie at the edge (reported as ±0.999); the
differences between phases stay estimable, but the marginal variance σ² and the uncertainty of
any level by itself (a phase mean, a percent of the baseline) grow without bound.
Inference on any contrast c'β uses Kenward & Roger (1997): the plug-in covariance Φ = σ²(X'R⁻¹X)⁻¹
is inflated by 2Λ for the uncertainty of (σ², φ) — the Taylor terms with the REML expected
information, including the second-derivative term R_ij since R(φ) is not linear in φ — and the t
statistic gets the KR degrees of freedom, which for a single contrast are
2 (c'Φ_A c)² / (g' W g) with g_i = c'(∂Φ/∂θ_i)c and W the inverse information.
`ar1_fits` fits many designs (a cohort's participants) in shared numpy calls, padded with zero
rows that add nothing to any sum. Only numpy here; scipy's t distribution is imported inside the
functions that need it.
"""

from __future__ import annotations

import msgspec
import numpy as np

# φ = sin θ: Jeffreys' prior for φ, (1 − φ²)^(−1/2) dφ, is dθ, flat on θ ∈ (−π/2, π/2), and the restricted
# likelihood stays finite as |φ| → 1, so the posterior is integrated over the whole stationary range in θ.
GRID = 96
THETA_GRID = ((np.arange(GRID) + 0.5) / GRID - 0.5) * np.pi
PHI_GRID = np.sin(THETA_GRID)
PHI_EDGE = 0.999  # the REML estimate is sought on [−0.999, 0.999] and reported as ±0.999 when it lies beyond
THETA_EDGE = float(np.arcsin(PHI_EDGE))
THETA_POST = np.pi / 2
PHI_LIMIT = 1.0 - 1e-6  # a posterior node closer to ±1 is evaluated there (the whitening divides by 1 − φ²)
ZOOM_ROUNDS, ZOOM_POINTS = 4, 9  # each round keeps 2 of 8 intervals: the grid's two steps / 4⁴ ≈ 3e-4 in θ
# Gauss-Legendre nodes for θ's posterior: NODES over its mean ± SPAN SDs, TAIL_NODES on each side from there to ±π/2
NODES, SPAN, TAIL_NODES = 16, 5.0, 4
METHOD = ("GLS with AR(1) errors on the study day (two days g apart correlate phi^g; nlme::gls(correlation = "
          "corAR1(form = ~ day), method = 'REML')): REML estimates, phi sought on [-0.999, 0.999]; intervals and "
          "p-values from the posterior integrated over phi on the whole stationary range (-1, 1) "
          "(Zellner & Tiao 1964; Jeffreys' prior on phi)")


class Job(msgspec.Struct, frozen=True):
    """One design to fit: observed study days (sorted), each day's phase column, the series (n × k)."""

    days: np.ndarray
    phase: np.ndarray  # column index 0..p-1 of each day; every column has data
    Y: np.ndarray
    p: int
    trend: bool = False  # add a linear study-day term (centred on the days' mean)


class Contrasts(msgspec.Struct, frozen=True):
    """Kenward-Roger, per series: estimate c'β, its standard error, df and two-sided p."""

    est: np.ndarray
    se: np.ndarray
    df: np.ndarray
    p: np.ndarray


class Fit(msgspec.Struct, frozen=True):
    """AR(1) GLS fit of k series sharing the same observed days and design columns.

    Columns 0..p-1 are the phase means (at the mean model day when there is a trend), column p
    the trend per day when `trend`.
    """

    phi: np.ndarray  # (k,) REML estimate of the lag-1 autocorrelation
    beta: np.ndarray  # (k, q)
    cov_unscaled: np.ndarray  # (k, q, q) M⁻¹ = (X'R⁻¹X)⁻¹
    sigma2: np.ndarray  # (k,) marginal error variance (REML)
    n_eff_phase: np.ndarray  # (k, p) effective n of each phase mean
    n: int
    p: int
    trend: bool
    node_beta: np.ndarray  # (k, K, q) β̂(φ) at the posterior's integration nodes in φ
    node_cov: np.ndarray  # (k, K, q, q) σ̂²(φ) M(φ)⁻¹ there
    node_w: np.ndarray  # (k, K) posterior weight of each node (sums to 1)
    lam: np.ndarray | None = None  # (k, q, q) Kenward-Roger's Λ: Φ_A = σ²M⁻¹ + 2Λ (with kr=True)
    g_phi: np.ndarray | None = None  # (k, q, q) ∂Φ/∂φ = −σ² M⁻¹ Ṁ M⁻¹ ... as ΦP_φΦ
    wcov: np.ndarray | None = None  # (k, 2, 2) inverse REML information of (σ², φ)
    day_offset: np.ndarray | None = None  # (p,) mean model day of each phase minus the mean of all (with trend)

    @property
    def q(self) -> int:
        return self.p + int(self.trend)

    @property
    def n_eff(self) -> np.ndarray:
        """(k,) effective n of the series: the sum of its phases' effective n."""
        return self.n_eff_phase.sum(axis=1)

    def own_level(self, col: int) -> np.ndarray:
        """(q,) c with c'β the phase's own level: its fitted values averaged over its model days.

        Without a trend that is the phase's column; with one, column `col` is the level at the mean
        model day, and the phase's own level adds the trend times its days' offset from that day.
        """
        c = np.zeros(self.q)
        c[col] = 1.0
        if self.trend and self.day_offset is not None:
            c[self.p] = self.day_offset[col]
        return c

    @property
    def df(self) -> int:
        """Residual degrees of freedom of the conditional t given φ."""
        return max(self.n - self.q, 1)

    def kr(self, c: np.ndarray) -> Contrasts:
        """c'β with Kenward & Roger's covariance and df (fits made with kr=True); `c` is (q,) or (k, q).

        Not what the reports use: the bench compares its calibration with the posterior's.
        """
        from scipy.special import stdtr

        assert self.lam is not None and self.g_phi is not None and self.wcov is not None, "fit with kr=True"
        c = np.broadcast_to(np.asarray(c, dtype=float), self.beta.shape)
        est = np.einsum("kq,kq->k", c, self.beta)
        cov_a = self.sigma2[:, None, None] * self.cov_unscaled + 2.0 * self.lam
        var = np.einsum("kq,kqr,kr->k", c, cov_a, c)
        g = np.stack([-np.einsum("kq,kqr,kr->k", c, self.cov_unscaled, c),
                      np.einsum("kq,kqr,kr->k", c, self.g_phi, c)], axis=1)
        spread = np.einsum("ki,kij,kj->k", g, self.wcov, g)
        hi = self.df
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.clip(np.where(spread > 0, 2.0 * var * var / spread, hi), 1.0, hi)
            se = np.sqrt(np.maximum(var, 0.0))
            ok = (se > 0) & (self.n - self.q >= 2)
            p = np.where(ok, 2 * stdtr(df, -np.abs(est) / np.where(ok, se, 1.0)), np.nan)
        return Contrasts(est, se, df, p)


# designs per batched call: keeps the (designs × grid × q²) moment arrays near 16 MB
CHUNK = 128


def _weights(phis: np.ndarray, ugaps: np.ndarray, order: int = 0):
    """For a = φ^gap: w = 1/(1 − a²), wa, wa² and, with order 1 or 2, their derivatives in φ.

    Returns a list of (a, w, wa, wa²) tuples, one per derivative order 0..order.
    """
    phis = phis[..., None]
    a = phis ** ugaps
    w = 1.0 / (1.0 - a * a)
    out = [(a, w, w * a, w * a * a)]
    if order:
        g = ugaps
        with np.errstate(divide="ignore", invalid="ignore"):
            a1 = g * phis ** (g - 1)
            a2 = np.where(g >= 2, g * (g - 1) * phis ** np.maximum(g - 2, 0), 0.0)
        w1 = 2 * a * a1 * w * w
        w2 = 2 * (a1 * a1 + a * a2) * w * w + 8 * a * a * a1 * a1 * w ** 3
        out.append((a1, w1, w1 * a + w * a1, w1 * a * a + 2 * w * a * a1))
        out.append((a2, w2, w2 * a + 2 * w1 * a1 + w * a2,
                    w2 * a * a + 4 * w1 * a * a1 + 2 * w * (a1 * a1 + a * a2)))
    return out


def _day_sums(designs: list[tuple], q: int) -> tuple:
    """The φ-free part of the whitened cross products, summed per distinct gap between days.

    Row i of the whitened data is (z_i − a_i z_{i−1}) / √(1 − a_i²) with a_i = φ^gap_i, so every
    cross product is a sum over days weighted by w = 1/(1−a²), w·a, w·a². The weights depend only
    on the gap, so the day terms are summed per gap once: the work per φ then does not grow with
    the number of days. `designs` (days, X, Y) share q and Y's width; each is padded with zero rows
    to the longest, which add nothing to any sum.
    """
    B, k = len(designs), designs[0][2].shape[1]
    n = np.array([len(d) for d, _, _ in designs])
    qz, N = q + k, int(n.max())
    Z = np.zeros((B, N, qz))  # [X Y] per design: its cross products hold X'X, X'Y and Y'Y
    gaps = np.zeros((B, N - 1))
    for b, (days, X, Y) in enumerate(designs):
        Z[b, : len(days), :q] = X
        Z[b, : len(days), q:] = Y
        gaps[b, : len(days) - 1] = np.diff(days)
    real = np.arange(N - 1)[None, :] < (n - 1)[:, None]
    ugaps = np.array(sorted(set(gaps[real].tolist())))  # not np.unique: it loads numpy.ma (15 ms) to ask if the array is masked
    zc, zp = Z[:, 1:], Z[:, :-1]
    cur, both, prev = (np.zeros((B, len(ugaps), qz * qz)) for _ in range(3))
    counts = np.zeros((B, len(ugaps)))
    for u, gap in enumerate(ugaps):
        m = (gaps == gap) & real
        counts[:, u] = m.sum(axis=1)
        rows = np.flatnonzero(counts[:, u])  # the designs with this gap
        c, pr = np.where(m[rows, :, None], zc[rows], 0.0), np.where(m[rows, :, None], zp[rows], 0.0)
        ct, prt = c.transpose(0, 2, 1), pr.transpose(0, 2, 1)
        cp = ct @ pr
        cur[rows, u] = (ct @ c).reshape(len(rows), -1)
        both[rows, u] = (cp + cp.transpose(0, 2, 1)).reshape(len(rows), -1)
        prev[rows, u] = (prt @ pr).reshape(len(rows), -1)
    first = (Z[:, 0, :, None] * Z[:, 0, None, :]).reshape(B, -1)
    # keep X'X, X'Y and the diagonal of Y'Y: the rest of Y'Y is never used
    keep = np.concatenate([(np.arange(q)[:, None] * qz + np.arange(qz)[None, :]).ravel(), (q + np.arange(k)) * (qz + 1)])
    return ugaps, counts, first[:, keep], cur[..., keep], both[..., keep], prev[..., keep], qz, Z, gaps, n


def _moments(phis: np.ndarray, sums: tuple, q: int):
    """Per design and φ (phis (1 or B, G)): X'V⁻¹X (B,G,q,q), X'V⁻¹Y (B,G,q,k), diag Y'V⁻¹Y, log|V|."""
    ugaps, counts, first, cur, both, prev, qz = sums[:7]
    ((a, w, wa, waa),) = _weights(phis, ugaps)
    M = first[:, None] + w @ cur - wa @ both + waa @ prev  # (B, G, q·qz + k)
    XZ = M[..., : q * qz].reshape(*M.shape[:2], q, qz)  # X'V⁻¹[X Y]
    return XZ[..., :q], XZ[..., q:], M[..., q * qz :], (np.log(1.0 - a * a) @ counts[:, :, None])[..., 0]


def _solve(XtX, XtY, YtY):
    inv = np.linalg.inv(XtX)
    B = inv @ XtY  # (..., q, k)
    rss = YtY - np.einsum("...pk,...pk->...k", XtY, B)
    return inv, B, np.maximum(rss, 0.0)


def design_matrix(days: np.ndarray, phase: np.ndarray, p: int, trend: bool) -> np.ndarray:
    """Phase indicators, plus the study day centred on the days' mean when `trend`."""
    X = np.eye(p)[phase]
    if trend:
        d = np.asarray(days, dtype=float)
        X = np.column_stack([X, d - d.mean()])
    return X


def ar1_fits(jobs: list[Job], kr: bool = False) -> list[Fit]:
    """Fit each job's phase means with AR(1) errors to each column of its Y (n × k) observed on its
    sorted days; jobs with the same design width and Y width share numpy calls.

    A cohort's fits go through here together: per-call overhead, not arithmetic, is what a single
    98-day fit costs.
    """
    designs = []
    for job in jobs:
        days = np.asarray(job.days, dtype=float)
        Y = np.asarray(job.Y, dtype=float).reshape(len(days), -1)
        designs.append((days, design_matrix(days, np.asarray(job.phase), job.p, job.trend), Y, job))
    shapes: dict[tuple[int, int, bool], list[int]] = {}
    for i, (_, _, Y, job) in enumerate(designs):
        shapes.setdefault((job.p, Y.shape[1], job.trend), []).append(i)
    out: list[Fit | None] = [None] * len(designs)
    for (p, _, trend), idx in shapes.items():
        for lo in range(0, len(idx), CHUNK):
            chunk = idx[lo : lo + CHUNK]
            for i, fit in zip(chunk, _fit_batch([designs[i][:3] for i in chunk], [designs[i][3].phase for i in chunk],
                                                p, trend, kr)):
                out[i] = fit
    return out  # type: ignore[return-value]  # every slot was filled above


def _fit_batch(designs: list[tuple], phases: list[np.ndarray], p: int, trend: bool, with_kr: bool) -> list[Fit]:
    q = p + int(trend)
    sums = _day_sums(designs, q)
    n = sums[9]
    XtX, XtY, YtY, logdet_v = _moments(PHI_GRID[None], sums, q)
    _, logdet_x = np.linalg.slogdet(XtX)
    _, _, rss = _solve(XtX, XtY, YtY)
    with np.errstate(divide="ignore"):
        reml = -0.5 * (logdet_v[..., None] + logdet_x[..., None] + (n - q)[:, None, None] * np.log(rss))  # (B, G, k)
    phi = _reml_phi(reml, sums, q, n)  # (B, k)
    XtX, XtY, YtY, _ = _moments(phi, sums, q)
    inv, Bt, rss = _solve(XtX, XtY, YtY)
    rss = np.diagonal(rss, axis1=1, axis2=2)
    yy = np.array([(Y * Y).sum(axis=0) for _, _, Y in designs])
    rss = np.where(rss <= 1e-12 * np.maximum(yy, 1.0), 0.0, rss)  # rounding, not variation
    beta = np.diagonal(Bt, axis1=1, axis2=3).transpose(0, 2, 1)  # (B, k, q)
    sigma2 = rss / np.maximum(n - q, 1)[:, None]
    node_beta, node_cov, node_w = _posterior_nodes(reml, sums, q, n)
    kr = _kenward_roger(phi, sums, q, XtX, inv, sigma2) if with_kr else (None, None, None)
    n_eff = _effective_n_batch([d for d, _, _ in designs], phi, phases, p)
    offsets = [np.array([d[ph == c].mean() - d.mean() if (ph == c).any() else 0.0 for c in range(p)])
               for (d, _, _), ph in zip(designs, phases)]
    return [Fit(phi=phi[b], beta=beta[b], cov_unscaled=inv[b], sigma2=sigma2[b], n_eff_phase=n_eff[b],
                n=int(n[b]), p=p, trend=trend, node_beta=node_beta[b], node_cov=node_cov[b], node_w=node_w[b],
                lam=None if kr[0] is None else kr[0][b], g_phi=None if kr[1] is None else kr[1][b],
                wcov=None if kr[2] is None else kr[2][b], day_offset=offsets[b] if trend else None)
            for b in range(len(designs))]


def _reml_at(phis: np.ndarray, sums: tuple, q: int, n: np.ndarray) -> np.ndarray:
    """Restricted log-likelihood of each series j at phis[:, j, :] (B, k, m) -> (B, k, m)."""
    B, k, m = phis.shape
    XtX, XtY, YtY, logdet_v = _moments(phis.reshape(B, k * m), sums, q)
    _, _, rss = _solve(XtX, XtY, YtY)
    rss = rss.reshape(B, k, m, -1)[:, np.arange(k), :, np.arange(k)].transpose(1, 0, 2)
    with np.errstate(divide="ignore"):
        return -0.5 * (logdet_v.reshape(B, k, m) + np.linalg.slogdet(XtX)[1].reshape(B, k, m)
                       + (n - q)[:, None, None] * np.log(rss))


def _reml_phi(reml: np.ndarray, sums: tuple, q: int, n: np.ndarray) -> np.ndarray:
    """Per design and series, the φ in [−PHI_EDGE, PHI_EDGE] that maximises the restricted likelihood.

    From the grid's best point, the bracket between its neighbours (cut to the edges) is searched on
    ZOOM_POINTS points a round, each round keeping the best point's two intervals; then the vertex
    of the parabola through the best point and its neighbours. A maximum at an edge is found like
    any other (no parabola there). A series whose likelihood is nowhere finite (constant values) gets 0.
    """
    ll = np.where(np.isfinite(reml), reml, -np.inf)  # (B, G, k)
    i = np.argmax(ll, axis=1)
    lo = np.clip(THETA_GRID[np.maximum(i - 1, 0)], -THETA_EDGE, THETA_EDGE)
    hi = np.clip(THETA_GRID[np.minimum(i + 1, GRID - 1)], -THETA_EDGE, THETA_EDGE)
    steps = np.linspace(0.0, 1.0, ZOOM_POINTS)
    for _ in range(ZOOM_ROUNDS):
        pts = lo[..., None] + (hi - lo)[..., None] * steps  # (B, k, m)
        y = np.nan_to_num(_reml_at(np.sin(pts), sums, q, n), nan=-np.inf)
        j = np.argmax(y, axis=-1)[..., None]
        lo = np.take_along_axis(pts, np.maximum(j - 1, 0), axis=-1)[..., 0]
        hi = np.take_along_axis(pts, np.minimum(j + 1, ZOOM_POINTS - 1), axis=-1)[..., 0]
    best = np.take_along_axis(pts, j, axis=-1)[..., 0]
    y0, y1, y2 = (np.take_along_axis(y, np.clip(j + d, 0, ZOOM_POINTS - 1), axis=-1)[..., 0] for d in (-1, 0, 1))
    with np.errstate(invalid="ignore", over="ignore"):
        den = y0 - 2 * y1 + y2
        shift = np.where(np.isfinite(den) & (den < 0), 0.5 * (y0 - y2) / den, 0.0)
    inner = (j[..., 0] > 0) & (j[..., 0] < ZOOM_POINTS - 1)
    best = np.where(inner, best + np.clip(shift, -1.0, 1.0) * (hi - lo) / 2, best)
    return np.where(np.isfinite(ll).any(axis=1), np.sin(best), 0.0)


def _posterior_nodes(reml: np.ndarray, sums: tuple, q: int, n: np.ndarray):
    """φ's posterior (restricted likelihood × Jeffreys' prior) on the whole stationary range, by Gauss-Legendre.

    In θ = arcsin φ the prior is flat, so the grid's likelihoods are θ's posterior weights; they give
    θ's posterior mean and SD. NODES nodes span mean ± SPAN SDs and TAIL_NODES more cover each side
    from there to θ = ±π/2 (|φ| = 1): the restricted likelihood tends to a finite limit as φ → 1,
    so a shoulder towards the edge can hold enough mass to move a small p. Nodes closer to ±1 than
    1e-6 are evaluated at 1 − 1e-6. Against 200 + 2 × 60 nodes, these 24 change p-values in
    [0.001, 0.01) by less than 0.1% (relative) and any p by less than 2e-4
    (tests/test_analysis_edges.py). Returns, per design and series, β̂(φ) (B, k, K, q), σ̂²(φ)M(φ)⁻¹
    (B, k, K, q, q) and the nodes' weights (B, k, K).
    """
    lp = np.where(np.isfinite(reml), reml, -np.inf)  # (B, G, k)
    top = np.max(lp, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        w = np.exp(lp - np.where(np.isfinite(top), top, 0.0))
    w = np.where(np.isfinite(w), w, 0.0)
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
    mean = np.einsum("bgk,g->bk", w, THETA_GRID)
    sd = np.sqrt(np.maximum(np.einsum("bgk,g->bk", w, THETA_GRID**2) - mean**2, 0.0))
    sd = np.maximum(sd, 0.005)
    lo = np.maximum(mean - SPAN * sd, -THETA_POST)[..., None]
    hi = np.minimum(mean + SPAN * sd, THETA_POST)[..., None]
    x, gw = np.polynomial.legendre.leggauss(NODES)
    xt, gt = np.polynomial.legendre.leggauss(TAIL_NODES)
    # the centre, then the shoulders out to ±π/2 (the likelihood flattens towards |φ| = 1, not to 0)
    parts = [(lo, hi, x, gw), (np.full_like(lo, -THETA_POST), lo, xt, gt), (hi, np.full_like(hi, THETA_POST), xt, gt)]
    theta = np.concatenate([a + (b - a) * (u + 1.0) / 2.0 for a, b, u, _ in parts], axis=-1)
    with np.errstate(divide="ignore"):
        logw = np.concatenate([np.log((b - a) / 2.0 * g) for a, b, _, g in parts], axis=-1)  # (B, k, K)
    nodes = np.clip(np.sin(theta), -PHI_LIMIT, PHI_LIMIT)  # (B, k, K) in φ
    B, k, K = nodes.shape
    XtX, XtY, YtY, logdet_v = _moments(nodes.reshape(B, k * K), sums, q)
    inv, Bt, rss = _solve(XtX, XtY, YtY)
    _, logdet_x = np.linalg.slogdet(XtX)
    take = np.arange(k)
    rss = rss.reshape(B, k, K, -1)[:, take, :, take].transpose(1, 0, 2)  # series j's own column
    beta = Bt.reshape(B, k, K, q, -1)[:, take, :, :, take].transpose(1, 0, 2, 3)
    with np.errstate(divide="ignore"):
        lp = -0.5 * (logdet_v.reshape(B, k, K) + logdet_x.reshape(B, k, K)
                     + (n - q)[:, None, None] * np.log(rss))
    with np.errstate(invalid="ignore"):
        lp = np.where(np.isfinite(lp), lp + logw, -np.inf)
    top = np.max(lp, axis=2, keepdims=True)
    nw = np.where(np.isfinite(top), np.exp(lp - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = nw.sum(axis=2, keepdims=True)
    nw = np.where(total > 0, nw / np.where(total > 0, total, 1.0), 1.0 / K)
    s2 = rss / np.maximum(n - q, 1)[:, None, None]
    return beta, inv.reshape(B, k, K, q, q) * s2[..., None, None], nw


def _kenward_roger(phi: np.ndarray, sums: tuple, q: int, M: np.ndarray, Minv: np.ndarray, sigma2: np.ndarray):
    """Kenward & Roger's (1997) Λ, ∂Φ/∂φ and the inverse REML information, per series (B, k).

    θ = (σ², φ); V = σ²R(φ) with R⁻¹ = W tridiagonal. In the paper's notation, with Ṁ = X'ẆX,
    M̈ = X'ẄX and S = X'ẆRẆX: P_σ = −M/σ⁴, P_φ = Ṁ/σ²; Q_σσ = M/σ⁶, Q_σφ = −Ṁ/σ⁴, Q_φφ = S/σ²;
    R_σφ = −Ṁ/σ⁴, R_φφ = (2S − M̈)/σ². Traces of W-products come from log|W| and its derivatives.
    """
    ugaps, counts, first, cur, both, prev, qz, Z, gaps, n = sums
    xx = (np.arange(q)[:, None] * qz + np.arange(q)[None, :]).ravel()
    (a, w, wa, waa), (a1, w1, wa1, waa1), (a2, w2, wa2, waa2) = _weights(phi, ugaps, order=2)  # (B, k, U)

    def form(wt, wat, waat):  # X'(derivative of W)X, (B, k, q, q)
        m = (np.einsum("bku,bum->bkm", wt, cur[..., xx]) - np.einsum("bku,bum->bkm", wat, both[..., xx])
             + np.einsum("bku,bum->bkm", waat, prev[..., xx]))
        return m.reshape(*m.shape[:2], q, q)

    Md, Mdd = form(w1, wa1, waa1), form(w2, wa2, waa2)
    cnt = counts[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        l1 = (cnt * w1 / w).sum(axis=-1)  # d log|W| / dφ = tr(ẆR)
        l2 = (cnt * (w2 / w - (w1 / w) ** 2)).sum(axis=-1)  # d² log|W| / dφ²
    tr_wdd_r = (cnt * (w2 + waa2 - 2 * a * wa2)).sum(axis=-1)  # tr(ẄR)
    S = _s_term(phi, Z[..., :q], gaps, n)
    MiMd = Minv @ Md
    s2 = np.where(sigma2 > 0, sigma2, 1.0)
    info = np.empty(phi.shape + (2, 2))
    info[..., 0, 0] = (n[:, None] - q) / (2 * s2 * s2)
    info[..., 0, 1] = info[..., 1, 0] = 0.5 * (np.trace(MiMd, axis1=-2, axis2=-1) - l1) / s2
    info[..., 1, 1] = 0.5 * (tr_wdd_r - l2 - 2 * np.trace(Minv @ S, axis1=-2, axis2=-1)
                             + np.einsum("...ij,...ji->...", MiMd, MiMd))
    with np.errstate(invalid="ignore"):
        det = info[..., 0, 0] * info[..., 1, 1] - info[..., 0, 1] ** 2
    good = np.isfinite(det) & (det > 0) & (sigma2 > 0) & (np.abs(phi) < PHI_EDGE)
    wcov = np.zeros_like(info)
    safe = np.where(good, det, 1.0)
    wcov[..., 0, 0] = np.where(good, info[..., 1, 1] / safe, 0.0)
    wcov[..., 1, 1] = np.where(good, info[..., 0, 0] / safe, 0.0)
    wcov[..., 0, 1] = wcov[..., 1, 0] = np.where(good, -info[..., 0, 1] / safe, 0.0)
    middle = (0.5 * wcov[..., 0, 1, None, None] * Md / (s2 * s2)[..., None, None]
              + wcov[..., 1, 1, None, None] * (0.5 * S - Md @ MiMd + 0.25 * Mdd) / s2[..., None, None])
    lam = (sigma2 * sigma2)[..., None, None] * (Minv @ middle @ Minv)
    g_phi = sigma2[..., None, None] * (MiMd @ Minv)
    return lam, g_phi, wcov


def _s_term(phi: np.ndarray, X: np.ndarray, gaps: np.ndarray, n: np.ndarray) -> np.ndarray:
    """S = X'ẆRẆX per series (B, k, q, q): U = ẆX, then U'RU through the whitening recursion."""
    B, N, q = X.shape
    g = np.concatenate([np.zeros((B, 1)), gaps], axis=1)  # gap to the previous day; 0 at day 0
    real = (np.arange(N)[None, :] < n[:, None]) & (np.arange(N)[None, :] >= 1)
    ph = phi[:, :, None]
    gg = g[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(real[:, None], ph ** gg, 0.0)  # (B, k, N)
        a1 = np.where(real[:, None], gg * ph ** np.maximum(gg - 1, 0), 0.0)
    w = 1.0 / (1.0 - a * a)
    w1 = 2 * a * a1 * w * w
    h1 = w1 * a * a + 2 * w * a * a1
    o1 = -(w1 * a + w * a1)  # sub-diagonal of Ẇ at each day (with the day before)
    d1 = w1 + np.concatenate([h1[..., 1:], np.zeros((B, phi.shape[1], 1))], axis=-1)
    Xk = X[:, None]  # (B, 1, N, q)
    U = d1[..., None] * Xk
    U[..., 1:, :] += o1[..., 1:, None] * Xk[..., :-1, :]
    U[..., :-1, :] += o1[..., 1:, None] * Xk[..., 1:, :]
    z = np.empty_like(U)
    z[..., N - 1, :] = U[..., N - 1, :]
    for i in range(N - 1, 0, -1):  # solve A'z = U, A unit lower bidiagonal with −a below
        z[..., i - 1, :] = U[..., i - 1, :] + a[..., i, None] * z[..., i, :]
    return np.einsum("bkn,bknq,bknr->bkqr", 1.0 - a * a, z, z)


def effective_n(days: np.ndarray, phi: np.ndarray | float, groups: np.ndarray | None = None):
    """How many independent days the mean of these AR(1) days is worth: n² / Σᵢⱼ φ^|tᵢ−tⱼ|.

    Vectorised: `phi` may be an array (k,), and with `groups` (codes 0..p−1) the answer is per
    group, shape (k, p).
    """
    days = np.asarray(days, dtype=np.int64)
    phis = np.atleast_1d(np.asarray(phi, dtype=float))
    codes = np.zeros(len(days), dtype=np.int64) if groups is None else np.asarray(groups)
    p = int(np.max(codes)) + 1 if len(days) else 1
    if len(days) == 0:
        return np.zeros((len(phis), p)) if groups is not None or np.ndim(phi) else 0.0
    out = _effective_n_batch([days], phis[None], [codes], p)[0]
    if groups is None:
        out = out[:, 0]
        return float(out[0]) if np.ndim(phi) == 0 else out
    return out


def _effective_n_batch(days: list[np.ndarray], phis: np.ndarray, codes: list[np.ndarray], p: int) -> np.ndarray:
    """(B, k, p) effective n of each design's groups; the double sum runs over each group's histogram of lags."""
    days = [np.asarray(d, dtype=np.int64) for d in days]
    span = max(int(d.max() - d.min()) + 1 for d in days)
    z = np.zeros((len(days), p, span))
    for b, (d, c) in enumerate(zip(days, codes)):
        z[b, c, d - d.min()] = 1.0
    n = z.sum(axis=2)  # (B, p)
    # pairs of days L apart in each group: the group's indicator correlated with itself
    f = np.fft.rfft(z, 2 * span)
    lag_counts = np.rint(np.fft.irfft(f * f.conj(), 2 * span)[..., 1:span])  # (B, p, span − 1)
    lags = np.arange(1, span)
    total = n[:, None, :] + 2.0 * (phis[..., None] ** lags) @ lag_counts.transpose(0, 2, 1)  # (B, k, p)
    n = n[:, None, :]
    return np.where(total > 0, n * n / np.where(total > 0, total, 1.0), n)
