"""The statistical core against brute force: dense-matrix GLS with gaps, REML optimum, Kenward-Roger,
the posterior over φ, effective n, Holm."""

from __future__ import annotations

import numpy as np
import pytest
from fit_helpers import ar1_fit
from scipy import stats
from scipy.optimize import minimize_scalar

from analysis import posterior, tdist
from analysis.multiplicity import adjust, holm
from analysis.stats import design_matrix, effective_n


def _data(seed: int, n_missing: int = 18):
    rng = np.random.default_rng(seed)
    days = np.arange(1, 99)
    phase = np.repeat([0, 1, 2, 3], [14, 14, 56, 14])
    keep = np.sort(rng.choice(98, 98 - n_missing, replace=False))
    y = 50 + 5 * (phase == 2) + rng.normal(0, 8, 98)
    for t in range(1, 98):  # AR(1) errors
        y[t] += 0.5 * (y[t - 1] - 50 - 5 * (phase[t - 1] == 2))
    return days[keep].astype(float), phase[keep], np.column_stack([y[keep], rng.normal(0, 3, len(keep))])


def _dense(days, X, y, phi):
    R = phi ** np.abs(days[:, None] - days[None, :])
    Ri = np.linalg.inv(R)
    A = X.T @ Ri @ X
    b = np.linalg.solve(A, X.T @ Ri @ y)
    r = y - X @ b
    q = X.shape[1]
    reml = -0.5 * (np.linalg.slogdet(R)[1] + np.linalg.slogdet(A)[1] + (len(y) - q) * np.log(r @ Ri @ r))
    return b, np.linalg.inv(A), r @ Ri @ r / (len(y) - q), reml


@pytest.mark.parametrize("seed,trend", [(1, False), (2, True)])
def test_gap_aware_whitening_equals_dense_gls_at_the_reml_optimum(seed, trend):
    days, phase, Y = _data(seed)
    fit = ar1_fit(days, phase, Y, 4, trend)
    X = design_matrix(days, phase, 4, trend)
    for j in range(Y.shape[1]):
        best = minimize_scalar(lambda f, j=j: -_dense(days, X, Y[:, j], f)[3], bounds=(-0.9, 0.98),
                               method="bounded", options={"xatol": 1e-8})
        assert fit.phi[j] == pytest.approx(best.x, abs=1e-5)
        b, cov, s2, _ = _dense(days, X, Y[:, j], fit.phi[j])
        np.testing.assert_allclose(fit.beta[j], b, rtol=1e-9)
        np.testing.assert_allclose(fit.cov_unscaled[j], cov, rtol=1e-8)
        assert fit.sigma2[j] == pytest.approx(s2, rel=1e-8)


def test_kenward_roger_terms_equal_the_dense_matrix_formulas():
    days, phase, Y = _data(4)
    fit = ar1_fit(days, phase, Y[:, :1], 4, trend=True, kr=True)
    X = design_matrix(days, phase, 4, True)
    phi, s2 = fit.phi[0], fit.sigma2[0]
    D = np.abs(days[:, None] - days[None, :])
    R = phi**D
    Rd = np.where(D > 0, D * phi ** np.maximum(D - 1, 0), 0.0)
    Rdd = np.where(D > 1, D * (D - 1) * phi ** np.maximum(D - 2, 0), 0.0)
    Om = np.linalg.inv(s2 * R)
    dV, d2V = [R, s2 * Rd], [[0 * R, Rd], [Rd, s2 * Rdd]]
    Phi = np.linalg.inv(X.T @ Om @ X)
    P = [-X.T @ Om @ v @ Om @ X for v in dV]
    Q = [[X.T @ Om @ dV[i] @ Om @ dV[j] @ Om @ X for j in range(2)] for i in range(2)]
    Rr = [[X.T @ Om @ d2V[i][j] @ Om @ X for j in range(2)] for i in range(2)]
    Pi = Om - Om @ X @ Phi @ X.T @ Om
    W = np.linalg.inv([[0.5 * np.trace(Pi @ dV[i] @ Pi @ dV[j]) for j in range(2)] for i in range(2)])
    Lam = Phi @ sum(W[i, j] * (Q[i][j] - P[i] @ Phi @ P[j] - 0.25 * Rr[i][j])
                    for i in range(2) for j in range(2)) @ Phi
    np.testing.assert_allclose(fit.wcov[0], W, rtol=1e-8)
    np.testing.assert_allclose(fit.lam[0], Lam, rtol=1e-7, atol=1e-12)
    c = np.array([0, -1, 1, 0, 0.0])
    k = fit.kr(c)
    var = c @ (Phi + 2 * Lam) @ c
    g = np.array([c @ Phi @ P[i] @ Phi @ c for i in range(2)])
    assert k.se[0] ** 2 == pytest.approx(var, rel=1e-8)
    assert k.df[0] == pytest.approx(2 * var**2 / (g @ W @ g), rel=1e-6)


