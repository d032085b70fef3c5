"""The coordinator's cohort report: the paper's table across participants, paired tests, covariates, mixed model.

Always unblinded. Pure: participants' protocols, start dates and entries come in; no I/O, no clock.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from diary_client.protocol import Protocol

from .mixed import fit_random_intercept
from .participant import ParticipantData
from .personal import ANALYSIS_VERSION, PersonalReport, analyse_many

CAVEATS = (
    "Across participants, each comparison is a paired t-test of the participants' own percent "
    "reductions (active vs baseline: active reduction against 0; active vs placebo: vs_placebo_points "
    "against 0), so each participant counts once however autocorrelated her days are.",
    "The mixed model (phase as fixed effect, participant as random intercept) is a sensitivity "
    "analysis: it ignores day-to-day autocorrelation and differences between participants in the "
    "size of the effect, so its standard errors are optimistic.",
    "Phases ran in a fixed order (single-blind crossover without randomised order): period and "
    "expectation effects cannot be told apart from the treatment.",
)


@contextmanager
def _gc_paused():
    """Reports hold no reference cycles; with ~100,000 entries alive, each full collection costs ~1 s.

    On the way out, what was made meanwhile moves to the oldest generation unwalked (freeze then
    unfreeze: two list splices), instead of the next young collections walking ~200,000 new objects
    (~0.3 s). Skipped if the caller keeps frozen objects of its own, which unfreeze would release.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was:
            gc.enable()


def _mean_sd(xs: Sequence[float]) -> tuple[float | None, float | None]:
    if not xs:
        return None, None
    m = math.fsum(xs) / len(xs)
    sd = math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else None
    return m, sd


def one_sample_t(xs: Sequence[float]) -> dict:
    """Mean, p-value and 95% CI of the mean of `xs` against 0 (t distribution, n − 1 df)."""
    from scipy.special import stdtr, stdtrit

    m, sd = _mean_sd(xs)
    out = {"n": len(xs), "mean": m, "p": None, "ci95": None}
    if sd is None or sd == 0:
        return out
    se, df = sd / math.sqrt(len(xs)), len(xs) - 1
    hw = float(stdtrit(df, 0.975)) * se
    return out | {"p": float(2 * stdtr(df, -abs(m) / se)), "ci95": [m - hw, m + hw]}


def pearson(xs: Sequence[float], ys: Sequence[float]) -> dict:
    """n, r, r² and the two-sided p-value of r (t with n − 2 df)."""
    from scipy.special import stdtr

    n = len(xs)
    out = {"n": n, "r": None, "r2": None, "p": None}
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if n < 3 or x.std() == 0 or y.std() == 0:
        return out
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    p = 0.0 if abs(r) == 1 else float(2 * stdtr(n - 2, -abs(r) * math.sqrt((n - 2) / (1 - r * r))))
    return out | {"r": r, "r2": r * r, "p": p}


@dataclass
class CohortReport:
    study_id: str
    as_of: datetime
    participants: list[PersonalReport]
    cohort: dict[str, dict]
    responders: int
    responder_ids: list[str]
    covariates: dict[str, dict]
    mixed_model: dict[str, dict]
    analysis_version: str = ANALYSIS_VERSION
    caveats: tuple[str, ...] = CAVEATS

    def as_json(self) -> dict:
        with _gc_paused():  # ~100,000 new dicts: without the pause, collections would walk every entry alive
            return self._as_json()

    def _as_json(self) -> dict:
        return {
            "study_id": self.study_id, "participants": [p.as_json(caveats=False) for p in self.participants],
            "cohort": self.cohort, "responders": self.responders, "covariates": self.covariates,
            "mixed_model": self.mixed_model, "n_participants": len(self.participants),
            "responder_ids": self.responder_ids, "as_of": self.as_of.isoformat(),
            "analysis_version": self.analysis_version, "exploratory": True,
            "caveats": list(self.caveats),
        }


def cohort_report(participants: Iterable[ParticipantData], now: datetime,
                  covariates: dict[str, dict[str, float]] | None = None) -> CohortReport:
    """Every participant's unblinded report, then the cohort table, covariates and mixed models.

    `participants` may be an iterator (the hub yields one participant at a time): each one's
    entries are read once, into its own report, and are not kept; only the per-participant
    results are.
    """
    with _gc_paused():
        return _cohort_report(iter(participants), now, covariates or {})


def _one_study(people: Iterator[ParticipantData], protocols: list[Protocol]) -> Iterator[ParticipantData]:
    """Each participant, checked to be in the first one's study, whose protocol goes to `protocols`."""
    for p in people:
        if not protocols:
            protocols.append(p.protocol)
        elif p.protocol.id != protocols[0].id:
            studies = ", ".join(sorted({protocols[0].id, p.protocol.id}))
            raise ValueError(f"participants from more than one study ({studies}): report one study at a time")
        yield p


