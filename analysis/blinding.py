"""Blinding indices from the blinding check's guesses: Bang's per treatment, James' over the study (pure).

The table is the papers' 3 × 2 one: guesses "drug", "placebo", "don't know" (rows) against what was
taken (columns: active, placebo). Here each guess is one made at the end of one treatment period,
so a participant of a crossover guesses once per period: her guesses are not independent, which
the papers' variances (made for one guess per participant) do not allow for.

Bang, Ni & Davis (2004), Controlled Clinical Trials 25:143–156, per arm, unweighted:
    BI = (2 · c / (c + w) − 1) · (c + w) / n = (c − w) / n    (c correct, w wrong, n all guesses)
    Var = [p₁(1 − p₁) + p₂(1 − p₂) + 2 p₁ p₂] / n              (p₁, p₂ the arm's shares guessing drug, placebo)
James, Bloch, Lee, Kraemer & Fuller (1996), Stat Med 15:1421–1434, weights 0 correct, ½ wrong:
    BI = (1 + P_dk + (1 − P_dk) κ_d) / 2 with κ_d = (P_do − P_de) / P_de, its variance eq. in `james`.
Intervals are Wald intervals (estimate ± z₀.₉₇₅ · SE), as in both papers, and are not clipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from statistics import NormalDist

from analysis.results import BlindingIndex, BlindingResult
from diary_client.core.entry import Entry, latest
from diary_client.core.protocol import BLIND_GUESS, BLIND_OPTIONS, CHECKED_ROLES, Protocol
from diary_client.core.schedule import phase_spans

DRUG, PLACEBO, DONT_KNOW = BLIND_OPTIONS
CORRECT = {"active": DRUG, "placebo": PLACEBO}  # the right guess for each role
Z95 = NormalDist().inv_cdf(0.975)
JAMES_WEIGHT_WRONG = 0.5  # James 1996: a correct guess weighs 0, a wrong one ½ (don't know: 1, through P_dk)

BANG_MEANS = ("Bang's index, per treatment: the share of guesses that were right minus the share that were "
              "wrong (0: no better than chance, 1: everyone knew, −1: everyone guessed the other treatment).")
JAMES_MEANS = ("James' index, over the study: 1 when everyone answered \"don't know\", 0.5 when the guesses "
               "were no better than chance, 0 when everyone knew; an upper confidence limit below 0.5 says "
               "the blind did not hold.")
METHOD = ("Bang, Ni & Davis 2004 (per treatment, unweighted) and James et al. 1996 (weights: right 0, wrong ½, "
          "don't know 1); 95% Wald intervals with the papers' variances; each guess made at the end of a "
          "treatment period counts once")


def guesses(protocol: Protocol, start: date, entries: Iterable[Entry]) -> list[tuple[str, str]]:
    """(role of the period, guess) for each period whose last day's counted report holds a guess."""
    if protocol.blinding_check is None:
        return []
    days = latest(entries)
    out: list[tuple[str, str]] = []
    for span in phase_spans(protocol, start):
        if span.phase.role not in CHECKED_ROLES or not protocol.checks_blinding(span.phase.id):
            continue
        entry = days.get(span.end)
        guess = None if entry is None else entry.answers.get(BLIND_GUESS)
        if guess in BLIND_OPTIONS:
            out.append((span.phase.role, guess))
    return out


def table(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """role -> guess -> count, for both treatments and all three answers."""
    out = {role: dict.fromkeys(BLIND_OPTIONS, 0) for role in CHECKED_ROLES}
    for role, guess in pairs:
        out[role][guess] += 1
    return out


def _wald(index: float, se: float, n: int, reason: str | None = None) -> BlindingIndex:
    return BlindingIndex(index, (index - Z95 * se, index + Z95 * se), n, se, reason)


def bang(role: str, counts: Mapping[str, int]) -> BlindingIndex:
    """Bang's index of the guesses made by those on `role` (its counts of each answer)."""
    n = sum(counts.values())
    if n == 0:
        return BlindingIndex(None, None, 0, None, "nobody answered the blinding question at the end of these periods")
    correct = counts[CORRECT[role]]
    wrong = n - correct - counts[DONT_KNOW]
    p1, p2 = counts[DRUG] / n, counts[PLACEBO] / n
    se = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2) + 2 * p1 * p2) / n)
    if correct + wrong == 0:  # the paper's (2c/(c+w) − 1)(c+w)/n is 0/0; (c − w)/n is 0: no guess either way
        return BlindingIndex(0.0, None, n, None, "everyone answered \"don't know\": no guess either way, "
                                                 "and the variance formula gives no interval")
    return _wald((correct - wrong) / n, se, n)


def james(counts: Mapping[str, Mapping[str, int]]) -> BlindingIndex:
    """James' index of all guesses (`counts`: role -> answer -> count, roles "active" and "placebo")."""
    roles = list(CHECKED_ROLES)  # columns j: what was taken
    rows = [DRUG, PLACEBO]  # rows i: the guesses that name a treatment
    n = sum(counts[r][g] for r in roles for g in BLIND_OPTIONS)
    if n == 0:
        return BlindingIndex(None, None, 0, None, "nobody answered the blinding question")
    P = {(g, r): counts[r][g] / n for g in BLIND_OPTIONS for r in roles}
    p_dk = sum(P[DONT_KNOW, r] for r in roles)
    if p_dk == 1:  # James 1996, p. 1425: only "don't know" answers give an index of 1
        return BlindingIndex(1.0, (1.0, 1.0), n, 0.0, "everyone answered \"don't know\": 1 by definition")
    row = {g: sum(P[g, r] for r in roles) for g in rows}  # P_i. (a guess's share)
    col = {r: sum(P[g, r] for g in rows) for r in roles}  # P_.j − P_3j (a treatment's share, guesses only)

    def w(g: str, r: str) -> float:
        return 0.0 if CORRECT[r] == g else JAMES_WEIGHT_WRONG

    q = 1 - p_dk
    expected = sum(w(g, r) * row[g] * col[r] for g in rows for r in roles)
    if expected == 0:
        return BlindingIndex(None, None, n, None, "James' index is not defined: every guess that names a "
                                                  "treatment is the same right guess, from one arm only")
    p_do = sum(w(g, r) * P[g, r] for g in rows for r in roles) / q
    p_de = expected / q**2
    kappa = (p_do - p_de) / p_de
    v1 = sum(P[g, r] * q**2 * (q * w(g, r) - (1 + kappa) * sum(w(x, r) * row[x] + w(g, x_r) * col[x_r]
                                                                 for x, x_r in zip(rows, roles))) ** 2
             for g in rows for r in roles) / (4 * expected**2)
    v2 = p_dk * q - q * (1 + kappa) * (p_dk + q * (1 + kappa) / 4)
    index = (1 + p_dk + q * kappa) / 2
    var = (v1 + v2) / n
    if var < 0:  # rounding at a boundary
        var = 0.0
    return _wald(index, math.sqrt(var), n)


def blinding(asked: bool, pairs: Sequence[tuple[str, str]]) -> BlindingResult:
    """Both indices from every (role, guess) of the study; `asked`: whether the protocol asks the check."""
    counts = table(pairs)
    if not asked:
        none = BlindingIndex(None, None, 0, None, "the protocol asks no blinding question ([blinding_check])")
        return BlindingResult(False, {r: none for r in CHECKED_ROLES}, none, counts, METHOD, (BANG_MEANS, JAMES_MEANS))
    return BlindingResult(True, {r: bang(r, counts[r]) for r in CHECKED_ROLES}, james(counts), counts, METHOD,
                          (BANG_MEANS, JAMES_MEANS))
