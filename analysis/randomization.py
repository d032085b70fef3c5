"""The randomization test of a randomized design's primary item: her days relabelled under every admissible assignment.

Under the sharp null hypothesis (the treatment changes nothing on any day) each day's value would
have been the same whatever sequence the design had drawn. So the statistic can be recomputed under
every sequence the design admits, on the same days and values: each filed day keeps its study day
and value and takes the role that day has in that sequence's schedule (its periods laid out from day
1 in that order). Where the periods differ in length (12 weeks of drug and 4 of placebo, counterbalanced)
the boundaries move with the order, so a day can be a treatment day under one assignment and a washout
day under another: only days inside treatment periods under that assignment count for it. Pure (numpy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import product

import msgspec
import numpy as np

from diary_client.core import design
from diary_client.core.protocol import Phase, Protocol

EXACT_LIMIT = 100_000  # at most this many assignments: every one enumerated
DRAWS = 10_000  # beyond: this many Monte-Carlo assignments...
SEED = 20_130  # ...drawn with this fixed seed, so a report is reproducible
ROLE_CODE = {"active": 1, "placebo": -1}


class RandomizationTest(msgspec.Struct, frozen=True):
    """Active − placebo mean difference of the primary item, against every admissible assignment."""

    statistic: float  # active − placebo mean over her filed days in treatment periods (item units)
    p: float  # two-sided: share of assignments (observed included) with |statistic| ≥ the observed |statistic|
    assignments: int  # how many assignments the design admits
    exact: bool  # every assignment enumerated; else Monte-Carlo
    min_p: float  # the smallest p this design can give her, whatever her values
    method: str

    def as_json(self) -> dict:
        return {"statistic": self.statistic, "p": self.p, "assignments": self.assignments, "exact": self.exact,
                "min_p": self.min_p, "method": self.method}


def design_phases(protocol: Protocol) -> dict[str, Phase]:
    """The protocol phases behind an expanded protocol's periods, by phase id (the first period of each)."""
    out: dict[str, Phase] = {}
    for p in protocol.phases:
        out.setdefault(p.base, p)
    return out


def count(protocol: Protocol) -> int:
    """How many sequences the design admits (without listing them: 2^cycles can be huge)."""
    a = protocol.allocation
    if a.method == "randomized_pairs":
        return 2 ** (a.cycles or 0)
    return len(a.sequences or []) if a.method == "counterbalanced" else 1


def _labels(sequence: Sequence[str], phases: dict[str, Phase], days: np.ndarray) -> np.ndarray:
    """+1 / −1 / 0 for each study day in `days`: active, placebo or neither in this sequence's schedule."""
    code = np.concatenate([np.full(phases[ph].days, ROLE_CODE.get(phases[ph].role, 0), dtype=np.int8)
                           for ph in sequence] + [np.zeros(1, dtype=np.int8)])  # days after the end: neither
    return code[np.minimum(days - 1, len(code) - 1)]


