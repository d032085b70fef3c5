"""One participant's phase report: the paper's numbers per item and phase, AR(1) inference, blinding.

Pure: protocol, start date, entries and `now` come in; nothing reads a clock or a file. Importing
this module costs numpy only (scipy is loaded when a p-value is first computed).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from diary_client.entry import Entry, filed_timing, latest
from diary_client.protocol import Item, Protocol
from diary_client.schedule import PhaseSpan, phase_spans, tally_by_phase

from .stats import Fit, ar1_fits
from .summary import difference, phase_table, reduction_pct, tally_answers

# Bump when any reported number could change for the same data, so old reports stay explainable.
ANALYSIS_VERSION = "1.0"
MIN_RESIDUAL_DF = 3  # fewer days than phase means + 3: no model, no p-values
COMPARISONS = {"active_vs_baseline": "baseline", "active_vs_placebo": "placebo"}
CAVEATS = (
    "Exploratory: one participant, phases in a fixed order, so a difference between phases can come "
    "from time, season or expectation as well as from the treatment; it is not proof of cause.",
    "Daily values are autocorrelated: p-values and 95% CIs come from a model of phase means with "
    "AR(1) errors (REML), with degrees of freedom from the effective number of days, not from a "
    "t-test that treats days as independent.",
    "Percent reductions are against the whole baseline mean; endpoint values use a phase's last 3 "
    "days with an entry. Only the latest correction of a day counts; missing days are left out.",
)


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class PhaseRow:
    key: str  # the phase id; while blinded, the label the participant sees
    label: str
    role: str | None  # None while blinded
    start: date
    end: date
    first_day: int
    last_day: int
    expected: int
    n: int
    compliance: float | None

    def as_json(self) -> dict:
        return {"id": self.key, "label": self.label, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "expected": self.expected, "n": self.n,
                "compliance": self.compliance, "first_day": self.first_day, "last_day": self.last_day}


@dataclass(frozen=True)
class Comparison:
    diff: float  # active mean − comparator mean (model estimate), in the item's units
    se: float
    p: float | None
    ci95: tuple[float, float] | None


@dataclass
class ItemReport:
    item: Item
    phases: dict[str, dict]  # phase key -> the contract's numbers (+ effective_n, mean_ci95)
    vs_placebo_points: float | None = None
    comparisons: dict[str, Comparison | None] = field(default_factory=dict)
    autocorrelation: float | None = None
    effective_n: float | None = None
    days: list[int] = field(default_factory=list)  # study day of each value, for charts
    values: list[float] = field(default_factory=list)
    value_phase_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # phase of each value
    fit: Fit | None = None  # the batched model this item's numbers come from
    fit_index: int = 0  # its series in that fit
    fit_cols: dict[str, int] = field(default_factory=dict)  # phase key -> model column

    def as_json(self) -> dict:
        out = {"kind": self.item.kind, "better": self.item.better, "primary": self.item.primary,
               "phases": self.phases, "vs_placebo_points": _num(self.vs_placebo_points)}
        for name in COMPARISONS:
            c = self.comparisons.get(name)
            out[f"p_{name}"] = None if c is None else _num(c.p)
            out[f"ci95_{name}"] = None if c is None or c.ci95 is None else [_num(v) for v in c.ci95]
            out[f"diff_{name}"] = None if c is None else _num(c.diff)
        out["autocorrelation"] = _num(self.autocorrelation)
        out["effective_n"] = _num(self.effective_n)
        return out


@dataclass
class PersonalReport:
    participant_id: str
    study_id: str
    blinded: bool
    as_of: datetime
    phases: list[PhaseRow]
    items: dict[str, ItemReport]  # numeric items
    other_items: dict[str, dict]  # yes/no, choice, multi, text: tallies per phase
    responder: bool | None
    responder_points: float
    data_hash: str
    analysis_version: str = ANALYSIS_VERSION
    caveats: tuple[str, ...] = CAVEATS

    def as_json(self, caveats: bool = True) -> dict:
        """The `diary report --json` contract (+ provenance); the cohort leaves out the repeated caveats."""
        return {
            "participant_id": self.participant_id, "study_id": self.study_id, "blinded": self.blinded,
            "phases": [p.as_json() for p in self.phases],
            "items": {k: v.as_json() for k, v in self.items.items()},
            "responder": self.responder,
            "other_items": self.other_items, "responder_points": self.responder_points,
            "as_of": self.as_of.isoformat(), "analysis_version": self.analysis_version,
            "data_hash": self.data_hash, "exploratory": True,
        } | ({"caveats": list(self.caveats)} if caveats else {})


_PROTOCOL_JSON: dict[int, tuple[Protocol, str]] = {}  # a cohort shares one protocol object


def _canonical(doc) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def data_hash(protocol: Protocol, start: date, days: dict[date, Entry]) -> str:
    """SHA-256 of what the numbers are computed from: protocol, start date and each day's answers."""
    cached = _PROTOCOL_JSON.get(id(protocol))
    if cached is None or cached[0] is not protocol:
        cached = _PROTOCOL_JSON[id(protocol)] = (protocol, _canonical(protocol.model_dump(mode="json")))
        if len(_PROTOCOL_JSON) > 64:
            _PROTOCOL_JSON.pop(next(iter(_PROTOCOL_JSON)))
    text = '{"days":%s,"protocol":%s,"start":"%s"}' % (
        _canonical([[d.isoformat(), e.answers] for d, e in sorted(days.items())]), cached[1], start.isoformat())
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _keys(spans: list[PhaseSpan], blinded: bool) -> dict[str, str]:
    """Phase id -> the key reports use: the id, or while blinded the participant label (made unique)."""
    out: dict[str, str] = {}
    for s in spans:
        key = s.phase.id if not blinded else (s.phase.participant_label or s.phase.id)
        base, n = key, 2
        while key in out.values():
            key, n = f"{base} ({n})", n + 1
        out[s.phase.id] = key
    return out


