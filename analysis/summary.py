"""The paper's arithmetic: phase n, mean, SD, endpoint mean and percent reductions; non-numeric tallies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from analysis.results import RuleVerdict, Tally
from diary_client.core.protocol import ENDPOINT_DAYS, ItemPoints, ResponderRule


def endpoint_days_mask(valid: np.ndarray, phase: np.ndarray, p: int, endpoint_days: int = ENDPOINT_DAYS) -> np.ndarray:
    """The values (days × items) among the last `endpoint_days` that count in their phase, per item."""
    from_end = np.zeros(valid.shape)
    for c in range(p):  # rank of each valid value counted from the end of its phase
        rows = phase == c
        from_end[rows] = np.cumsum(valid[rows][::-1], axis=0)[::-1]
    return valid & (from_end <= endpoint_days)


def phase_table(values: np.ndarray, valid: np.ndarray, phase: np.ndarray, p: int,
                endpoint_days: int = ENDPOINT_DAYS, groups: np.ndarray | None = None) -> dict[str, list]:
    """Every item's n, mean, sd (n − 1) and endpoint_mean (last `endpoint_days` values) in every phase at once.

    `values` (days × items) in date order, `valid` marks the values that count, `phase` (days,)
    the phase index of each day. With `groups` (phases,), phases are pooled into groups (a role's
    periods): the numbers are over all the group's days, its endpoint over each of its phases' last
    days. Returns rows (phases, or groups) × k nested lists, None where a number is undefined.
    """
    last = endpoint_days_mask(valid, phase, p, endpoint_days)
    if groups is not None:
        phase, p = groups[phase], int(groups.max()) + 1 if len(groups) else 0
    W = np.eye(p)[phase].T  # p × days
    X = np.where(valid, values, 0.0)
    n = W @ valid
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (W @ X) / n
        dev = np.where(valid, values - mean[phase], 0.0)
        sd = np.sqrt((W @ (dev * dev)) / (n - 1))
        endpoint = (W @ np.where(last, values, 0.0)) / (W @ last)

    def clean(a: np.ndarray, ok: np.ndarray) -> list:
        return [[x if good else None for x, good in zip(row, oks)] for row, oks in zip(a.tolist(), ok.tolist())]

    return {"n": n.astype(int).tolist(), "mean": clean(mean, n > 0), "sd": clean(sd, n > 1),
            "endpoint_mean": clean(endpoint, n > 0)}


def reduction_pct(baseline_mean: float | None, value: float | None, better: str) -> float | None:
    """(baseline − value) / baseline × 100, sign flipped when higher is better: positive = better.

    The baseline's size (absolute value) is the denominator, so a negative-valued number item keeps
    "positive = better"; a zero baseline has no percentage change.
    """
    if baseline_mean is None or value is None or baseline_mean == 0:
        return None
    change = (baseline_mean - value) / abs(baseline_mean) * 100.0
    return (change if better == "lower" else -change) + 0.0  # + 0.0: no "-0.0" for the baseline


# vs_placebo_points is compared with the threshold after rounding to 6 decimals: the float rounding of
# an exact 30.0 (30 − 7e-15) still counts, and no difference a report could show (0.1) is affected.
RESPONDER_DECIMALS = 6


def is_responder(vs_placebo_points: float | None, responder_points: float) -> bool | None:
    """The paper's responder rule: active − placebo reduction ≥ responder_points percentage points."""
    if vs_placebo_points is None:
        return None
    return round(vs_placebo_points, RESPONDER_DECIMALS) >= responder_points


def _all(verdicts: Sequence[bool | None]) -> bool | None:
    """Every part holds: False if one fails, None if one is not known yet, else True."""
    return False if False in verdicts else None if None in verdicts else True


def rule_verdict(rule: ResponderRule, vs_placebo_points: Mapping[str, float | None]) -> RuleVerdict:
    """A multi-item responder rule (the 2013 trial's): every `all` part and, if given, one `any` part
    holds, each part being that item's `vs_placebo_points` ≥ its `points` (`is_responder`'s comparison)."""
    def parts(ps: Sequence[ItemPoints]) -> tuple:
        return tuple((p.item, p.points, vs_placebo_points.get(p.item),
                      is_responder(vs_placebo_points.get(p.item), p.points)) for p in ps)

    all_parts, any_parts = parts(rule.all), parts(rule.any)
    met_all = _all([met for *_, met in all_parts])
    met_any: bool | None = True
    if any_parts:
        met = [m for *_, m in any_parts]
        met_any = True if True in met else None if None in met else False
    return RuleVerdict(all_parts, any_parts, _all([met_all, met_any]))


def difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def tally_words(s: Tally) -> str:
    """One phase's tally of a non-numeric item (from `tally_answers`) in words, for the reports."""
    days = f"{s.n} day" + ("" if s.n == 1 else "s")  # never "1 days"
    if s.kind == "yesno":
        share = "—" if s.yes_share is None else f"{s.yes_share:.0%}"
        return f"yes on {s.yes} of {days} ({share})"
    if s.counts is not None:
        return ", ".join(f"{opt}: {c}" for opt, c in s.counts.items()) + f" (of {days})"
    return f"{days} with a note"


def tally_answers(kind: str, values: Sequence, options: Sequence[str] | None) -> Tally:
    """A summary of a non-numeric item's answers in one phase (None answers are not counted)."""
    given = [v for v in values if v is not None]
    if kind == "yesno":
        yes = sum(1 for v in given if v is True)
        return Tally(kind, len(given), yes=yes, yes_share=yes / len(given) if given else None)
    if kind == "choice":
        return Tally(kind, len(given), counts={o: sum(1 for v in given if v == o) for o in options or []})
    if kind == "multi":
        return Tally(kind, len(given), counts={o: sum(1 for v in given if o in v) for o in options or []},
                     days_with_any=sum(1 for v in given if v))
    if kind == "text":
        return Tally(kind, sum(1 for v in given if str(v).strip()))
    return Tally(kind, len(given))
