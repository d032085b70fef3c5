"""The coordinator's cohort report: the meta-analysis of the N-of-1 trials, the paper's table, covariates, mixed model.

Always unblinded. Pure: participants (protocol, day 1, entries) come in one at a time; no I/O, no
clock. A participant's entries are never kept; the cohort-wide numbers are made from a row of
floats per participant (`CohortColumns`), so `CohortStream` can hand each report on and drop it,
and only `cohort_report` (for the HTML page and in-process callers) keeps every report.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain

import numpy as np
from msgspec.structs import replace

from analysis import meta as meta_analysis
from analysis import mixed
from analysis.conduct import Conduct
from analysis.crossover import Crossover, crossover
from analysis.participant import ParticipantData
from analysis.personal import ANALYSIS_VERSION, iter_reports, options_of
from analysis.randomization import design_phases
from analysis.results import (
    CohortItem,
    CohortPhase,
    CohortReport,
    CohortSummary,
    Covariate,
    Effect,
    MetaAnalysis,
    MixedResult,
    PersonalReport,
    cohort_json_text,
)
from diary_client.core.protocol import ROLES, Allocation, Item, Phase, Protocol

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
RANDOMIZED = ("Randomized design: each participant's periods ran in the order allocated to her; the columns are "
              "roles, each participant's periods of a role pooled (the paper's arithmetic over their days, the "
              "model's mean of their period means).")


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
                  covariates: dict[str, dict[str, float]] | None = None, daily: bool = False) -> CohortReport:
    """Every participant's unblinded report, then the meta-analysis, the cohort table, covariates and mixed models.

    `participants` may be an iterator (the hub yields one participant at a time): each one's
    entries are read once, into its own report, and are not kept. The reports are all kept here;
    `CohortStream` hands each one on instead, keeping only the numbers the cohort needs.
    `daily`: the reports keep their daily values (`ItemResult.series`, what a chart draws).
    """
    stream = CohortStream(participants, now, covariates, daily=daily)
    reports = tuple(stream.reports())
    return CohortReport.of(stream.summary(), reports)


class CohortStream:
    """The cohort report as participants arrive: `reports()` hands each one's unblinded report on
    once, keeping of it only what the cohort-wide results are made from (`CohortColumns`);
    `summary()` then gives those results, and `json_text()` is the whole JSON document made so.
    `on_report`, if given, sees each report too as it passes (the HTML page keeps its row of it);
    with `daily` the reports carry their daily values (`ItemResult.series`: the page's dots), which
    the cohort's numbers and the JSON never use. What it keeps grows by ≈ 2 KB per participant
    (her columns and id), not by her report (≈ 45 KB)."""

    def __init__(self, participants: Iterable[ParticipantData], now: datetime,
                 covariates: dict[str, dict[str, float]] | None = None,
                 on_report: Callable[[PersonalReport], object] | None = None, daily: bool = False):
        self._participants = participants
        self._on_report = on_report
        self._daily = daily
        self._now = now
        self._covariates = covariates or {}
        self._protocols: list[Protocol] = []
        self._columns: CohortColumns | None = None
        self._conduct: Conduct | None = None
        self._started = self._read = False

    def reports(self) -> Iterator[PersonalReport]:
        """Each participant's unblinded report, once (the participants are read once)."""
        if self._started:
            raise RuntimeError("a cohort stream's reports can be read once")
        self._started = True
        now = self._now
        people = ((p.protocol, p.start, p.entries, p.local(now), p.participant_id, p.sequence)
                  for p in self._counted(_one_study(iter(self._participants), self._protocols)))
        for r in iter_reports(people, blinded=False, series=self._daily):
            if self._columns is None:
                self._columns = CohortColumns(self._protocols[0], r.responder_points)
            self._columns.add(r)
            if self._on_report is not None:
                self._on_report(r)
            yield r
        self._read = True

    def _counted(self, people: Iterator[ParticipantData]) -> Iterator[ParticipantData]:
        """Each participant, counted into the trial's conduct (blinding, harms, flow) as she passes."""
        for p in people:
            if self._conduct is None:
                self._conduct = Conduct(p.protocol)
            self._conduct.add(p, p.local(self._now))
            yield p

    @property
    def protocol(self) -> Protocol:
        """The study's protocol (the first participant's), once a report has been read."""
        if not self._protocols:
            raise ValueError("no participants to report on")
        return self._protocols[0]

    def summary(self) -> CohortSummary:
        """The cohort-wide results, once `reports()` has been read to its end."""
        if not self._read:
            raise RuntimeError("the cohort summary needs every participant's report read first")
        if self._columns is None or self._conduct is None:
            raise ValueError("no participants to report on")
        return _summary(self._columns, self._protocols[0], self._now, self._covariates, self._conduct)

    def json_text(self) -> Iterator[str]:
        """The cohort report's JSON document in pieces, each participant's written as soon as it is made."""
        reports = self.reports()
        first = next(reports, None)
        if first is None:
            raise ValueError("no participants to report on")
        yield from cohort_json_text(first.study_id, chain([first], reports), self.summary)


def _one_study(people: Iterator[ParticipantData], protocols: list[Protocol]) -> Iterator[ParticipantData]:
    """Each participant, checked to be in the first one's study, whose protocol goes to `protocols`."""
    for p in people:
        if not protocols:
            protocols.append(p.protocol)
        elif p.protocol.id != protocols[0].id:
            studies = ", ".join(sorted({protocols[0].id, p.protocol.id}))
            raise ValueError(f"participants from more than one study ({studies}): report one study at a time")
        yield p


PHASE_FIELDS = ("n", "mean", "sd", "reduction_pct", "endpoint_reduction_pct")  # per numeric item and phase
ITEM_FIELDS = ("vs_placebo_points", "diff", "se", "baseline")  # per numeric item: the paper's vs placebo; the
# model's active − placebo difference and its SE; the model's baseline mean


class CohortColumns:
    """What the cohort-wide results are made from, per participant: a row of floats for every
    numeric item and phase of the first participant's protocol, plus ids and responders. A report's
    numbers are finite or None, so NaN here means none.

    ≈ 1.7 KB a participant in one growing array, where her report is ≈ 45 KB of Python objects:
    the cohort keeps these, and a stream need not keep the reports.
    """

    def __init__(self, protocol: Protocol, responder_points: float):
        self.responder_points = responder_points  # the first report's, as the meta-analysis' response
        self.items = [item.id for item in protocol.items if item.numeric]
        view = cohort_view(protocol)
        self.phases = [ph.id for ph in view.phases]
        # a randomized design's columns are roles: each participant's role numbers, not her periods'
        self.roles = {ph.id: ph.role for ph in view.phases} if protocol.allocation.randomized else None
        self._per_item = len(self.phases) * len(PHASE_FIELDS) + len(ITEM_FIELDS)
        baseline = view.first_phase("baseline")
        self._baseline = None if baseline is None else baseline.id
        self._values = array("d")  # len(ids) rows of len(items) × _per_item
        self.ids: list[str] = []
        self.responder_ids: list[str] = []
        self.not_known = 0  # participants whose verdict is None (no drug or placebo days yet)
        self.active_first: list[bool | None] = []  # her first treatment period is the drug's (randomized designs)
        self.sequences: list[tuple[str, ...] | None] = []

    def add(self, r: PersonalReport) -> None:
        nan = math.nan
        row: list[float] = []
        role = self.roles
        for item_id in self.items:
            res = r.items.get(item_id)
            phases = {} if res is None else (res.phases if role is None else res.roles or {})
            for ph in self.phases:
                s = phases.get(ph if role is None else role[ph])
                row += ((nan,) * len(PHASE_FIELDS) if s is None else
                        (s.n, nan if s.mean is None else s.mean, nan if s.sd is None else s.sd,
                         nan if s.reduction_pct is None else s.reduction_pct,
                         nan if s.endpoint_reduction_pct is None else s.endpoint_reduction_pct))
            c = None if res is None else res.active_vs_placebo
            b = (None if res is None or res.model is None or self._baseline is None
                 else res.model.phases.get(self._baseline) if role is None
                 else (res.model.roles or {}).get("baseline"))
            row += (nan if res is None or res.vs_placebo_points is None else res.vs_placebo_points,
                    nan if c is None else c.diff, nan if c is None else c.se,
                    nan if b is None or b.value is None else b.value)
        self._values.extend(row)
        self.ids.append(r.participant_id)
        first = next((p.role for p in r.phases if p.role in ("active", "placebo")), None)
        self.active_first.append(None if first is None or role is None else first == "active")
        self.sequences.append(r.sequence)
        if r.responder:
            self.responder_ids.append(r.participant_id)
        elif r.responder is None:
            self.not_known += 1

    def phase(self, item_id: str, phase_id: str, name: str) -> np.ndarray:
        """One number of an item in a phase, per participant (NaN: none)."""
        return self._column(item_id, self.phases.index(phase_id) * len(PHASE_FIELDS) + PHASE_FIELDS.index(name))

    def item(self, item_id: str, name: str) -> np.ndarray:
        """One number of an item, per participant (NaN: none)."""
        return self._column(item_id, len(self.phases) * len(PHASE_FIELDS) + ITEM_FIELDS.index(name))

    def _column(self, item_id: str, offset: int) -> np.ndarray:
        table = np.frombuffer(self._values, dtype=float).reshape(len(self.ids), len(self.items) * self._per_item)
        return table[:, self.items.index(item_id) * self._per_item + offset]


def _given(values: np.ndarray) -> list[float]:
    """The numbers that are there (not NaN), as floats, in participant order."""
    return values[~np.isnan(values)].tolist()


def cohort_view(protocol: Protocol) -> Protocol:
    """The study as the cohort's tables see it: a fixed design's phases, or a randomized design's roles
    (each participant's periods of a role pooled), one column each in ROLES order, named by the
    design's phase when only one phase has the role (`ldn`), else by the role."""
    if not protocol.allocation.randomized:
        return protocol
    phases = list(design_phases(protocol).values())
    columns: list[Phase] = []
    of_period: dict[str, str] = {}
    for role in ROLES:
        same = [p for p in phases if p.role == role]
        if not same:
            continue
        one = same[0] if len(same) == 1 else None
        column = Phase(id=one.base if one else role, role=role, days=sum(p.days for p in same),
                       label=one.label if one else role.capitalize())
        columns.append(column)
        of_period |= {p.id: column.id for p in protocol.phases if p.role == role}
    items = [replace(i, phases=list(dict.fromkeys(of_period[ph] for ph in i.phases))) if i.phases else i
             for i in protocol.items]
    return replace(protocol, allocation=Allocation(), phases=columns, items=items)


def _summary(columns: CohortColumns, design: Protocol, now: datetime,
             covariates: dict[str, dict[str, float]], conduct: Conduct) -> CohortSummary:
    protocol = cohort_view(design)
    roles = {r: protocol.first_phase(r) for r in ("baseline", "placebo", "active")}
    numeric = [item for item in protocol.items if item.numeric]
    cohort = {item.id: _cohort_item(item, protocol, columns, roles) for item in numeric}
    primary = protocol.primary.id
    return CohortSummary(
        study_id=protocol.id, as_of=now, participant_ids=tuple(columns.ids), cohort=cohort,
        responders=len(columns.responder_ids), responder_ids=tuple(columns.responder_ids),
        covariates=_covariates(columns, primary, covariates),
        mixed_model={primary: _mixed(protocol.primary, protocol, columns, roles)},
        options=options_of(protocol), analysis_version=ANALYSIS_VERSION,
        caveats=CAVEATS[:-1] + (RANDOMIZED,) if design.allocation.randomized else CAVEATS,
        phases=tuple(protocol.phases),
        responders_not_known=columns.not_known,
        blinding=conduct.blinding(), harms=conduct.harms(), harms_by_period=conduct.harms_by_period(),
        flow=conduct.flow(analysed=cohort[primary].n_active_vs_placebo),
        design=design.allocation.method,
        crossover=_crossover(columns, protocol.primary.id) if _two_period(design) else None,
        balance=_balance(columns, design),
    )


def _two_period(design: Protocol) -> bool:
    """A counterbalanced design whose every sequence holds one drug period and one placebo period."""
    if design.allocation.method != "counterbalanced":
        return False
    roles = {ph.base: ph.role for ph in design.phases}
    return all(sorted(r for ph in seq if (r := roles.get(ph)) in ("active", "placebo")) == ["active", "placebo"]
               for seq in design.allocation.sequences or [])


def _balance(columns: CohortColumns, design: Protocol) -> dict[str, int] | None:
    """How many of the reported participants follow each sequence (randomized designs)."""
    if not design.allocation.randomized:
        return None
    from diary_client.core.design import balance

    return balance([s for s in columns.sequences if s is not None], design)


def _crossover(columns: CohortColumns, primary: str) -> Crossover | None:
    """The two-period crossover analysis of the primary item, from the participants with drug and placebo means."""
    key = {role: ph for ph, role in (columns.roles or {}).items()}
    if "active" not in key or "placebo" not in key:
        return None
    active = columns.phase(primary, key["active"], "mean").tolist()
    placebo = columns.phase(primary, key["placebo"], "mean").tolist()
    rows = [(a, p, first) for a, p, first in zip(active, placebo, columns.active_first)
            if first is not None and not math.isnan(a) and not math.isnan(p)]
    return crossover(primary, [a for a, _, _ in rows], [p for _, p, _ in rows], [f for _, _, f in rows])


def _cohort_item(item: Item, protocol: Protocol, columns: CohortColumns, roles) -> CohortItem:
    item_id = item.id
    phases = {}
    for ph in protocol.phases:
        if not item.asked_in(ph.id):
            continue
        red = _given(columns.phase(item_id, ph.id, "reduction_pct"))
        end = _given(columns.phase(item_id, ph.id, "endpoint_reduction_pct"))
        (m, sd), (em, esd) = _mean_sd(red), _mean_sd(end)
        means = _given(columns.phase(item_id, ph.id, "mean"))
        phases[ph.id] = CohortPhase(len(red), m, sd, em, esd, _mean_sd(means)[0])
    active = roles["active"].id if roles["active"] else None
    act_red = _given(columns.phase(item_id, active, "reduction_pct")) if active else []
    vp = _given(columns.item(item_id, "vs_placebo_points"))
    vs_base, vs_plac = one_sample_t(act_red), one_sample_t(vp)
    return CohortItem(item, phases, vs_plac["mean"], _mean_sd(vp)[1], vs_base["p"], vs_plac["p"], vs_base["n"],
                      vs_plac["n"], vs_base["ci95"], vs_plac["ci95"], _meta(item, columns))


def _meta(item: Item, columns: CohortColumns) -> MetaAnalysis | None:
    """Random-effects meta-analysis of each participant's model difference active − placebo."""
    from scipy.special import stdtr

    diff, se = columns.item(item.id, "diff"), columns.item(item.id, "se")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(se) & (se > 0)
    ids = [columns.ids[i] for i in np.flatnonzero(ok).tolist()]
    y, v, base = diff[ok], se[ok] * se[ok], np.abs(columns.item(item.id, "baseline")[ok])
    m = meta_analysis.random_effects(y, v)
    if m is None:
        return None
    points = columns.responder_points
    # response: an improvement of at least responder_points % of her own (model) baseline mean
    sign = -1.0 if item.better == "lower" else 1.0
    threshold = sign * points / 100.0 * base
    with np.errstate(invalid="ignore"):
        z = sign * (m.blup - threshold) / m.blup_se
    prob = stdtr(m.k - 1, z)
    return MetaAnalysis(
        k=m.k, effect=m.effect, ci95=m.ci95, p=m.p, tau=math.sqrt(m.tau2), i2=m.i2,
        prediction_interval=m.prediction_interval,
        shrunken=dict(zip(ids, m.blup.tolist())), shrunken_se=dict(zip(ids, m.blup_se.tolist())),
        prob_response={pid: float(p) for pid, p in zip(ids, prob) if math.isfinite(p)},
        method=meta_analysis.METHOD)


def _covariates(columns: CohortColumns, primary: str, covariates: dict[str, dict[str, float]]) -> dict:
    points = {pid: None if math.isnan(x) else x
              for pid, x in zip(columns.ids, columns.item(primary, "vs_placebo_points").tolist())}
    names = sorted({name for row in covariates.values() for name in row})
    out = {}
    for name in names:
        pairs = [(row[name], points[pid]) for pid, row in covariates.items()
                 if name in row and row[name] is not None and points.get(pid) is not None]
        out[name] = pearson([a for a, _ in pairs], [b for _, b in pairs if b is not None], f"{primary}.vs_placebo_points")
    return out


MIXED_MODEL = "value ~ phase + (1 + drug | participant), REML, Satterthwaite df"


def _mixed(item: Item, protocol: Protocol, columns: CohortColumns, roles) -> MixedResult:
    """Daily values ~ phase (reference: baseline) + (1 + drug | participant), for one item."""
    keys = [ph.id for ph in protocol.phases if item.asked_in(ph.id)]
    m, P = len(columns.ids), len(keys)
    counts, sums, squares = np.zeros((m, P)), np.zeros((m, P)), np.zeros(m)
    for c, k in enumerate(keys):
        rows = zip(columns.phase(item.id, k, "n").tolist(), columns.phase(item.id, k, "mean").tolist(),
                   columns.phase(item.id, k, "sd").tolist())
        for i, (n, mean, sd) in enumerate(rows):
            if math.isnan(n) or not n or math.isnan(mean):
                continue
            counts[i, c], sums[i, c] = n, n * mean
            squares[i] += (n - 1) * (0.0 if math.isnan(sd) else sd) ** 2 + n * mean * mean
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
    scale = math.sqrt(G[0, 0]) * math.sqrt(G[1, 1]) if G.shape[0] == 2 else 0.0  # two roots: no underflow to 0
    corr = float(G[0, 1] / scale) if scale > 0 else None
    return MixedResult(MIXED_MODEL, ref, n_obs, fit.n_groups, effects, vs_placebo, math.sqrt(G[0, 0]),
                       math.sqrt(G[1, 1]) if G.shape[0] == 2 else None, corr, fit.sigma)