def analyse(protocol: Protocol, start: date, entries: list[Entry], now: datetime,
            participant_id: str, blinded: bool) -> PersonalReport:
    """The participant's phase report; while `blinded`, phase ids and every comparison are withheld."""
    return analyse_many([(protocol, start, entries, now, participant_id)], blinded)[0]


def analyse_many(people: Iterable[tuple], blinded: bool) -> list[PersonalReport]:
    """`analyse` of each (protocol, start, entries, now, participant_id); the AR(1) fits of all share batched calls.

    `people` may be an iterator: each one's entries are dropped once its draft is made."""
    drafts = [_draft(*person, blinded) for person in people]
    jobs = [job for d in drafts for job in d.jobs]
    fits = iter(ar1_fits([job.args for job in jobs]))
    for d in drafts:
        for job in d.jobs:
            _use_fit(list(d.report.items.values()), job, next(fits))
    return [d.finish() for d in drafts]


@dataclass
class _FitJob:
    args: tuple  # ar1_fit's (days, phase, Y, p)
    items: list[int]  # the numeric items (positions) it fits, one per column of Y
    cols: dict[str, int]  # phase key -> model column


@dataclass
class _Draft:
    """A report waiting for its AR(1) fits; the comparisons and the responder come from them."""

    report: PersonalReport
    protocol: Protocol
    keys: dict[str, str]
    jobs: list[_FitJob]

    def finish(self) -> PersonalReport:
        rep = self.report
        if not rep.blinded:
            _compare(rep.items, self.protocol, self.keys)
            points = rep.items[self.protocol.primary.id].vs_placebo_points
            rep.responder = None if points is None else bool(points >= rep.responder_points)
        return rep


def _draft(protocol: Protocol, start: date, entries: list[Entry], now: datetime, participant_id: str,
           blinded: bool) -> _Draft:
    spans = phase_spans(protocol, start)
    days = latest(entries)
    filed = filed_timing(entries)
    keys = _keys(spans, blinded)
    tallies = tally_by_phase(protocol, start, now, filed)
    phase_rows = []
    for s in spans:
        t = tallies[s.phase.id]
        label = (s.phase.participant_label or s.phase.label) if blinded else s.phase.label
        phase_rows.append(PhaseRow(keys[s.phase.id], label, None if blinded else s.phase.role, s.start, s.end,
                             s.first_day, s.last_day, t.expected, t.done, t.compliance))
    # per phase, (study day, answers) of each day with an entry, in date order
    rows = [[(s.first_day + k, days[d].answers) for k, d in enumerate(s.dates()) if d in days] for s in spans]
    numeric, jobs = _numeric_items([i for i in protocol.items if i.numeric], spans, rows, keys)
    other = {item.id: {"kind": item.kind, "phases": {
        keys[s.phase.id]: tally_answers(item.kind, [a.get(item.id) for _, a in r], item.options)
        for s, r in zip(spans, rows) if item.asked_in(s.phase.id)}}
        for item in protocol.items if not item.numeric}
    report = PersonalReport(participant_id, protocol.id, blinded, now, phase_rows, numeric, other, None,
                            protocol.analysis.responder_points, data_hash(protocol, start, days))
    return _Draft(report, protocol, keys, jobs)


