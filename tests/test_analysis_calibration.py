"""Honest inference: false-positive rate on AR(1) null participants, the naive t-test's, and power.

1,000 simulated participants on the 98-day ldn-fm schedule, AR(1) noise with φ = 0.6, fixed seeds.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import numpy as np
import pytest

from analysis.personal import analyse
from analysis.simulate import Profile, as_entries, simulate
from analysis.stats import ar1_fit, welch_p
from diary_client.protocol import load_protocol
from diary_client.schedule import phase_spans

PROTOCOL = load_protocol()
START = date(2026, 1, 5)
N = 1000
NULL = Profile(baseline=60, phi=0.6, sd=10, effects={})
DRUG_30 = Profile(baseline=60, phi=0.6, sd=10, effects={"active": 0.30})


def _series(rng: np.random.Generator, profile: Profile):
    days = simulate(PROTOCOL, START, rng, profile, items=["severity"])
    return np.array([days[d]["severity"] for d in sorted(days)], dtype=float)


def _layout():
    spans = phase_spans(PROTOCOL, START)
    phase = np.concatenate([np.full(s.phase.days, i) for i, s in enumerate(spans)])
    index = {s.phase.role: i for i, s in reversed(list(enumerate(spans)))}  # first phase of each role
    return np.arange(1, len(phase) + 1), phase, index


def _p_values(profile: Profile, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per participant: the AR(1) model's p for active vs placebo, and the naive Welch p."""
    rng = np.random.default_rng(seed)
    days, phase, idx = _layout()
    model, naive = [], []
    for _ in range(N):
        y = _series(rng, profile)
        fit = ar1_fit(days, phase, y[:, None], int(phase.max()) + 1)
        model.append(fit.contrasts(idx["active"], idx["placebo"])[2][0])
        naive.append(welch_p(y[phase == idx["active"]], y[phase == idx["placebo"]]))
    return np.array(model), np.array(naive)


@pytest.fixture(scope="module")
def null_p():
    return _p_values(NULL, seed=20090501)


def test_ar1_model_keeps_the_false_positive_rate_near_five_percent(null_p):
    model, _ = null_p
    rate = float(np.mean(model < 0.05))
    print(f"AR(1) model false-positive rate: {rate:.3f}")
    assert 0.03 <= rate <= 0.08


def test_naive_welch_t_test_on_daily_values_finds_effects_that_are_not_there(null_p):
    model, naive = null_p
    naive_rate, model_rate = float(np.mean(naive < 0.05)), float(np.mean(model < 0.05))
    print(f"naive Welch false-positive rate: {naive_rate:.3f} (model: {model_rate:.3f})")
    assert naive_rate > 0.15
    assert naive_rate > 2.5 * model_rate


def test_a_true_30_percent_reduction_is_detected_in_at_least_80_percent():
    model, _ = _p_values(DRUG_30, seed=1964)
    power = float(np.mean(model < 0.05))
    print(f"power at a 30% reduction: {power:.3f}")
    assert power >= 0.80


def test_the_report_gives_the_same_p_values_as_the_calibrated_core():
    rng = np.random.default_rng(7)
    days, phase, idx = _layout()
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    for k in range(5):
        answers = simulate(PROTOCOL, START, rng, NULL, items=["severity"])
        y = np.array([answers[d]["severity"] for d in sorted(answers)], dtype=float)
        rep = analyse(PROTOCOL, START, as_entries(PROTOCOL, START, answers, f"S{k}"), now, f"S{k}", False)
        fit = ar1_fit(days, phase, y[:, None], 4)
        got = rep.as_json()["items"]["severity"]
        assert got["p_active_vs_placebo"] == pytest.approx(fit.contrasts(idx["active"], idx["placebo"])[2][0])
        assert got["p_active_vs_baseline"] == pytest.approx(fit.contrasts(idx["active"], idx["baseline"])[2][0])
        assert got["autocorrelation"] == pytest.approx(fit.phi[0])
