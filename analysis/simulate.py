"""Simulated participants: AR(1) daily noise around phase means, for the demo, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date

import numpy as np

from diary_client.core.protocol import Item, Protocol
from diary_client.core.schedule import phase_spans


def ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) series with marginal standard deviation `sd`."""
    e = rng.normal(0.0, sd * np.sqrt(1 - phi**2), n)
    x = np.empty(n)
    x[0] = rng.normal(0.0, sd)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


@dataclass
class Profile:
    """How a simulated participant's scores behave."""

    baseline: float = 60.0  # mean of a lower-is-better VAS item at baseline
    phi: float = 0.6
    sd: float = 10.0
    # fractional improvement of each phase role against baseline (0.325 = 32.5% lower)
    effects: dict[str, float] = field(default_factory=lambda: {"placebo": 0.023, "active": 0.325, "washout": 0.1})
    missing: float = 0.0  # chance that a day has no report
    clip: bool = True  # keep VAS values inside 0-100 (and round them)


def _other_value(item: Item, rng: np.random.Generator):
    match item.kind:
        case "yesno":
            return bool(rng.random() < 0.9)
        case "choice":
            return str(rng.choice(item.options or []))
        case "multi":
            return [o for o in item.options or [] if rng.random() < 0.08]
        case "number":
            lo, hi = item.min if item.min is not None else 0, item.max if item.max is not None else 10
            return float(round(rng.uniform(lo, hi), 1))
        case _:
            return None


def simulate(protocol: Protocol, start: date, rng: np.random.Generator, profile: Profile | None = None,
             items: list[str] | None = None) -> dict[date, dict]:
    """Answers per diary date for a whole study (days drawn as missing are left out)."""
    p = profile or Profile()
    spans = phase_spans(protocol, start)
    n = protocol.days_total
    role_effect = np.concatenate([np.full(s.phase.days, p.effects.get(s.phase.role, 0.0)) for s in spans])
    phase_of = np.concatenate([np.full(s.phase.days, i) for i, s in enumerate(spans)])
    chosen = [i for i in protocol.items if items is None or i.id in items]
    series = {}
    for item in chosen:
        if not item.numeric:
            continue
        # An improvement of e is e x baseline lower for lower-is-better items, higher otherwise.
        if item.better == "lower":
            mean = p.baseline * (1 - role_effect)
        else:
            mean = (100 - p.baseline) * (1 + role_effect)
        x = mean + ar1(rng, n, p.phi, p.sd)
        series[item.id] = np.clip(np.rint(x), 0, 100).astype(int) if p.clip and item.kind == "vas" else x
    out: dict[date, dict] = {}
    dates = [d for s in spans for d in s.dates()]
    for k, d in enumerate(dates):
        if p.missing and rng.random() < p.missing:
            continue
        phase_id = spans[phase_of[k]].phase.id
        answers = {}
        for item in chosen:
            if not item.asked_in(phase_id):
                continue
            if item.id in series:
                v = series[item.id][k]
                answers[item.id] = int(v) if item.kind == "vas" else float(v)
            else:
                v = _other_value(item, rng)
                if v is not None or item.optional:
                    answers[item.id] = v
        out[d] = answers
    return out


def as_entries(protocol: Protocol, start: date, days: dict[date, dict], participant_id: str,
               device_id: str = "sim-device") -> list:
    """Simulated answers as the Entries a device would have filed at 19:00 UTC on each day."""
    from datetime import datetime, time

    from diary_client.core.entry import Entry, new_id

    return [
        Entry(id=new_id(), participant_id=participant_id, study_id=protocol.id,
              protocol_version=protocol.version, diary_date=d, study_day=(d - start).days + 1,
              answers=answers, submitted_at=datetime.combine(d, time(19, 0), UTC),
              timing="on_time", source="app", device_id=device_id, seq=k)
        for k, (d, answers) in enumerate(sorted(days.items()))
    ]