def _pairs_statistics(protocol: Protocol, phases: dict[str, Phase], d: np.ndarray, y: np.ndarray, own: np.ndarray,
                      F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The statistic under each row of F (assignments × cycles: 0 keeps the cycle's pair in order,
    1 swaps it), and whether the row labels her filed days as she had them or as their mirror image.

    Each cycle occupies the same days whatever its order (its two periods and the `between` phase);
    only inside it do the labels move. So the sums over drug and placebo days are summed per cycle
    and orientation once, and an assignment's are the sum of its cycles' choices."""
    a = protocol.allocation
    assert a.pair is not None
    first, second = (phases[ph] for ph in a.pair)
    gap = phases[a.between].days if a.between else 0
    begin = 1 + sum(phases[ph].days for ph in a.lead_in)
    cycles = a.cycles or 0
    sums = np.zeros((cycles, 2, 4))  # drug sum, drug days, placebo sum, placebo days
    eq, mirror = np.zeros((cycles, 2), dtype=bool), np.zeros((cycles, 2), dtype=bool)
    for c in range(cycles):
        lo = begin + c * (first.days + second.days + 2 * gap)
        block = (d >= lo) & (d < lo + first.days + second.days + gap)
        for o, (x, z) in enumerate(((first, second), (second, first))):
            lab = np.zeros(len(d), dtype=np.int8)
            lab[block & (d < lo + x.days)] = ROLE_CODE.get(x.role, 0)
            lab[block & (d >= lo + x.days + gap)] = ROLE_CODE.get(z.role, 0)
            sums[c, o] = (y[lab == 1].sum(), (lab == 1).sum(), y[lab == -1].sum(), (lab == -1).sum())
            eq[c, o], mirror[c, o] = (lab[block] == own[block]).all(), (lab[block] == -own[block]).all()
    at = np.arange(cycles)
    S = sums[at, F].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = S[:, 0] / S[:, 1] - S[:, 2] / S[:, 3]
    return t, eq[at, F].all(axis=1) | mirror[at, F].all(axis=1)


def _statistics(L: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Active − placebo mean of `y` under each row of labels (NaN where a role has no day)."""
    act, pl = (L == 1), (L == -1)
    na, npl = act.sum(axis=1), pl.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (act @ y) / na - (pl @ y) / npl


def randomization_test(protocol: Protocol, days: Sequence[int], values: Sequence[float]) -> RandomizationTest | None:
    """The test for a participant's expanded protocol and her primary item's (study day, value) pairs.

    None when the design is fixed, when the design names a phase her schedule does not show (its
    length is unknown here), or while some admissible assignment would label none of her filed days
    active or none placebo (mid-study: its statistic does not exist yet).
    """
    if not protocol.allocation.randomized:
        return None
    phases = design_phases(protocol)
    observed = tuple(p.base for p in protocol.phases)
    a = protocol.allocation
    named = [ph for s in (a.sequences or []) for ph in s] + list(a.lead_in) + list(a.pair or []) + (
        [a.between] if a.between else [])
    if any(ph not in phases for ph in named):
        return None
    d = np.asarray(days, dtype=np.int64)
    y = np.asarray(values, dtype=float)
    own = _labels(observed, phases, d)
    t_obs = float(_statistics(own[None, :], y)[0])
    if not math.isfinite(t_obs):
        return None
    total = count(protocol)
    exact = total <= EXACT_LIMIT
    if a.method == "randomized_pairs":
        F = (np.array(list(product((0, 1), repeat=a.cycles or 0)), dtype=np.int64) if exact else
             (np.random.default_rng(SEED).random((DRAWS, a.cycles or 0)) < 0.5).astype(np.int64))
        t, same_rows = _pairs_statistics(protocol, phases, d, y, own, F)
    else:  # counterbalanced: the listed sequences, each laid out in full
        L = np.stack([_labels(s, phases, d) for s in design.admissible(protocol)])
        t, same_rows = _statistics(L, y), (L == own).all(axis=1) | (L == -own).all(axis=1)
    if not np.isfinite(t).all():
        return None
    tol = 1e-9 * max(1.0, abs(t_obs))
    extreme, same, n = int((np.abs(t) >= abs(t_obs) - tol).sum()), int(same_rows.sum()), len(t)
    if exact:
        return RandomizationTest(t_obs, extreme / n, total, True, same / total,
                                 f"exact: all {total:,} assignments the design admits enumerated, her filed days "
                                 "relabelled under each; two-sided")
    # Monte-Carlo: the observed assignment counts once more (p never 0). The design's own smallest p:
    # with equal pair periods her assignment's mirror image (every pair swapped) relabels the same days
    # and always ties, so 2 of all; else 1 of all
    first, second = (phases[ph].days for ph in a.pair or [])
    return RandomizationTest(t_obs, (1 + extreme) / (1 + n), total, False, (2 if first == second else 1) / total,
                             f"Monte-Carlo: {n:,} of the {total:,} assignments drawn at random (seed {SEED}), "
                             "her filed days relabelled under each; p = (1 + draws as extreme) / "
                             f"(1 + {n:,}); two-sided")
