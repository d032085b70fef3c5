"""Multiplicity: Holm's step-down adjustment of the secondary items' p-values (Holm 1979)."""

from __future__ import annotations

from collections.abc import Mapping


def holm(p: Mapping[str, float]) -> dict[str, float]:
    """Holm-adjusted p-values, key by key: the k-th smallest of m gets max over j ≤ k of min(1, (m − j + 1)·p_(j))."""
    order = sorted(p, key=lambda k: p[k])
    m, running, out = len(order), 0.0, {}
    for j, key in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[key]))
        out[key] = running
    return out


def adjust(p: Mapping[str, float | None], primary: str | None, method: str) -> dict[str, float | None]:
    """Every item's adjusted p: the primary (confirmatory) item keeps its own; the others are
    adjusted across the secondary items that have a p-value (`method` "holm"), or not ("none")."""
    if method == "none":
        return dict(p)
    if method != "holm":
        raise ValueError(f"unknown multiplicity method {method!r} (holm or none)")
    secondary = {k: v for k, v in p.items() if k != primary and v is not None}
    adjusted = holm(secondary)
    return {k: (v if k == primary or v is None else adjusted[k]) for k, v in p.items()}
