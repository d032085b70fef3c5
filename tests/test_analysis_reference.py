"""The analysis against R on fixed data sets (tests/data/*.csv; values from tests/data/reference.R).

`nlme::gls(..., correlation = corCAR1(form = ~ day), method = "REML")` for the GLS-AR(1) fits (with
gaps; with and without a trend), `metafor::rma(yi, vi, method = "REML", test = "knha")` with
`predict` and `blup` for the meta-analysis, `lmerTest::lmer(value ~ phase + (1 + drug | participant))`
with Satterthwaite df for the mixed model. Tolerances are stated at each assertion.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from fit_helpers import ar1_fit

from analysis import mixed
from analysis.meta import random_effects

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "reference.json").read_text())
PHASES = ["baseline", "placebo", "ldn", "washout"]


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("series", ["s1", "s2", "s3", "s4"])
@pytest.mark.parametrize("trend", [False, True])
def test_gls_ar1_equals_nlme(series, trend):
    rows = [r for r in _rows("gls.csv") if r["series"] == series]
    days = np.array([float(r["day"]) for r in rows])
    phase = np.array([PHASES.index(r["phase"]) for r in rows])
    y = np.array([float(r["y"]) for r in rows])
    fit = ar1_fit(days, phase, y[:, None], 4, trend)
    ref = REF["gls"][series + ("_trend" if trend else "")]
    assert fit.phi[0] == pytest.approx(ref["phi"], abs=1e-5)  # REML optimum: grid, then two parabola steps
    np.testing.assert_allclose(fit.beta[0], ref["beta"], atol=1e-3)  # phase means (and trend) to 0.001 points
    se = np.sqrt(fit.sigma2[0] * np.diag(fit.cov_unscaled[0]))
    np.testing.assert_allclose(se, ref["se"], rtol=1e-4)
    assert np.sqrt(fit.sigma2[0]) == pytest.approx(ref["sigma"], rel=1e-5)


def test_meta_analysis_equals_metafor_reml_hartung_knapp():
    rows = _rows("meta.csv")
    m = random_effects(np.array([float(r["yi"]) for r in rows]), np.array([float(r["vi"]) for r in rows]))
    ref = REF["meta"]
    assert m.tau2 == pytest.approx(ref["tau2"], rel=1e-6)  # Fisher scoring to 1e-12
    assert m.effect == pytest.approx(ref["effect"], rel=1e-8)
    assert m.se == pytest.approx(ref["se"], rel=1e-7)
    np.testing.assert_allclose(m.ci95, ref["ci95"], rtol=1e-7)
    assert m.p == pytest.approx(ref["p"], rel=1e-6)
    assert m.i2 == pytest.approx(ref["i2"], rel=1e-6)
    np.testing.assert_allclose(m.prediction_interval, ref["pi"], rtol=1e-7)
    np.testing.assert_allclose(m.blup, ref["blup"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(m.blup_se, ref["blup_se"], rtol=1e-6)


def test_mixed_model_equals_lmertest_with_satterthwaite_df():
    rows = _rows("mixed.csv")
    pids = sorted({r["participant"] for r in rows})
    counts, sums, squares = np.zeros((len(pids), 4)), np.zeros((len(pids), 4)), np.zeros(len(pids))
    for r in rows:
        i, j, v = pids.index(r["participant"]), PHASES.index(r["phase"]), float(r["value"])
        counts[i, j] += 1
        sums[i, j] += v
        squares[i] += v * v
    A = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]], dtype=float)  # baseline reference
    Z = np.array([[1, 0], [1, 0], [1, 1], [1, 0]], dtype=float)  # intercept, drug
    fit = mixed.fit(mixed.PhaseSums(counts, sums, squares), A, Z)
    ref = REF["mixed"]
    np.testing.assert_allclose(fit.beta, ref["beta"], rtol=1e-5)  # optimiser tolerance (BFGS, lme4 bobyqa)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), ref["se"], rtol=2e-4)
    sd = np.sqrt(np.diag(fit.G))
    np.testing.assert_allclose(sd, [ref["sd_intercept"], ref["sd_drug"]], rtol=1e-3)
    assert fit.G[0, 1] / (sd[0] * sd[1]) == pytest.approx(ref["corr"], abs=1e-3)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-5)
    for k in range(4):
        _, _, df, p, _ = fit.contrast(np.eye(4)[k])
        assert df == pytest.approx(ref["df"][k], rel=5e-3)  # numerical Hessians on both sides
        assert p == pytest.approx(ref["p"][k], rel=2e-2)
    est, se, df, p, _ = fit.contrast(np.array([0, -1, 1, 0.0]))
    ct = ref["ldn_vs_placebo"]
    assert est == pytest.approx(ct["estimate"], rel=1e-6)
    assert se == pytest.approx(ct["se"], rel=2e-4)
    assert df == pytest.approx(ct["df"], rel=5e-3)
    assert p == pytest.approx(ct["p"], rel=1e-2)
