"""Bang's and James' blinding indices against independent computations from the papers' formulas, and from the diary's guesses."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime
from fractions import Fraction

import msgspec
import numpy as np
import pytest

from analysis import blinding as bl
from analysis.cohort import cohort_report
from analysis.participant import ParticipantData
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import BlindingCheck, load_protocol
from diary_client.core.schedule import phase_spans

Z = 1.959963984540054  # the normal distribution's 97.5% point


# -- the reference: the papers' formulas, written out on their own -----------------------------
# A table is the papers' 3 × 2 one: x[i][j], i the guess (0 drug, 1 placebo, 2 don't know),
# j what was taken (0 drug, 1 placebo).

def bang_reference(x, j):
    """Bang et al. 2004, 2 × 3 case, arm j: BI = (2 n_jj / (n_1j + n_2j) − 1) (n_1j + n_2j) / n_.j;
    Var = [p1 (1 − p1) + p2 (1 − p2) + 2 p1 p2] / n_.j with p1, p2 the arm's shares of each guess."""
    n = x[0][j] + x[1][j] + x[2][j]
    guessed = x[0][j] + x[1][j]
    estimate = (2 * Fraction(x[j][j], guessed) - 1) * Fraction(guessed, n)
    p1, p2 = Fraction(x[0][j], n), Fraction(x[1][j], n)
    se = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2) + 2 * p1 * p2) / n)
    return float(estimate), se


def james_reference(x):
    """James et al. 1996 with weights w = 0 on the diagonal, ½ off it: kappa_d of the guesses that
    name a treatment, BI = (1 + P_dk + (1 − P_dk) kappa_d) / 2, and the paper's variance."""
    n = sum(map(sum, x))
    P = [[Fraction(v, n) for v in row] for row in x]
    w = [[Fraction(0), Fraction(1, 2)], [Fraction(1, 2), Fraction(0)]]
    dk = P[2][0] + P[2][1]
    row = [P[i][0] + P[i][1] for i in range(2)]  # P_i.
    col = [P[0][j] + P[1][j] for j in range(2)]  # P_.j minus its don't-knows
    do = sum(w[i][j] * P[i][j] for i in range(2) for j in range(2)) / (1 - dk)
    de = sum(w[i][j] * row[i] * col[j] for i in range(2) for j in range(2)) / (1 - dk) ** 2
    kappa = (do - de) / de
    estimate = (1 + dk + (1 - dk) * kappa) / 2
    denominator = 4 * sum(w[i][j] * row[i] * col[j] for i in range(2) for j in range(2)) ** 2
    numerator = Fraction(0)
    for i in range(2):
        for j in range(2):
            extra = sum(w[r][j] * row[r] + w[i][r] * col[r] for r in range(2))
            numerator += P[i][j] * (1 - dk) ** 2 * ((1 - dk) * w[i][j] - (1 + kappa) * extra) ** 2
    v = numerator / denominator + dk * (1 - dk) - (1 - dk) * (1 + kappa) * (dk + (1 - dk) * (1 + kappa) / 4)
    return float(estimate), math.sqrt(v / n)


def counts_of(x):
    """The 3 × 2 table as `analysis.blinding` takes it: role -> answer -> count."""
    answers = ("drug", "placebo", "don't know")
    return {role: {a: x[i][j] for i, a in enumerate(answers)} for j, role in enumerate(("active", "placebo"))}


TABLES = {
    "Houweling 2014, investigators": [[48, 22], [4, 30], [330, 319]],
    "CRISP (Bang 2004, table 7)": [[82, 27], [25, 29], [170, 83]],
    "small, opposite guessing on placebo": [[5, 4], [2, 1], [1, 0]],
    "no don't know": [[9, 3], [1, 7], [0, 0]],
}


@pytest.mark.parametrize("name", TABLES)
def test_both_indices_equal_the_papers_formulas(name):
    x = TABLES[name]
    counts = counts_of(x)
    for j, role in enumerate(("active", "placebo")):
        got = bl.bang(role, counts[role])
        estimate, se = bang_reference(x, j)
        assert got.index == pytest.approx(estimate, abs=1e-12) and got.se == pytest.approx(se, abs=1e-12)
        assert got.ci95 == pytest.approx((estimate - Z * se, estimate + Z * se), abs=1e-9)
        assert got.n == x[0][j] + x[1][j] + x[2][j] and got.reason is None
    got = bl.james(counts)
    estimate, se = james_reference(x)
    assert got.index == pytest.approx(estimate, abs=1e-12) and got.se == pytest.approx(se, abs=1e-12)
    assert got.ci95 == pytest.approx((estimate - Z * se, estimate + Z * se), abs=1e-9)
    assert got.n == sum(map(sum, x))


def test_the_published_example_to_its_three_decimals():
    # Houweling et al. 2014, investigators, as the R package BI and BlindingIndex.jl print it.
    counts = counts_of(TABLES["Houweling 2014, investigators"])
    j = bl.james(counts)
    assert (round(j.index, 3), round(j.se, 3), round(j.ci95[0], 3), round(j.ci95[1], 3)) == (0.896, 0.011, 0.875, 0.918)
    t, p = bl.bang("active", counts["active"]), bl.bang("placebo", counts["placebo"])
    assert (round(t.index, 3), round(t.se, 3), round(t.ci95[0], 2), round(t.ci95[1], 2)) == (0.115, 0.018, 0.08, 0.15)
    assert (round(p.index, 3), round(p.se, 3), round(p.ci95[0], 3), round(p.ci95[1], 2)) == (0.022, 0.019, -0.016, 0.06)


