"""Honest inference on simulated participants (fixed seeds, 98-day ldn-fm schedule, AR(1) noise).

False-positive rate at α = 0.05 over 1,000 nulls, the naive t-test's, power at a true 30%
reduction, a drift that the trend option absorbs, a slow-onset drug that exclude_first_days
recovers, and the two views agreeing where they must. The tail table over 20,000 nulls per cell
is bench/bench_calibration.py (too slow for the suite).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from analysis import posterior
from analysis.personal import analyse
from analysis.simulate import Profile, as_entries, simulate
from analysis.stats import Job, ar1_fits
from diary_client.core.protocol import load_protocol

PROTOCOL = load_protocol()
START = date(2026, 1, 5)
N = 1000
PHASE = np.repeat([0, 1, 2, 3], [14, 14, 56, 14])  # baseline, placebo, drug, washout
DAYS = np.arange(1, 99)


def noise(rng: np.random.Generator, n: int, phi: float, sd: float = 10.0) -> np.ndarray:
    """n stationary AR(1) series of 98 days, vectorised over series."""
    e = rng.normal(size=(n, 98))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for t in range(1, 98):
        x[:, t] = phi * x[:, t - 1] + np.sqrt(1 - phi * phi) * e[:, t]
    return sd * x


def p_drug_vs_placebo(Y: np.ndarray, keep: np.ndarray | None = None, trend: bool = False,
                      skip_drug: int = 0) -> tuple[np.ndarray, list]:
    """The model's two-sided p and its fits for each series (rows of Y), as the reports compute them."""
    jobs = []
    for i, y in enumerate(Y):
        m = np.ones(98, dtype=bool) if keep is None else keep[i].copy()
        m &= ~((PHASE == 2) & (DAYS - 29 <= skip_drug - 1) & (DAYS >= 29))  # the drug phase starts on day 29
        jobs.append(Job(DAYS[m], PHASE[m], y[m][:, None], 4, trend))
    fits = ar1_fits(jobs)
    c = np.zeros(5 if trend else 4)
    c[2], c[1] = 1.0, -1.0
    return posterior.two_sided(posterior.stack([posterior.rows(f, c) for f in fits])), fits


@pytest.fixture(scope="module")
def nulls():
    rng = np.random.default_rng(20090501)
    Y = 60 + noise(rng, N, 0.6)
    return Y, p_drug_vs_placebo(Y)[0]


def test_the_model_keeps_the_false_positive_rate_at_five_percent(nulls):
    _, p = nulls
    rate = float(np.mean(p < 0.05))
    print(f"false-positive rate at 0.05 over {N} nulls (φ = 0.6): {rate:.3f}")
    assert 0.035 <= rate <= 0.065  # ± 2.2 binomial SEs around 0.05 at n = 1,000


def test_naive_welch_t_test_on_daily_values_finds_effects_that_are_not_there(nulls):
    Y, p = nulls
    from scipy.stats import ttest_ind  # the naive Welch test that treats every day as independent

    naive = np.array([ttest_ind(y[PHASE == 2], y[PHASE == 1], equal_var=False).pvalue for y in Y])
    naive_rate, model_rate = float(np.mean(naive < 0.05)), float(np.mean(p < 0.05))
    print(f"naive Welch false-positive rate: {naive_rate:.3f} (model: {model_rate:.3f})")
    assert naive_rate > 0.15 and naive_rate > 2.5 * model_rate


def test_a_true_30_percent_reduction_is_detected_in_at_least_80_percent():
    rng = np.random.default_rng(1964)
    Y = 60 * (1 - 0.30 * (PHASE == 2)) + noise(rng, N, 0.6)
    power = float(np.mean(p_drug_vs_placebo(Y)[0] < 0.05))
    print(f"power at a 30% reduction, φ = 0.6: {power:.3f}")
    assert power >= 0.80


def test_the_trend_option_removes_the_false_positives_of_a_slow_drift():
    rng = np.random.default_rng(77)
    drift = 10.0 * (DAYS - 49.5) / 98  # ≈ 10 points over the study, no drug effect
    Y = 60 + drift + noise(rng, N, 0.6)
    without = float(np.mean(p_drug_vs_placebo(Y)[0] < 0.05))
    with_trend = float(np.mean(p_drug_vs_placebo(Y, trend=True)[0] < 0.05))
    print(f"drift: false-positive rate {without:.3f} without the trend term, {with_trend:.3f} with it")
    assert with_trend <= 0.07 and without > with_trend


def test_excluding_the_first_days_recovers_a_slow_onset_effect():
    rng = np.random.default_rng(28)
    full = 0.30 * 60
    onset = np.clip((DAYS - 28) / 28, 0, 1) * (PHASE == 2)  # ramps over the first 28 drug days
    Y = 60 - full * onset + noise(rng, 400, 0.6)

    def recovered(skip: int) -> float:
        _, fits = p_drug_vs_placebo(Y, skip_drug=skip)
        return float(np.mean([(f.beta[0, 1] - f.beta[0, 2]) / full for f in fits]))

    plain, skipped = recovered(0), recovered(28)
    print(f"slow onset at φ = 0.6: {plain:.0%} of the effect recovered, {skipped:.0%} leaving out 28 days")
    assert skipped >= 0.80 and skipped > plain


def test_without_autocorrelation_or_missing_days_the_model_means_are_the_raw_means():
    rng = np.random.default_rng(3)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    worst = 0.0
    for k in range(20):
        answers = simulate(PROTOCOL, START, rng, Profile(phi=0.0, sd=10, clip=False), items=["severity"])
        rep = analyse(PROTOCOL, START, as_entries(PROTOCOL, START, answers, f"S{k}"), now, f"S{k}", False)
        sev = rep.items["severity"]
        for key, raw in sev.phases.items():
            model = sev.model.phases[key]
            worst = max(worst, abs(model.value - raw.mean))
            assert model.ci95[0] < raw.mean < model.ci95[1]
    # φ̂ is never exactly 0 on a finite series; at φ̂ = 0 GLS is the plain mean (test below)
    assert worst < 1.0


def test_at_phi_zero_gls_phase_means_are_exactly_the_raw_means():
    from analysis.stats import _day_sums, _moments, _solve, design_matrix

    rng = np.random.default_rng(4)
    y = 60 + rng.normal(0, 10, 98)
    sums = _day_sums([(DAYS.astype(float), design_matrix(DAYS, PHASE, 4, False), y[:, None])], 4)
    XtX, XtY, YtY, _ = _moments(np.zeros((1, 1)), sums, 4)
    beta = _solve(XtX, XtY, YtY)[1][0, 0, :, 0]
    np.testing.assert_allclose(beta, [y[PHASE == c].mean() for c in range(4)], rtol=1e-12)


def test_the_report_gives_the_same_numbers_as_the_calibrated_core():
    rng = np.random.default_rng(7)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    for k in range(4):
        answers = simulate(PROTOCOL, START, rng, Profile(effects={}), items=["severity"])
        y = np.array([answers[d]["severity"] for d in sorted(answers)], dtype=float)
        rep = analyse(PROTOCOL, START, as_entries(PROTOCOL, START, answers, f"S{k}"), now, f"S{k}", False)
        p, fits = p_drug_vs_placebo(y[None])
        got = rep.items["severity"]
        assert got.active_vs_placebo.p == pytest.approx(p[0], rel=1e-9)
        assert got.autocorrelation == pytest.approx(fits[0].phi[0])
        assert got.active_vs_placebo.diff == pytest.approx(fits[0].beta[0, 2] - fits[0].beta[0, 1])
        assert got.model.vs_placebo_points.p == got.active_vs_placebo.p
