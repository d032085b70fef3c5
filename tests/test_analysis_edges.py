"""The statistics at their edges (issue 18, points 12–16), pinned against R where R gives the number.

tests/data/edges.csv comes from tests/data/make_edges.py; tests/data/edges.json from
tests/data/edges.R (`nlme::gls(..., correlation = corAR1(form = ~ day), method = "REML")`).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest
from fit_helpers import ar1_fit
from scipy import stats
from test_analysis_stats import _dense  # the dense-matrix GLS and REML at one φ

import analysis.stats as S
from analysis import posterior
from analysis.modelview import Batch, FitPlan, Roles
from analysis.personal import analyse
from analysis.simulate import ar1, as_entries
from analysis.stats import Job, ar1_fits, design_matrix
from diary_client.core.protocol import load_protocol

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "edges.json").read_text())
PHASES = ["baseline", "placebo", "ldn", "washout"]
PROTOCOL = load_protocol()
START = date(2026, 1, 5)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _series(name: str, source: str = "edges.csv"):
    with (DATA / source).open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["series"] == name]
    return (np.array([float(r["day"]) for r in rows]), np.array([PHASES.index(r["phase"]) for r in rows]),
            np.array([float(r["y"]) for r in rows]))


# 12 ---------------------------------------------------------------------------------------------

def test_an_exact_30_point_difference_is_a_responder():
    # baseline 40, placebo 31.5, drug 19.5: (31.5 − 19.5) / 40 = 30.0 points exactly, 29.999999999999993 in floats
    values = [40] * 14 + [31] * 13 + [38] + [19, 20] * 28 + [40] * 14
    answers = {START + timedelta(days=k): {"severity": v} for k, v in enumerate(values)}
    rep = analyse(PROTOCOL, START, as_entries(PROTOCOL, START, answers, "R30"), NOW, "R30", False)
    assert rep.primary.vs_placebo_points < 30.0  # the float, not the arithmetic
    assert rep.responder_points == 30
    assert rep.responder is True


# 13 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["hi1", "hi2", "neg"])
def test_reml_phi_is_found_beyond_the_old_grid_as_nlme_finds_it(name):
    days, phase, y = _series(name)
    fit = ar1_fit(days, phase, y[:, None], 4)
    ref = REF[name]
    assert fit.phi[0] == pytest.approx(ref["phi"], abs=1e-5)
    np.testing.assert_allclose(fit.beta[0], ref["beta"], atol=1e-3)
    se = np.sqrt(fit.sigma2[0] * np.diag(fit.cov_unscaled[0]))
    np.testing.assert_allclose(se, ref["se"], rtol=1e-3)


def test_a_reml_maximum_at_the_unit_root_edge_is_reported_at_the_edge():
    days, phase, y = _series("trend")
    fit = ar1_fit(days, phase, y[:, None], 4, trend=True)
    assert REF["trend_trend"]["phi"] > S.PHI_EDGE  # nlme climbs towards 1 too
    assert fit.phi[0] == pytest.approx(S.PHI_EDGE, abs=1e-9)
    X = design_matrix(days, phase, 4, True)
    assert _dense(days, X, y, 0.999)[3] > _dense(days, X, y, 0.998)[3]  # still rising at the edge
    # the phase differences are estimable at the edge: they agree with nlme's at φ = 0.99999
    b = REF["trend_trend"]["beta"]
    np.testing.assert_allclose(fit.beta[0, 1:4] - fit.beta[0, 0], np.array(b[1:4]) - b[0], atol=0.05)


# 14 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cut", "hi2", "neg"])
def test_the_posterior_integrates_phi_over_the_whole_stationary_range(name):
    days, phase, y = _series(name)
    X = design_matrix(days, phase, 4, False)
    c = np.array([0, -1, 1, 0.0])
    theta = np.linspace(-np.pi / 2, np.pi / 2, 4001)[1:-1]  # Jeffreys' prior is flat in θ = arcsin φ
    logw, lower, upper = [], [], []
    for phi in np.clip(np.sin(theta), -1 + 1e-6, 1 - 1e-6):
        b, cov, s2, reml = _dense(days, X, y, phi)
        z = (c @ b) / np.sqrt(s2 * c @ cov @ c)
        logw.append(reml)
        lower.append(stats.t.sf(z, len(days) - 4))  # P(c'β < 0 | φ)
        upper.append(stats.t.cdf(z, len(days) - 4))  # P(c'β > 0 | φ)
    w = np.exp(np.array(logw) - max(logw))
    w /= w.sum()
    brute_p = 2 * min(float(w @ np.array(lower)), float(w @ np.array(upper)))
    fit = ar1_fit(days, phase, y[:, None], 4)
    assert posterior.two_sided(posterior.rows(fit, c))[0] == pytest.approx(brute_p, rel=5e-3)


# 15 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("series", ["s2", "s3", "s4"])
def test_with_a_trend_percent_of_baseline_keeps_the_baseline_phases_own_level(series):
    days, phase, y = _series(series, "gls.csv")
    fit = ar1_fit(days, phase, y[:, None], 4, trend=True)
    batch = Batch()
    plan = FitPlan(fit, dict(zip(PHASES, range(4))), Roles((0,), (1,), (2,)), ["lower"], True, 30.0, batch)
    batch.solve()
    sm = plan.series(0)
    ref = REF[f"gls_{series}_trend"]
    assert fit.beta[0] @ fit.own_level(0) == pytest.approx(ref["baseline_level"], rel=1e-4)
    for k, want in zip(PHASES[1:], ref["reduction_pct"]):
        assert sm.reductions[k].value == pytest.approx(want, abs=1e-3)
    assert sm.vs_placebo_points.value == pytest.approx(ref["vs_placebo_points"], abs=1e-3)


def test_withheld_percent_of_baseline_numbers_are_explained():
    protocol = msgspec.structs.replace(PROTOCOL, analysis=msgspec.structs.replace(PROTOCOL.analysis, trend=True))
    days, _, y = _series("trend")
    answers = {START + timedelta(days=int(d) - 1): {"severity": int(v)} for d, v in zip(days, y)}
    rep = analyse(protocol, START, as_entries(protocol, START, answers, "T1"), NOW, "T1", False)
    sev = rep.primary
    assert sev.responder_probability is None
    assert any(sev.label in c and "withheld" in c for c in rep.caveats)
    out = rep.as_json()
    assert any("withheld" in c for c in out["caveats"])


# 16 ---------------------------------------------------------------------------------------------

def test_the_method_text_names_the_nlme_call_these_pins_come_from():
    call = "corAR1(form = ~ day)"
    assert call in S.METHOD
    assert call in (DATA / "edges.R").read_text()
    assert call in S.__doc__


@pytest.mark.parametrize("series", ["s1", "s2", "s3", "s4"])
@pytest.mark.parametrize("trend", [False, True])
def test_gls_equals_nlme_corar1_on_the_day(series, trend):
    days, phase, y = _series(series, "gls.csv")
    fit = ar1_fit(days, phase, y[:, None], 4, trend)
    ref = REF[f"gls_{series}" + ("_trend" if trend else "")]
    assert fit.phi[0] == pytest.approx(ref["phi"], abs=1e-5)
    np.testing.assert_allclose(fit.beta[0], ref["beta"], atol=1e-3)


def test_the_posterior_nodes_change_p_as_the_method_text_says(monkeypatch):
    rng = np.random.default_rng(11)
    phase_of = np.repeat([0, 1, 2, 3], [14, 14, 56, 14])
    day = np.arange(1, 99)
    jobs = []
    for i in range(300):
        phi, missing, effect = rng.uniform(0.0, 0.97), rng.uniform(0, 0.3), rng.uniform(0, 25)
        x = ar1(rng, 98, phi, 10.0)
        keep = rng.random(98) >= missing
        jobs.append(Job(day[keep], phase_of[keep], (60 - effect * (phase_of == 2) + x)[keep][:, None], 4, bool(i % 2)))

    def p_values():
        fits = ar1_fits(jobs)
        return posterior.two_sided(posterior.stack(
            [posterior.rows(f, np.eye(f.q)[2] - np.eye(f.q)[1]) for f in fits]))

    p = p_values()
    monkeypatch.setattr(S, "NODES", 200)
    monkeypatch.setattr(S, "SPAN", 8.0)
    monkeypatch.setattr(S, "TAIL_NODES", 60)
    fine = p_values()
    mid = (fine >= 0.001) & (fine < 0.01)
    assert mid.sum() >= 20
    assert np.max(np.abs(p - fine)[mid] / fine[mid]) < 1e-3  # "< 0.1% for p in [0.001, 0.01)"
    assert np.max(np.abs(p - fine)) < 2e-4  # "any p by less than 2e-4"