def test_everyone_says_dont_know():
    x = [[0, 0], [0, 0], [6, 4]]
    counts = counts_of(x)
    for role in ("active", "placebo"):
        b = bl.bang(role, counts[role])
        # (c − w) / n = 0: no guess either way; the variance formula's 0 gives no interval
        assert (b.index, b.ci95, b.se) == (0.0, None, None) and b.n == sum(counts[role].values())
        assert "don't know" in b.reason
    j = bl.james(counts)
    assert (j.index, j.ci95, j.se, j.n) == (1.0, (1.0, 1.0), 0.0, 10)  # James 1996, p. 1425


def test_nobody_answers():
    counts = counts_of([[0, 0], [0, 0], [0, 0]])
    for role in ("active", "placebo"):
        b = bl.bang(role, counts[role])
        assert (b.index, b.ci95, b.n) == (None, None, 0) and "nobody answered" in b.reason
    j = bl.james(counts)
    assert (j.index, j.ci95, j.n) == (None, None, 0) and "nobody answered" in j.reason
    off = bl.blinding(False, [])
    assert not off.asked and off.james.index is None and "asks no blinding question" in off.james.reason


def test_james_is_not_defined_when_every_guess_is_the_same_right_one():
    j = bl.james(counts_of([[3, 0], [0, 0], [1, 1]]))  # P_de = 0: kappa has no denominator
    assert j.index is None and j.n == 5 and "not defined" in j.reason


# -- from the diary: the guesses at the end of the placebo and drug periods ----------------------

PROTOCOL = msgspec.structs.replace(load_protocol(), blinding_check=BlindingCheck())
START = date(2026, 1, 5)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def with_guesses(pid, rng, placebo_guess, drug_guess, sure=60, start=START):
    """A participant whose placebo and drug periods' last reports carry these guesses (None: none given)."""
    days = simulate(PROTOCOL, start, rng, Profile(sd=5, phi=0.3), items=["severity"])
    last = {s.phase.id: s.end for s in phase_spans(PROTOCOL, start)}
    for phase, guess in (("placebo", placebo_guess), ("ldn", drug_guess)):
        if guess is not None:
            days[last[phase]] = days[last[phase]] | {"blind_guess": guess, "blind_sure": sure}
    return ParticipantData(pid, PROTOCOL, start, as_entries(PROTOCOL, start, days, pid))


def test_the_cohort_report_counts_each_periods_last_guess():
    rng = np.random.default_rng(7)
    plan = [("placebo", "drug"), ("drug", "drug"), ("don't know", "drug"), ("placebo", "don't know"),
            ("placebo", "placebo"), (None, "drug")]
    people = [with_guesses(f"P{i}", rng, a, b) for i, (a, b) in enumerate(plan)]
    # a correction counts, not the report it replaces: P0's placebo guess becomes "don't know"
    p0 = people[0]
    end = next(s.end for s in phase_spans(PROTOCOL, START) if s.phase.id == "placebo")
    old = next(e for e in p0.entries if e.diary_date == end)
    fixed = replace(old, id="00000000-0000-4000-8000-0000000000ff", answers=old.answers | {"blind_guess": "don't know"},
                    supersedes=old.id, reason="misread", seq=old.seq + 1000, submitted_at=old.submitted_at.replace(minute=59))
    people[0] = msgspec.structs.replace(p0, entries=[*p0.entries, fixed])
    doc = cohort_report(people, NOW).as_json()["blinding"]
    # by hand: placebo periods guessed placebo 2, drug 1, don't know 2 (P0 corrected, P5 none)
    #          drug periods guessed drug 4, placebo 1, don't know 1
    x = [[4, 1], [1, 2], [1, 2]]
    assert doc["counts"] == {"active": {"drug": 4, "placebo": 1, "don't know": 1},
                             "placebo": {"drug": 1, "placebo": 2, "don't know": 2}}
    for j, role in enumerate(("active", "placebo")):
        estimate, se = bang_reference(x, j)
        assert doc["bang"][role]["index"] == pytest.approx(estimate) and doc["bang"][role]["n"] == sum(r[j] for r in x)
        assert doc["bang"][role]["ci95"] == pytest.approx([estimate - Z * se, estimate + Z * se])
    estimate, se = james_reference(x)
    assert doc["james"]["index"] == pytest.approx(estimate) and doc["james"]["n"] == 11
    assert doc["james"]["ci95"] == pytest.approx([estimate - Z * se, estimate + Z * se])
    assert doc["asked"] is True and len(doc["meaning"]) == 2


def test_a_study_midway_has_guesses_only_for_periods_already_over():
    rng = np.random.default_rng(8)
    late = date(2026, 4, 20)  # by NOW (6 weeks later) the placebo period is over, the drug one is not
    p = with_guesses("LATE", rng, "placebo", None, start=late)
    p = msgspec.structs.replace(p, entries=[e for e in p.entries if e.diary_date < NOW.date()])
    doc = cohort_report([p], NOW).as_json()["blinding"]
    assert doc["bang"]["placebo"]["n"] == 1 and doc["bang"]["active"]["n"] == 0
    assert doc["bang"]["active"]["index"] is None
