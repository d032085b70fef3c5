"""The two-period crossover analysis against R's lm on a fixed data set (tests/data/crossover.*)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from analysis.crossover import crossover

DATA = Path(__file__).parent / "data"


def test_crossover_matches_r_lm():
    with (DATA / "crossover.csv").open() as f:
        rows = list(csv.DictReader(f))
    r = json.loads((DATA / "crossover.json").read_text())
    got = crossover("pain", [float(x["active_mean"]) for x in rows], [float(x["placebo_mean"]) for x in rows],
                    [x["first"] == "active" for x in rows])
    assert got is not None and (got.n_active_first, got.n_placebo_first) == (9, 7)
    t = r["treatment"]
    assert got.treatment.estimate == pytest.approx(t["estimate"], rel=1e-12)
    assert got.treatment.se == pytest.approx(t["se"], rel=1e-12)
    assert got.treatment.p == pytest.approx(t["p"], rel=1e-9)
    assert got.treatment.ci95 == pytest.approx(t["ci95"], rel=1e-9)
    assert got.treatment.df == t["df"]
    assert got.period.estimate == pytest.approx(r["period"]["estimate"], rel=1e-12)
    assert got.period.p == pytest.approx(r["period"]["p"], rel=1e-9)
    assert got.carryover.estimate == pytest.approx(r["carryover"]["estimate"], rel=1e-12)
    assert got.carryover.se == pytest.approx(r["carryover"]["se"], rel=1e-12)
    assert got.carryover.p == pytest.approx(r["carryover"]["p"], rel=1e-9)
    assert got.carryover.ci95 == pytest.approx(r["carryover"]["ci95"], rel=1e-9)


def test_no_crossover_without_both_groups():
    assert crossover("pain", [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [True, True, True]) is None
    assert crossover("pain", [1.0, 2.0], [2.0, 3.0], [True, False]) is None