def test_posterior_tail_equals_brute_force_integration_over_phi():
    days, phase, Y = _data(5)
    fit = ar1_fit(days, phase, Y[:, :1], 4)
    X = design_matrix(days, phase, 4, False)
    c = np.array([0, -1, 1, 0.0])
    grid = np.linspace(-0.899, 0.979, 4000)  # flat over the grid's range, Jeffreys prior
    logw, tail = [], []
    for phi in grid:
        b, cov, s2, reml = _dense(days, X, Y[:, 0], phi)
        logw.append(reml - 0.5 * np.log1p(-phi * phi))
        tail.append(stats.t.cdf(-(c @ b) / np.sqrt(s2 * c @ cov @ c), len(days) - 4))
    w = np.exp(np.array(logw) - max(logw))
    brute = float((w * np.array(tail)).sum() / w.sum())
    assert posterior.below(posterior.rows(fit, c))[0] == pytest.approx(brute, rel=2e-3)


def test_intervals_invert_the_tail_probability_and_ratios_are_fieller_like():
    days, phase, Y = _data(6)
    fit = ar1_fit(days, phase, Y, 4)
    c = np.array([0, -1, 1, 0.0])
    R = posterior.rows(fit, c)
    lo, hi = posterior.interval(R).T
    np.testing.assert_allclose(posterior.below(R, lo), 0.025, atol=2e-6)  # the solver stops at ~1e-6 of the SD
    np.testing.assert_allclose(posterior.below(R, hi), 0.975, atol=2e-6)
    # the first series' baseline is near 50 (the second's near 0: no ratio there, which reports leave out)
    ratio = posterior.rows(fit, np.array([100.0, 0, -100.0, 0]), np.array([1.0, 0, 0, 0]))
    rlo, rhi = posterior.interval(ratio)[0]
    est = 100 * (fit.beta[0, 0] - fit.beta[0, 2]) / fit.beta[0, 0]
    assert rlo < est < rhi
    np.testing.assert_allclose(posterior.below(ratio, np.array([rlo, 0.0]))[0], 0.025, atol=2e-6)
    np.testing.assert_allclose(posterior.below(ratio, np.array([rhi, 0.0]))[0], 0.975, atol=2e-6)


def test_effective_n_matches_the_double_sum_with_gaps_and_negative_phi():
    days = np.array([1, 2, 3, 5, 8, 9, 20])
    for phi in (0.0, 0.6, -0.4):
        brute = len(days) ** 2 / (phi ** np.abs(days[:, None] - days[None, :])).sum() if phi else len(days)
        assert effective_n(days, phi) == pytest.approx(brute)
    groups = np.array([0, 0, 0, 1, 1, 1, 1])
    both = effective_n(days, np.array([0.6]), groups)
    assert both[0, 0] == pytest.approx(effective_n(days[:3], 0.6))
    assert both[0, 1] == pytest.approx(effective_n(days[3:], 0.6))
    assert effective_n(np.arange(14), 0.6) == pytest.approx(196 / (14 + 2 * sum((14 - L) * 0.6**L for L in range(1, 14))))


@pytest.mark.parametrize("ps", [[0.01, 0.04, 0.03, 0.005, 0.2], [0.5, 0.5, 0.001], [0.02], [0.049, 0.051, 0.0001, 1.0]])
def test_holm_equals_statsmodels(ps):
    from statsmodels.stats.multitest import multipletests

    keys = [f"i{k}" for k in range(len(ps))]
    got = holm(dict(zip(keys, ps)))
    np.testing.assert_allclose([got[k] for k in keys], multipletests(ps, method="holm")[1], rtol=1e-12)


def test_the_primary_item_keeps_its_p_and_the_secondary_ones_are_adjusted_among_themselves():
    from statsmodels.stats.multitest import multipletests

    p = {"severity": 0.03, "pain": 0.01, "fatigue": 0.04, "sleep": None, "mood": 0.2}
    got = adjust(p, "severity", "holm")
    assert got["severity"] == 0.03 and got["sleep"] is None
    np.testing.assert_allclose([got[k] for k in ("pain", "fatigue", "mood")],
                               multipletests([0.01, 0.04, 0.2], method="holm")[1])
    assert adjust(p, "severity", "none") == p


@pytest.mark.parametrize("df", [1.0, 2.0, 3.0, 7.0, 30.0, 94.0, 1094.0, 2.5])
def test_t_distribution_in_numpy_matches_scipy(df):
    """The reports' t CDF (both tails), quantile and density constant agree with scipy.special."""
    from scipy.special import gammaln, stdtr, stdtrit

    u = np.linspace(-1.0, 1.0, 4097)[1:-1]
    z = u * np.sqrt(df) / np.sqrt(1.0 - u * u)
    want = stdtr(df, z)
    np.testing.assert_allclose(tdist.cdf_of_u(u, df), want, rtol=5e-12, atol=1e-300)  # but subnormals
    np.testing.assert_allclose(tdist.cdf(z, df), want, rtol=5e-12, atol=1e-300)
    assert tdist.cdf(np.array([-np.inf, np.inf]), df).tolist() == [0.0, 1.0]
    p = np.array([1e-6, 0.005, 0.025, 0.5, 0.975, 0.995])
    np.testing.assert_allclose(tdist.ppf(np.full(p.shape, df), p), stdtrit(df, p), rtol=1e-12, atol=1e-14)
    assert tdist.ppf(np.array([df, df]), np.array([0.0, 1.0])).tolist() == [-np.inf, np.inf]
    want_c = gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * np.log(df * np.pi)
    assert tdist.log_c(np.array([df]))[0] == pytest.approx(want_c, rel=1e-12, abs=1e-12)
