"""The coordinator's cohort report: the meta-analysis of the N-of-1 trials, the paper's table, covariates, mixed model.

Always unblinded. Pure: participants (protocol, day 1, entries) come in one at a time; no I/O, no
clock. Only the per-participant results are kept, never a participant's entries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import numpy as np

from diary_client.protocol import Item, Protocol

from . import meta as meta_analysis
from . import mixed
from .participant import ParticipantData
from .personal import ANALYSIS_VERSION, iter_reports, options_of
from .results import CohortItem, CohortPhase, CohortReport, Covariate, Effect, MetaAnalysis, MixedResult, PersonalReport

CAVEATS = (
    "The primary result is a random-effects meta-analysis of the participants' own model-based "
    "differences (active minus placebo, in the item's units): each participant counts once, with "
    "her own uncertainty, and the heterogeneity between participants (tau, I², the prediction "
    "interval for a new participant) is part of the answer.",
    "As in the paper: each comparison is a paired t-test of the participants' own percent "
    "reductions (active vs baseline: active reduction against 0; active vs placebo: vs_placebo_points "
    "against 0).",
    "The mixed model of the primary item (phase as fixed effect; a random intercept and a random drug "
    "effect per participant; Satterthwaite df) is a sensitivity analysis: it ignores day-to-day "
    "autocorrelation.",
    "Phases ran in a fixed order (single-blind crossover without randomised order): period and "
    "expectation effects cannot be told apart from the treatment.",
)


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
    if m is None or sd is None or sd == 0:
        return out
    se, df = sd / math.sqrt(len(xs)), len(xs) - 1
    hw = float(stdtrit(df, 0.975)) * se
    return out | {"p": float(2 * stdtr(df, -abs(m) / se)), "ci95": (m - hw, m + hw)}


def pearson(xs: Sequence[float], ys: Sequence[float], against: str) -> Covariate:
    """n, r, r² and the two-sided p-value of r (t with n − 2 df)."""
    from scipy.special import stdtr

    n = len(xs)
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    if n < 3 or x.std() == 0 or y.std() == 0:
        return Covariate(n, None, None, None, against)
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    p = 0.0 if abs(r) == 1 else float(2 * stdtr(n - 2, -abs(r) * math.sqrt((n - 2) / (1 - r * r))))
    return Covariate(n, r, r * r, p, against)


def cohort_report(participants: Iterable[ParticipantData], now: datetime,
                  covariates: dict[str, dict[str, float]] | None = None) -> CohortReport:
    """Every participant's unblinded report, then the meta-analysis, the cohort table, covariates and mixed models.

    `participants` may be an iterator (the hub yields one participant at a time): each one's
    entries are read once, into its own report, and are not kept; only the per-participant
    results are.
    """
    protocols: list[Protocol] = []
    people = ((p.protocol, p.start, p.entries, p.local(now), p.participant_id)
              for p in _one_study(iter(participants), protocols))
    reports = tuple(iter_reports(people, blinded=False, series=False))
    if not reports:
        raise ValueError("no participants to report on")
    protocol = protocols[0]
    roles = {r: protocol.first_phase(r) for r in ("baseline", "placebo", "active")}
    numeric = [item for item in protocol.items if item.numeric]
    cohort = {item.id: _cohort_item(item, protocol, reports, roles) for item in numeric}
    responder_ids = tuple(r.participant_id for r in reports if r.responder)
    primary = protocol.primary.id
    return CohortReport(
        study_id=protocol.id, as_of=now, participants=reports, cohort=cohort,
        responders=len(responder_ids), responder_ids=responder_ids,
        covariates=_covariates(reports, primary, covariates or {}),
        mixed_model={primary: _mixed(protocol.primary, protocol, reports, roles)},
        options=options_of(protocol), analysis_version=ANALYSIS_VERSION, caveats=CAVEATS,
    )


def _one_study(people: Iterator[ParticipantData], protocols: list[Protocol]) -> Iterator[ParticipantData]:
    """Each participant, checked to be in the first one's study, whose protocol goes to `protocols`."""
    for p in people:
        if not protocols:
            protocols.append(p.protocol)
        elif p.protocol.id != protocols[0].id:
            studies = ", ".join(sorted({protocols[0].id, p.protocol.id}))
            raise ValueError(f"participants from more than one study ({studies}): report one study at a time")
        yield p


def _cohort_item(item: Item, protocol: Protocol, reports: Sequence[PersonalReport], roles) -> CohortItem:
    item_id = item.id
    phases = {}
    for ph in protocol.phases:
        if not item.asked_in(ph.id):
            continue
        stats = [r.items[item_id].phases.get(ph.id) for r in reports]
        red = [s.reduction_pct for s in stats if s is not None and s.reduction_pct is not None]
        end = [s.endpoint_reduction_pct for s in stats if s is not None and s.endpoint_reduction_pct is not None]
        (m, sd), (em, esd) = _mean_sd(red), _mean_sd(end)
        means = [s.mean for s in stats if s is not None and s.mean is not None]
        phases[ph.id] = CohortPhase(len(red), m, sd, em, esd, _mean_sd(means)[0])
    active = roles["active"].id if roles["active"] else None
    act_red: list[float] = []
    if active:
        act = [r.items[item_id].phases.get(active) for r in reports]
        act_red = [s.reduction_pct for s in act if s is not None and s.reduction_pct is not None]
    vp: list[float] = [r.items[item_id].vs_placebo_points for r in reports  # type: ignore[misc]  # filtered just so
          if r.items[item_id].vs_placebo_points is not None]
    vs_base, vs_plac = one_sample_t(act_red), one_sample_t(vp)
    return CohortItem(item, phases, vs_plac["mean"], _mean_sd(vp)[1], vs_base["p"], vs_plac["p"], vs_base["n"],
                      vs_plac["n"], vs_base["ci95"], vs_plac["ci95"], _meta(item, reports, roles))