def _cohort_report(participants: Iterator[ParticipantData], now: datetime,
                   covariates: dict[str, dict[str, float]]) -> CohortReport:
    protocols: list[Protocol] = []
    reports = analyse_many(((p.protocol, p.start, p.entries, p.local(now), p.participant_id)
                            for p in _one_study(participants, protocols)), blinded=False)
    if not reports:
        raise ValueError("no participants to report on")
    protocol = protocols[0]
    roles = {r: protocol.first_phase(r) for r in ("baseline", "placebo", "active")}
    cohort = {item.id: _cohort_item(item.id, protocol, reports, roles) for item in protocol.items if item.numeric}
    responder_ids = [r.participant_id for r in reports if r.responder]
    primary = protocol.primary.id
    return CohortReport(
        study_id=protocol.id, as_of=now, participants=reports, cohort=cohort,
        responders=len(responder_ids), responder_ids=responder_ids,
        covariates=_covariates(reports, primary, covariates),
        mixed_model={item_id: _mixed(item_id, protocol, reports, roles) for item_id in cohort},
    )


def _cohort_item(item_id: str, protocol: Protocol, reports: list[PersonalReport], roles) -> dict:
    phases = {}
    for ph in protocol.phases:
        if not protocol.item(item_id).asked_in(ph.id):
            continue
        stats = [r.items[item_id].phases.get(ph.id, {}) for r in reports]
        red = [s["reduction_pct"] for s in stats if s.get("reduction_pct") is not None]
        end = [s["endpoint_reduction_pct"] for s in stats if s.get("endpoint_reduction_pct") is not None]
        (m, sd), (em, esd) = _mean_sd(red), _mean_sd(end)
        means = [s["mean"] for s in stats if s.get("mean") is not None]
        phases[ph.id] = {"n": len(red), "mean_reduction_pct": m, "sd_reduction_pct": sd,
                         "mean_endpoint_reduction_pct": em, "sd_endpoint_reduction_pct": esd,
                         "mean_of_means": _mean_sd(means)[0]}
    active = roles["active"].id if roles["active"] else None
    act_red = [r.items[item_id].phases.get(active, {}).get("reduction_pct") for r in reports] if active else []
    vs_base = one_sample_t([x for x in act_red if x is not None])
    vs_plac = one_sample_t([r.items[item_id].vs_placebo_points for r in reports
                            if r.items[item_id].vs_placebo_points is not None])
    return {"phases": phases, "vs_placebo_points_mean": vs_plac["mean"],
            "p_active_vs_baseline": vs_base["p"], "p_active_vs_placebo": vs_plac["p"],
            "n_active_vs_baseline": vs_base["n"], "n_active_vs_placebo": vs_plac["n"],
            "ci95_active_reduction_pct": vs_base["ci95"], "ci95_vs_placebo_points": vs_plac["ci95"],
            "vs_placebo_points_sd": _mean_sd([r.items[item_id].vs_placebo_points for r in reports
                                              if r.items[item_id].vs_placebo_points is not None])[1]}


def _covariates(reports: list[PersonalReport], primary: str, covariates: dict[str, dict[str, float]]) -> dict:
    points = {r.participant_id: r.items[primary].vs_placebo_points for r in reports}
    names = sorted({name for row in covariates.values() for name in row})
    out = {}
    for name in names:
        pairs = [(row[name], points[pid]) for pid, row in covariates.items()
                 if name in row and row[name] is not None and points.get(pid) is not None]
        out[name] = pearson([a for a, _ in pairs], [b for _, b in pairs]) | {"against": f"{primary}.vs_placebo_points"}
    return out


def _mixed(item_id: str, protocol: Protocol, reports: list[PersonalReport], roles) -> dict:
    """Daily values ~ phase (reference: baseline) + (1 | participant), for one item."""
    reps = [r.items[item_id] for r in reports]
    keys = [ph.key for ph in reports[0].phases]
    ys = np.concatenate([np.asarray(rep.values, dtype=float) for rep in reps])
    ph_idx = np.concatenate([rep.value_phase_index for rep in reps])
    grp = np.repeat(np.arange(len(reps)), [len(rep.values) for rep in reps])
    present = [k for c, k in enumerate(keys) if (ph_idx == c).any()]
    ref = roles["baseline"].id if roles["baseline"] and roles["baseline"].id in present else (present or [None])[0]
    out = {"model": "value ~ phase + (1 | participant), REML", "reference": ref, "n_obs": int(len(ys))}
    _, codes = np.unique(grp, return_inverse=True)
    if ref is None or len(ys) == 0 or codes.max() < 1 or len(ys) <= len(present) + 2:
        return out | {"n_groups": 0, "effects": {}, "active_vs_placebo": None}
    others = [p for p in present if p != ref]
    X = np.column_stack([np.ones(len(ys))] + [(ph_idx == keys.index(p)).astype(float) for p in others])
    fit = fit_random_intercept(ys, X, codes)
    col = {p: i + 1 for i, p in enumerate(others)}
    effects = {}
    for p, i in col.items():
        c = np.zeros(X.shape[1])
        c[i] = 1.0
        effects[p] = fit.contrast(c)
    act, plc = (roles[r].id if roles[r] else None for r in ("active", "placebo"))
    vs_placebo = None
    if act in col and plc in col:
        c = np.zeros(X.shape[1])
        c[col[act]], c[col[plc]] = 1.0, -1.0
        vs_placebo = fit.contrast(c)
    return out | {"n_groups": fit.n_groups, "effects": effects, "active_vs_placebo": vs_placebo,
                  "participant_sd": math.sqrt(fit.tau2), "residual_sd": math.sqrt(fit.sigma2)}
