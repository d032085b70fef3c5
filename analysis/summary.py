"""The paper's arithmetic: phase n, mean, SD, endpoint mean and percent reductions; non-numeric tallies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .results import Tally

ENDPOINT_DAYS = 3  # the endpoint is the mean of a phase's last 3 days with an entry


def phase_table(values: np.ndarray, valid: np.ndarray, phase: np.ndarray, p: int) -> dict[str, list]:
    """Every item's n, mean, sd (n − 1) and endpoint_mean (last 3 values) in every phase at once.

    `values` (days × items) in date order, `valid` marks the values that count, `phase` (days,)
    the phase index of each day. Returns p × k nested lists, None where a number is undefined.
    """
    W = np.eye(p)[phase].T  # p × days
    X = np.where(valid, values, 0.0)
    n = W @ valid
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (W @ X) / n
        dev = np.where(valid, values - mean[phase], 0.0)
        sd = np.sqrt((W @ (dev * dev)) / (n - 1))
        from_end = np.zeros(valid.shape)
        for c in range(p):  # rank of each valid value counted from the end of its phase
            rows = phase == c
            from_end[rows] = np.cumsum(valid[rows][::-1], axis=0)[::-1]
        last = valid & (from_end <= ENDPOINT_DAYS)
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