def _meta(item: Item, reports: Sequence[PersonalReport], roles) -> MetaAnalysis | None:
    """Random-effects meta-analysis of each participant's model difference active − placebo."""
    from scipy.special import stdtr

    ids, y, v, base = [], [], [], []
    bkey = roles["baseline"].id if roles["baseline"] else None
    for r in reports:
        rep = r.items[item.id]
        c = rep.active_vs_placebo
        if c is None or not math.isfinite(c.se) or c.se <= 0:
            continue
        ids.append(r.participant_id)
        y.append(c.diff)
        v.append(c.se * c.se)
        b = rep.model.phases.get(bkey) if rep.model is not None and bkey else None
        base.append(abs(b.value) if b is not None and b.value is not None else math.nan)
    m = meta_analysis.random_effects(np.array(y), np.array(v))
    if m is None:
        return None
    points = reports[0].responder_points
    # response: an improvement of at least responder_points % of her own (model) baseline mean
    sign = -1.0 if item.better == "lower" else 1.0
    threshold = sign * points / 100.0 * np.array(base)
    with np.errstate(invalid="ignore"):
        z = sign * (m.blup - threshold) / m.blup_se
    prob = stdtr(m.k - 1, z)
    return MetaAnalysis(
        k=m.k, effect=m.effect, ci95=m.ci95, p=m.p, tau=math.sqrt(m.tau2), i2=m.i2,
        prediction_interval=m.prediction_interval,
        shrunken=dict(zip(ids, m.blup.tolist())), shrunken_se=dict(zip(ids, m.blup_se.tolist())),
        prob_response={pid: float(p) for pid, p in zip(ids, prob) if math.isfinite(p)},
        method=meta_analysis.METHOD)


def _covariates(reports: Sequence[PersonalReport], primary: str, covariates: dict[str, dict[str, float]]) -> dict:
    points = {r.participant_id: r.items[primary].vs_placebo_points for r in reports}
    names = sorted({name for row in covariates.values() for name in row})
    out = {}
    for name in names:
        pairs = [(row[name], points[pid]) for pid, row in covariates.items()
                 if name in row and row[name] is not None and points.get(pid) is not None]
        out[name] = pearson([a for a, _ in pairs], [b for _, b in pairs if b is not None], f"{primary}.vs_placebo_points")
    return out


MIXED_MODEL = "value ~ phase + (1 + drug | participant), REML, Satterthwaite df"


def _mixed(item: Item, protocol: Protocol, reports: Sequence[PersonalReport], roles) -> MixedResult:
    """Daily values ~ phase (reference: baseline) + (1 + drug | participant), for one item."""
    keys = [ph.id for ph in protocol.phases if item.asked_in(ph.id)]
    m, P = len(reports), len(keys)
    counts, sums, squares = np.zeros((m, P)), np.zeros((m, P)), np.zeros(m)
    for i, r in enumerate(reports):
        for c, k in enumerate(keys):
            s = r.items[item.id].phases.get(k)
            if s is None or not s.n or s.mean is None:
                continue
            counts[i, c], sums[i, c] = s.n, s.n * s.mean
            squares[i] += (s.n - 1) * (s.sd or 0.0) ** 2 + s.n * s.mean * s.mean
    n_obs = int(counts.sum())
    has = counts.sum(axis=1) > 0
    counts, sums, squares = counts[has], sums[has], squares[has]
    present = [k for c, k in enumerate(keys) if counts[:, c].sum() > 0]
    ref: str | None = roles["baseline"].id if roles["baseline"] and roles["baseline"].id in present else (present or [None])[0]  # type: ignore[list-item]  # [None]: no phase present
    if ref is None or len(counts) < 3 or n_obs <= len(present) + 4:
        return MixedResult(MIXED_MODEL, ref, n_obs)
    cols = [keys.index(k) for k in present]
    counts, sums = counts[:, cols], sums[:, cols]
    others = [k for k in present if k != ref]
    A = np.column_stack([np.ones(len(present))] + [[float(k == o) for k in present] for o in others])
    act = roles["active"].id if roles["active"] else None
    drug = [float(k == act) for k in present]
    Zmap = np.column_stack([np.ones(len(present)), drug]) if act in others else np.ones((len(present), 1))
    fit = mixed.fit(mixed.PhaseSums(counts, sums, squares), A, Zmap)
    col = {k: i + 1 for i, k in enumerate(others)}

    def effect(c: np.ndarray) -> Effect:
        est, se, df, p, ci = fit.contrast(c)
        return Effect(est, se, df, p, ci)

    effects = {k: effect(np.eye(A.shape[1])[i]) for k, i in col.items()}
    plc = roles["placebo"].id if roles["placebo"] else None
    vs_placebo = None
    if act in col and plc in col:
        contrast = np.zeros(A.shape[1])
        contrast[col[act]], contrast[col[plc]] = 1.0, -1.0
        vs_placebo = effect(contrast)
    G = fit.G
    corr = float(G[0, 1] / math.sqrt(G[0, 0] * G[1, 1])) if G.shape[0] == 2 and G[0, 0] > 0 and G[1, 1] > 0 else None
    return MixedResult(MIXED_MODEL, ref, n_obs, fit.n_groups, effects, vs_placebo, math.sqrt(G[0, 0]),
                       math.sqrt(G[1, 1]) if G.shape[0] == 2 else None, corr, fit.sigma)