def _numeric_items(items: list[Item], spans: list[PhaseSpan], rows: list[list], keys) -> tuple[dict, list[_FitJob]]:
    """Every numeric item's values and phase numbers from one days × items matrix, and the AR(1) fits they need."""
    ids = [i.id for i in items]
    flat = [r for phase_rows in rows for r in phase_rows]
    nan = math.nan
    M = np.array([[v if (type(v) is int or type(v) is float) else nan for v in map(a.get, ids)]
                  for _, a in flat], dtype=float).reshape(len(flat), len(ids))
    day = np.array([d for d, _ in flat], dtype=np.int64)
    phase = np.repeat(np.arange(len(spans)), [len(r) for r in rows])
    asked = np.array([[i.asked_in(s.phase.id) for s in spans] for i in items], dtype=bool).reshape(len(items), -1)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(M) & asked.T[phase]  # a value outside the item's phases does not count
    table = phase_table(M, valid, phase, len(spans))
    phase_keys = [keys[s.phase.id] for s in spans]
    out = {}
    for j, item in enumerate(items):
        rep = ItemReport(item, {})
        m = valid[:, j]
        rep.days, rep.values = day[m].tolist(), M[m, j].tolist()
        rep.value_phase_index = phase[m]
        for c, key in enumerate(phase_keys):
            if asked[j, c]:
                rep.phases[key] = {name: table[name][c][j] for name in ("n", "mean", "sd", "endpoint_mean")} | {
                    "reduction_pct": None, "endpoint_reduction_pct": None, "effective_n": None, "mean_ci95": None}
        out[item.id] = rep
    return out, _fit_jobs(list(out.values()), M, valid, day, phase, phase_keys)


def _fit_jobs(items: list[ItemReport], M: np.ndarray, valid: np.ndarray, day: np.ndarray, phase: np.ndarray,
              phase_keys: list[str]) -> list[_FitJob]:
    """The AR(1) phase-mean fits; items with values on the same days share one batched fit."""
    groups: dict[bytes, list[int]] = {}
    for j, rep in enumerate(items):
        present = sum(1 for v in rep.phases.values() if v["n"] > 0)
        if len(rep.values) - present >= MIN_RESIDUAL_DF:
            groups.setdefault(valid[:, j].tobytes(), []).append(j)
    jobs = []
    for js in groups.values():
        m = valid[:, js[0]]
        used, col_of = np.unique(phase[m], return_inverse=True)  # model columns: phases with data
        jobs.append(_FitJob((day[m], col_of, M[np.ix_(m, js)], len(used)), js,
                            {phase_keys[c]: i for i, c in enumerate(used.tolist())}))
    return jobs


def _use_fit(items: list[ItemReport], job: _FitJob, fit: Fit) -> None:
    halfwidths, n_eff, beta = fit.mean_halfwidths().tolist(), fit.n_eff_phase.tolist(), fit.beta.tolist()
    for g, j in enumerate(job.items):
        rep = items[j]
        rep.autocorrelation, rep.effective_n = float(fit.phi[g]), float(fit.n_eff[g])
        rep.fit, rep.fit_index, rep.fit_cols = fit, g, job.cols
        for k, c in job.cols.items():
            hw, mu = halfwidths[g][c], beta[g][c]
            rep.phases[k]["effective_n"] = n_eff[g][c]
            rep.phases[k]["mean_ci95"] = None if not math.isfinite(hw) else [mu - hw, mu + hw]


def _compare(items: dict[str, ItemReport], protocol: Protocol, keys) -> None:
    roles = {r: protocol.first_phase(r) for r in ("baseline", "placebo", "active")}
    key = {r: keys[p.id] if p else None for r, p in roles.items()}
    done: dict[tuple, list] = {}
    for rep in items.values():
        base = rep.phases.get(key["baseline"]) if key["baseline"] else None
        bmean = base["mean"] if base else None
        for ph in rep.phases.values():
            ph["reduction_pct"] = reduction_pct(bmean, ph["mean"], rep.item.better)
            ph["endpoint_reduction_pct"] = reduction_pct(bmean, ph["endpoint_mean"], rep.item.better)
        red = {r: (rep.phases.get(key[r]) or {}).get("reduction_pct") if key[r] else None for r in key}
        rep.vs_placebo_points = difference(red["active"], red["placebo"])
        for name, other in COMPARISONS.items():
            a, b = key["active"], key[other]
            if rep.fit is None or a not in rep.fit_cols or b not in rep.fit_cols:
                rep.comparisons[name] = None
                continue
            ab = (id(rep.fit), a, b)  # one vectorised call per fit and comparison
            if ab not in done:
                done[ab] = [x.tolist() for x in rep.fit.contrasts(rep.fit_cols[a], rep.fit_cols[b])]
            diff, se, p, hw = (x[rep.fit_index] for x in done[ab])
            ci = None if not math.isfinite(hw) else (diff - hw, diff + hw)
            rep.comparisons[name] = Comparison(diff, se, _num(p), ci)
