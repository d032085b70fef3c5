"""The statistical core against brute force: dense-matrix GLS with gaps, REML optimum, effective n, MixedLM."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from analysis.mixed import fit_random_intercept
from analysis.stats import ar1_fit, effective_n


def _data(seed: int, n_missing: int = 18):
    rng = np.random.default_rng(seed)
    days = np.arange(1, 99)
    phase = np.repeat([0, 1, 2, 3], [14, 14, 56, 14])
    keep = np.sort(rng.choice(98, 98 - n_missing, replace=False))
    y = 50 + 5 * (phase == 2) + rng.normal(0, 8, 98)
    for t in range(1, 98):  # AR(1) errors
        y[t] += 0.5 * (y[t - 1] - 50 - 5 * (phase[t - 1] == 2))
    return days[keep].astype(float), phase[keep], np.column_stack([y[keep], rng.normal(0, 3, len(keep))])


def _dense_gls(days, phase, y, phi):
    R = phi ** np.abs(days[:, None] - days[None, :])
    X = np.eye(4)[phase]
    Ri = np.linalg.inv(R)
    A = X.T @ Ri @ X
    b = np.linalg.solve(A, X.T @ Ri @ y)
    r = y - X @ b
    reml = -0.5 * (np.linalg.slogdet(R)[1] + np.linalg.slogdet(A)[1] + (len(y) - 4) * np.log(r @ Ri @ r))
    return b, np.linalg.inv(A), r @ Ri @ r / (len(y) - 4), reml


@pytest.mark.parametrize("seed", [1, 2])
def test_gap_aware_whitening_equals_dense_gls_at_the_reml_optimum(seed):
    days, phase, Y = _data(seed)
    fit = ar1_fit(days, phase, Y, 4)
    for j in range(Y.shape[1]):
        best = minimize_scalar(lambda f: -_dense_gls(days, phase, Y[:, j], f)[3], bounds=(-0.9, 0.98),
                               method="bounded", options={"xatol": 1e-6})
        assert fit.phi[j] == pytest.approx(best.x, abs=2e-3)
        b, cov, s2, _ = _dense_gls(days, phase, Y[:, j], fit.phi[j])
        np.testing.assert_allclose(fit.beta[j], b, rtol=1e-9)
        np.testing.assert_allclose(fit.cov_unscaled[j], cov, rtol=1e-8)
        assert fit.sigma2[j] == pytest.approx(s2, rel=1e-8)


def test_contrast_uses_the_model_covariance_and_effective_df():
    from scipy import stats

    days, phase, Y = _data(3)
    fit = ar1_fit(days, phase, Y, 4)
    diff, se, p, hw = (x[0] for x in fit.contrasts(2, 1))
    c = np.array([0, -1, 1, 0.0])
    assert diff == pytest.approx(c @ fit.beta[0])
    assert se == pytest.approx(np.sqrt(fit.sigma2[0] * c @ fit.cov_unscaled[0] @ c))
    df = np.clip(fit.n_eff[0] - 4, 1, len(days) - 5)
    assert p == pytest.approx(2 * stats.t.sf(abs(diff) / se, df))
    assert hw == pytest.approx(stats.t.ppf(0.975, df) * se)


def test_effective_n_matches_the_double_sum_with_gaps_and_negative_phi():
    days = np.array([1, 2, 3, 5, 8, 9, 20])
    for phi in (0.0, 0.6, -0.4):
        brute = len(days) ** 2 / (phi ** np.abs(days[:, None] - days[None, :])).sum() if phi else len(days)
        assert effective_n(days, phi) == pytest.approx(brute)
    groups = np.array([0, 0, 0, 1, 1, 1, 1])
    both = effective_n(days, np.array([0.6]), groups)
    assert both[0, 0] == pytest.approx(effective_n(days[:3], 0.6))
    assert both[0, 1] == pytest.approx(effective_n(days[3:], 0.6))
    # 14 consecutive days at φ = 0.6: n² / (n + 2 Σ (n − L) φ^L)
    assert effective_n(np.arange(14), 0.6) == pytest.approx(196 / (14 + 2 * sum((14 - L) * 0.6**L for L in range(1, 14))))


def test_random_intercept_reml_matches_statsmodels_mixedlm():
    from statsmodels.regression.mixed_linear_model import MixedLM

    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(12), 40)
    keep = rng.random(len(groups)) > 0.15  # unbalanced
    groups = groups[keep]
    phase = np.tile(np.repeat([0, 1, 2], [10, 10, 20]), 12)[keep]
    X = np.column_stack([np.ones(len(groups)), phase == 1, phase == 2]).astype(float)
    y = 40 + rng.normal(0, 6, 12)[groups] - 7 * (phase == 2) + rng.normal(0, 9, len(groups))
    mine = fit_random_intercept(y, X, groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = MixedLM(y, X, groups=groups).fit(reml=True)
    np.testing.assert_allclose(mine.beta, ref.fe_params, rtol=1e-4)
    np.testing.assert_allclose(np.sqrt(np.diag(mine.cov)), ref.bse_fe, rtol=2e-3)
    assert mine.sigma2 == pytest.approx(ref.scale, rel=1e-3)
    assert mine.tau2 == pytest.approx(float(np.asarray(ref.cov_re)[0, 0]), rel=1e-2)
