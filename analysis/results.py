"""The report results: one tree of frozen records that the text, HTML, JSON and app renderers read.

They are msgspec Structs, not dataclasses: a frozen dataclass costs ~1.4 ms to define (its methods
are compiled from source at import), a Struct ~0.02 ms, and a report imports some forty of them.

`personal.analyse` builds a `PersonalReport`, `cohort.cohort_report` a `CohortReport`. Renderers
read attributes; `as_json()` gives the DESIGN.md contract (the only place its keys are spelled).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime

import msgspec

from analysis.crossover import Crossover
from analysis.randomization import RandomizationTest
from diary_client.core.protocol import Item, Phase

COMPARISONS = {"active_vs_baseline": "baseline", "active_vs_placebo": "placebo"}


def num(x: float | None) -> float | None:
    """A float for JSON: None for missing, NaN or infinite."""
    return None if x is None or not math.isfinite(x) else float(x)


def pair(ci: tuple[float, float] | None) -> list | None:
    return None if ci is None else [num(ci[0]), num(ci[1])]


class Options(msgspec.Struct, frozen=True):
    """The pre-specified analysis options a report used (provenance: `analysis_options`)."""

    trend: bool
    # phase role -> days the model leaves out at each such phase's start; None: withheld while
    # blinded (it names roles), and `model_withheld` says whether the model's numbers went with it
    exclude_first_days: Mapping[str, int] | None
    multiplicity: str  # "holm" | "none"
    inference: str
    responder_probability: str
    model_withheld: bool = False  # blinded, and the model leaves out more days in some periods than in others
    endpoint_days: int = 3  # the endpoint mean's last N days with an entry

    def as_json(self) -> dict:
        return {"trend": self.trend,
                "exclude_first_days": None if self.exclude_first_days is None else dict(self.exclude_first_days),
                "model_withheld": self.model_withheld,
                "multiplicity": self.multiplicity, "inference": self.inference,
                "responder_probability": self.responder_probability} | (
                    {} if self.endpoint_days == 3 else {"endpoint_days": self.endpoint_days})


class PhaseRow(msgspec.Struct, frozen=True):
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
    period: int | None = None  # randomized designs, unblinded: the period's number in her schedule (1-based)
    phase: str | None = None  # ... and the protocol phase it is an occurrence of

    @property
    def name(self) -> str:
        """What a person reads for this row: the label, numbered where the rows are periods."""
        return self.label if self.period is None else f"{self.period}. {self.label}"

    def as_json(self) -> dict:
        if self.period is None:
            return {"id": self.key, "label": self.label, "start": self.start.isoformat(),
                    "end": self.end.isoformat(), "expected": self.expected, "n": self.n,
                    "compliance": self.compliance, "first_day": self.first_day, "last_day": self.last_day}
        return {"id": self.key, "period": self.period, "phase": self.phase, "label": self.label, "role": self.role,
                "start": self.start.isoformat(), "end": self.end.isoformat(), "expected": self.expected,
                "n": self.n, "compliance": self.compliance, "first_day": self.first_day, "last_day": self.last_day}


class PhaseNumbers(msgspec.Struct, frozen=True):
    """The paper's arithmetic for one item in one phase (raw means of the days with an entry)."""

    n: int
    mean: float | None
    sd: float | None
    endpoint_mean: float | None
    reduction_pct: float | None = None  # None while blinded, or without a baseline
    endpoint_reduction_pct: float | None = None
    effective_n: float | None = None  # of the model's days in this phase, at the model's φ

    def as_json(self) -> dict:
        return {"n": self.n, "mean": num(self.mean), "sd": num(self.sd), "endpoint_mean": num(self.endpoint_mean),
                "reduction_pct": num(self.reduction_pct), "endpoint_reduction_pct": num(self.endpoint_reduction_pct),
                "effective_n": num(self.effective_n)}


class Estimate(msgspec.Struct, frozen=True):
    """A model estimate with its 95% interval and, where a null is meaningful, its p-value."""

    value: float | None
    ci95: tuple[float, float] | None = None
    p: float | None = None


class Comparison(msgspec.Struct, frozen=True):
    """Active minus another phase, the model's difference in the item's own units."""

    diff: float
    se: float  # posterior SD (allows for the uncertainty in φ)
    ci95: tuple[float, float] | None
    p: float | None
    p_adj: float | None  # adjusted across items (the primary item: = p)


class ModelView(msgspec.Struct, frozen=True):
    """The model's estimates of the paper's quantities: phase means, reductions, vs placebo (percentage points)."""

    phases: Mapping[str, Estimate]  # phase key -> model phase mean with its 95% interval
    reduction_pct: Mapping[str, Estimate]  # phase key -> % better than the model's baseline mean
    vs_placebo_points: Estimate | None  # active − placebo reduction, percentage points of the baseline mean
    roles: Mapping[str, Estimate] | None = None  # randomized designs: role -> the mean of its periods' model means

    def as_json(self) -> dict:
        vp = self.vs_placebo_points
        roles = {} if self.roles is None else {
            "roles": {k: {"mean": num(e.value), "ci95": pair(e.ci95)} for k, e in self.roles.items()}}
        return {"phases": {k: {"mean": num(e.value), "ci95": pair(e.ci95)} for k, e in self.phases.items()}} | roles | {
                "reduction_pct": {k: num(e.value) for k, e in self.reduction_pct.items()},
                "reduction_pct_ci95": {k: pair(e.ci95) for k, e in self.reduction_pct.items()},
                "reduction_pct_p": {k: num(e.p) for k, e in self.reduction_pct.items()},
                "vs_placebo_points": None if vp is None else num(vp.value),
                "vs_placebo_points_ci95": None if vp is None else pair(vp.ci95),
                "vs_placebo_points_p": None if vp is None else num(vp.p)}


class Series(msgspec.Struct, frozen=True):
    """An item's daily values (study day, value) for the chart."""

    days: tuple[int, ...]
    values: tuple[float, ...]


class ItemResult(msgspec.Struct, frozen=True):
    """One numeric item: the paper's numbers per phase and, beside them, the model's."""

    item: Item
    phases: Mapping[str, PhaseNumbers]
    vs_placebo_points: float | None = None  # the paper's: active reduction − placebo reduction
    active_vs_baseline: Comparison | None = None
    active_vs_placebo: Comparison | None = None
    model: ModelView | None = None
    autocorrelation: float | None = None  # φ, REML
    effective_n: float | None = None
    responder_probability: float | None = None  # primary item only
    series: Series | None = None
    # randomized designs, unblinded: the paper's numbers per role (all its periods' days pooled), and
    # for the primary item the randomization test (None inside when it cannot be made yet)
    roles: Mapping[str, PhaseNumbers] | None = None
    randomization_test: RandomizationTest | None = None

    @property
    def label(self) -> str:
        return self.item.name

    def comparison(self, name: str) -> Comparison | None:
        """`active_vs_baseline` or `active_vs_placebo` by name (the names of COMPARISONS)."""
        return getattr(self, name)

    def as_json(self) -> dict:
        out: dict[str, object] = {"kind": self.item.kind, "better": self.item.better, "primary": self.item.primary, "label": self.label,
               "phases": {k: v.as_json() for k, v in self.phases.items()},
               "vs_placebo_points": num(self.vs_placebo_points)}
        if self.roles is not None:
            out["roles"] = {k: v.as_json() for k, v in self.roles.items()}
        for name in COMPARISONS:
            c = self.comparison(name)
            out[f"p_{name}"] = None if c is None else num(c.p)
            out[f"p_adj_{name}"] = None if c is None else num(c.p_adj)
            out[f"ci95_{name}"] = None if c is None else pair(c.ci95)
            out[f"diff_{name}"] = None if c is None else num(c.diff)
            out[f"se_{name}"] = None if c is None else num(c.se)
        out["autocorrelation"] = num(self.autocorrelation)
        out["effective_n"] = num(self.effective_n)
        out["model"] = None if self.model is None else self.model.as_json()
        if self.item.primary:
            out["responder_probability"] = num(self.responder_probability)
            if self.roles is not None:
                rt = self.randomization_test
                out["randomization_test"] = None if rt is None else rt.as_json()
        return out


class Tally(msgspec.Struct, frozen=True):
    """A non-numeric item's answers in one phase (None answers not counted)."""

    kind: str
    n: int
    yes: int | None = None  # yesno
    yes_share: float | None = None
    counts: Mapping[str, int] | None = None  # choice, multi: per option
    days_with_any: int | None = None  # multi

    def as_json(self) -> dict:
        out: dict = {"n": self.n}
        if self.kind == "yesno":
            out |= {"yes": self.yes, "yes_share": self.yes_share}
        elif self.counts is not None:
            out["counts"] = dict(self.counts)
            if self.days_with_any is not None:
                out["days_with_any"] = self.days_with_any
        return out


class OtherItem(msgspec.Struct, frozen=True):
    item: Item
    phases: Mapping[str, Tally]

    @property
    def label(self) -> str:
        return self.item.name

    def as_json(self) -> dict:
        return {"kind": self.item.kind, "label": self.label, "phases": {k: t.as_json() for k, t in self.phases.items()}}


class RuleVerdict(msgspec.Struct, frozen=True):
    """A multi-item responder rule (`[analysis] responder`) applied: each part and the verdict."""

    all: tuple[tuple[str, float, float | None, bool | None], ...]  # (item, points, her vs_placebo_points, met)
    any: tuple[tuple[str, float, float | None, bool | None], ...]
    responder: bool | None  # None: some part that decides is not known yet

    def as_json(self) -> dict:
        def parts(ps):
            return [{"item": i, "points": pts, "vs_placebo_points": num(v), "met": met} for i, pts, v, met in ps]

        return {"all": parts(self.all), "any": parts(self.any), "responder": self.responder}


class PersonalReport(msgspec.Struct, frozen=True):
    participant_id: str
    study_id: str
    blinded: bool
    as_of: datetime
    phases: tuple[PhaseRow, ...]
    items: Mapping[str, ItemResult]  # numeric items
    other_items: Mapping[str, OtherItem]  # yes/no, choice, multi, text: tallies per phase
    responder: bool | None
    responder_points: float
    data_hash: str
    options: Options
    analysis_version: str
    caveats: tuple[str, ...]
    sequence: tuple[str, ...] | None = None  # randomized designs, unblinded: her phases in order
    responder_rule: RuleVerdict | None = None  # unblinded, with `[analysis] responder`: `responder` follows it

    @property
    def primary(self) -> ItemResult | None:
        return next((r for r in self.items.values() if r.item.primary), None)

    def phase_label(self, key: str) -> str:
        return next((p.name for p in self.phases if p.key == key), key)

    def model_phases(self) -> Iterator[tuple[ItemResult, list[tuple[str, Estimate, Estimate | None]]]]:
        """Each numeric item the model fitted, with its phases in order: (phase key, the model's
        phase mean, its reduction from the model's baseline mean, None if it has none). The text
        and HTML reports' table of the model's phase means reads this."""
        for rep in self.items.values():
            if rep.model is not None:
                yield rep, [(k, e, rep.model.reduction_pct.get(k)) for k, e in rep.model.phases.items()]

    def as_json(self, caveats: bool = True) -> dict:
        """The `diary report --json` contract (+ provenance); the cohort leaves out the repeated caveats."""
        primary = self.primary
        return {
            "participant_id": self.participant_id, "study_id": self.study_id, "blinded": self.blinded,
            "phases": [p.as_json() for p in self.phases],
            "items": {k: v.as_json() for k, v in self.items.items()},
            "responder": self.responder,
            **({} if self.responder_rule is None else {"responder_rule": self.responder_rule.as_json()}),
            **({} if self.sequence is None else {"sequence": list(self.sequence)}),
            "responder_probability": None if primary is None else num(primary.responder_probability),
            "other_items": {k: v.as_json() for k, v in self.other_items.items()},
            "responder_points": self.responder_points,
            "as_of": self.as_of.isoformat(), "analysis_version": self.analysis_version,
            "analysis_options": self.options.as_json(),
            "data_hash": self.data_hash, "exploratory": True,
        } | ({"caveats": list(self.caveats)} if caveats else {})


# -- the cohort ----------------------------------------------------------------------------------


class CohortPhase(msgspec.Struct, frozen=True):
    n: int
    mean_reduction_pct: float | None
    sd_reduction_pct: float | None
    mean_endpoint_reduction_pct: float | None
    sd_endpoint_reduction_pct: float | None
    mean_of_means: float | None

    def as_json(self) -> dict:
        return {"n": self.n, "mean_reduction_pct": self.mean_reduction_pct, "sd_reduction_pct": self.sd_reduction_pct,
                "mean_endpoint_reduction_pct": self.mean_endpoint_reduction_pct,
                "sd_endpoint_reduction_pct": self.sd_endpoint_reduction_pct, "mean_of_means": self.mean_of_means}


class MetaAnalysis(msgspec.Struct, frozen=True):
    """Random-effects meta-analysis of the participants' model differences (active − placebo, item units)."""

    k: int  # participants
    effect: float
    ci95: tuple[float, float] | None
    p: float | None
    tau: float
    i2: float  # percent of the total variability due to between-participant differences
    prediction_interval: tuple[float, float] | None
    shrunken: Mapping[str, float]  # participant id -> empirical-Bayes (BLUP) effect
    shrunken_se: Mapping[str, float]
    prob_response: Mapping[str, float]  # participant id -> P(true improvement ≥ responder_points % of baseline)
    method: str

    def as_json(self) -> dict:
        return {"k": self.k, "effect": num(self.effect), "ci95": pair(self.ci95), "p": num(self.p),
                "tau": num(self.tau), "i2": num(self.i2), "prediction_interval": pair(self.prediction_interval),
                "shrunken": {k: num(v) for k, v in self.shrunken.items()},
                "shrunken_se": {k: num(v) for k, v in self.shrunken_se.items()},
                "prob_response": {k: num(v) for k, v in self.prob_response.items()}, "method": self.method}


class CohortItem(msgspec.Struct, frozen=True):
    item: Item
    phases: Mapping[str, CohortPhase]
    vs_placebo_points_mean: float | None
    vs_placebo_points_sd: float | None
    p_active_vs_baseline: float | None  # paired t-test of the participants' active reductions against 0
    p_active_vs_placebo: float | None  # of their vs_placebo_points against 0
    n_active_vs_baseline: int
    n_active_vs_placebo: int
    ci95_active_reduction_pct: tuple[float, float] | None
    ci95_vs_placebo_points: tuple[float, float] | None
    meta: MetaAnalysis | None

    @property
    def label(self) -> str:
        return self.item.name

    def as_json(self) -> dict:
        return {"label": self.label, "phases": {k: v.as_json() for k, v in self.phases.items()},
                "vs_placebo_points_mean": self.vs_placebo_points_mean,
                "p_active_vs_baseline": self.p_active_vs_baseline, "p_active_vs_placebo": self.p_active_vs_placebo,
                "n_active_vs_baseline": self.n_active_vs_baseline, "n_active_vs_placebo": self.n_active_vs_placebo,
                "ci95_active_reduction_pct": pair(self.ci95_active_reduction_pct),
                "ci95_vs_placebo_points": pair(self.ci95_vs_placebo_points),
                "vs_placebo_points_sd": self.vs_placebo_points_sd,
                "meta": None if self.meta is None else self.meta.as_json()}


class Covariate(msgspec.Struct, frozen=True):
    n: int
    r: float | None
    r2: float | None
    p: float | None
    against: str

    def as_json(self) -> dict:
        return {"n": self.n, "r": self.r, "r2": self.r2, "p": self.p, "against": self.against}


class Effect(msgspec.Struct, frozen=True):
    """A mixed-model contrast: estimate, SE, Satterthwaite df, p and 95% CI."""

    estimate: float
    se: float
    df: float | None
    p: float | None
    ci95: tuple[float, float] | None

    def as_json(self) -> dict:
        return {"estimate": num(self.estimate), "se": num(self.se), "df": num(self.df), "p": num(self.p),
                "ci95": pair(self.ci95)}


class MixedResult(msgspec.Struct, frozen=True):
    model: str
    reference: str | None
    n_obs: int
    n_groups: int = 0
    effects: Mapping[str, Effect] = msgspec.field(default_factory=dict)  # phase -> phase minus the reference
    active_vs_placebo: Effect | None = None
    participant_sd: float | None = None  # random intercept SD
    drug_sd: float | None = None  # random drug-effect SD
    correlation: float | None = None
    residual_sd: float | None = None

    def as_json(self) -> dict:
        return {"model": self.model, "reference": self.reference, "n_obs": self.n_obs, "n_groups": self.n_groups,
                "effects": {k: e.as_json() for k, e in self.effects.items()},
                "active_vs_placebo": None if self.active_vs_placebo is None else self.active_vs_placebo.as_json(),
                "participant_sd": num(self.participant_sd), "drug_sd": num(self.drug_sd),
                "correlation": num(self.correlation), "residual_sd": num(self.residual_sd)}


class BlindingIndex(msgspec.Struct, frozen=True):
    """One blinding index over `n` guesses, with its SE and 95% interval; None, with `reason`, when it cannot be given."""

    index: float | None
    ci95: tuple[float, float] | None
    n: int
    se: float | None = None
    reason: str | None = None  # why the index or its interval is not a plain estimate

    def as_json(self) -> dict:
        return {"index": num(self.index), "ci95": pair(self.ci95), "n": self.n, "se": num(self.se),
                "reason": self.reason}


class BlindingResult(msgspec.Struct, frozen=True):
    """The blinding check's guesses and indices (`analysis.blinding`)."""

    asked: bool  # the protocol asks the blinding check
    bang: Mapping[str, BlindingIndex]  # role ("active", "placebo") -> Bang's index of the guesses made on it
    james: BlindingIndex
    counts: Mapping[str, Mapping[str, int]]  # role -> answer ("drug", "placebo", "don't know") -> guesses
    method: str
    meaning: tuple[str, ...]  # one sentence per index: what it means

    def as_json(self) -> dict:
        return {"asked": self.asked, "bang": {r: b.as_json() for r, b in self.bang.items()},
                "james": self.james.as_json(), "counts": {r: dict(c) for r, c in self.counts.items()},
                "method": self.method, "meaning": list(self.meaning)}


class Harms(msgspec.Struct, frozen=True):
    """Adverse events counted over some periods: participants with one, events, serious ones, by severity."""

    participants: int
    events: int
    serious: int
    by_severity: Mapping[str, int]  # "mild", "moderate", "severe" -> events

    def as_json(self) -> dict:
        return {"participants": self.participants, "events": self.events, "serious": self.serious,
                "by_severity": dict(self.by_severity)}


class PeriodHarms(msgspec.Struct, frozen=True):
    period: str  # the period's id (with today's fixed design, its phase id)
    phase: str
    role: str
    harms: Harms

    def as_json(self) -> dict:
        return {"period": self.period, "phase": self.phase, "role": self.role} | self.harms.as_json()


class FlowPeriod(msgspec.Struct, frozen=True):
    """One period of the participant flow: how many started it, completed it, and filed a report in it."""

    period: str
    phase: str
    role: str
    started: int  # its first day came before she withdrew
    completed: int  # its last day's grace is over and she had not withdrawn
    reported: int  # she filed at least one report in it

    def as_json(self) -> dict:
        return {"period": self.period, "phase": self.phase, "role": self.role, "started": self.started,
                "completed": self.completed, "reported": self.reported}


class Flow(msgspec.Struct, frozen=True):
    """The participant flow (CENT 13a-b, 14a, 16): from enrolment to analysis."""

    enrolled: int  # participants the report received (a day 1 and readable data)
    allocated: Mapping[str, int]  # sequence (phase ids joined by '>') -> participants
    periods: tuple[FlowPeriod, ...]
    withdrawn: int
    analysed: int  # participants in the primary comparison (the primary item's vs_placebo_points)
    first_start: date | None  # recruitment: the first and last day 1, and the last day of follow-up
    last_start: date | None
    last_end: date | None

    def as_json(self) -> dict:
        return {"enrolled": self.enrolled, "allocated": dict(self.allocated),
                "periods": [p.as_json() for p in self.periods], "withdrawn": self.withdrawn,
                "analysed": self.analysed,
                "recruitment": {"first_start": _day(self.first_start), "last_start": _day(self.last_start),
                                "last_end": _day(self.last_end)}}


def _day(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


class CohortSummary(msgspec.Struct, frozen=True):
    """The cohort-wide results (what `print_cohort` reads), made from the participants' columns
    (`cohort.CohortColumns`), not from their reports: `cohort.CohortStream` writes those out as it goes."""

    study_id: str
    as_of: datetime
    participant_ids: tuple[str, ...]  # in the order the reports came
    cohort: Mapping[str, CohortItem]
    responders: int
    responder_ids: tuple[str, ...]
    covariates: Mapping[str, Covariate]
    mixed_model: Mapping[str, MixedResult]
    options: Options
    analysis_version: str
    caveats: tuple[str, ...]
    phases: tuple[Phase, ...]  # the study's phases, in protocol order (labels and roles for the tables)
    responders_not_known: int  # participants whose responder verdict cannot be given yet (no drug or placebo days)
    blinding: BlindingResult
    harms: Mapping[str, Harms]  # period role -> its periods' adverse events ("outside": none of the study's days)
    harms_by_period: tuple[PeriodHarms, ...]
    flow: Flow
    design: str = "fixed"  # the allocation method
    crossover: Crossover | None = None  # counterbalanced: the two-period analysis
    balance: Mapping[str, int] | None = None  # randomized: participants per sequence

    @property
    def n_participants(self) -> int:
        return len(self.participant_ids)

    def paper_columns(self) -> tuple[Phase, ...]:
        """The paper table's phase columns, for text and HTML alike: every phase some item has a
        cohort figure for, in protocol order, but the baseline (its reduction from itself is 0 by definition)."""
        present = {p for c in self.cohort.values() for p in c.phases}
        return tuple(ph for ph in self.phases if ph.id in present and ph.role != "baseline")

    def responders_phrase(self) -> str:
        """"2 of 4 responders", or how many are not known yet: mid-study, never a bare "0 responders"."""
        n, unknown = self.n_participants, self.responders_not_known
        if n and unknown == n:
            return f"responders not known yet for all {n} (none has both drug and placebo days yet)"
        if not unknown:
            return f"{self.responders} responders"
        return f"{self.responders} responders of {n - unknown} known ({unknown} not known yet)"

    def json_tail(self) -> dict:
        """The document's keys after `participants`, in the contract's order."""
        design: dict = {} if self.design == "fixed" else {"design": self.design, "balance": dict(self.balance or {})}
        if self.design == "counterbalanced":
            design["crossover"] = None if self.crossover is None else self.crossover.as_json()
        return {
            "cohort": {k: v.as_json() for k, v in self.cohort.items()}, **design, "responders": self.responders,
            "responders_not_known": self.responders_not_known,
            "covariates": {k: v.as_json() for k, v in self.covariates.items()},
            "mixed_model": {k: v.as_json() for k, v in self.mixed_model.items()},
            "n_participants": self.n_participants, "responder_ids": list(self.responder_ids),
            "as_of": self.as_of.isoformat(), "analysis_version": self.analysis_version,
            "analysis_options": self.options.as_json(), "exploratory": True, "caveats": list(self.caveats),
            "blinding": self.blinding.as_json(), "harms": {k: v.as_json() for k, v in self.harms.items()},
            "harms_by_period": [h.as_json() for h in self.harms_by_period], "flow": self.flow.as_json(),
        }


class CohortReport(CohortSummary, frozen=True, kw_only=True):
    """The cohort-wide results with every participant's report (the HTML page and in-process callers read them)."""

    participants: tuple[PersonalReport, ...]

    def __post_init__(self) -> None:
        if tuple(p.participant_id for p in self.participants) != self.participant_ids:
            raise ValueError("a cohort report's participants are not its participant_ids")

    @classmethod
    def of(cls, summary: CohortSummary, participants: tuple[PersonalReport, ...]) -> CohortReport:
        return cls(**msgspec.structs.asdict(summary), participants=participants)

    def as_json(self) -> dict:
        return {"study_id": self.study_id, "participants": [p.as_json(caveats=False) for p in self.participants]} | self.json_tail()

    def json_text(self) -> Iterator[str]:
        """`json.dumps(self.as_json())` in pieces, one participant at a time."""
        return cohort_json_text(self.study_id, self.participants, lambda: self)


def cohort_json_text(study_id: str, participants: Iterable[PersonalReport],
                     summary: Callable[[], CohortSummary]) -> Iterator[str]:
    """The cohort's JSON document (`json.dumps` of `CohortReport.as_json()`, byte for byte) in pieces:
    each participant's report as `participants` gives it, then the cohort-wide keys, asked of
    `summary` only once every participant is written. A stream: no report need be kept, and a
    10,000-participant cohort is never one document or one string (that took ~1 GB)."""
    yield "{" + json.dumps("study_id") + ": " + json.dumps(study_id, ensure_ascii=False) + ", "
    yield json.dumps("participants") + ": ["
    for j, p in enumerate(participants):
        yield (", " if j else "") + json.dumps(p.as_json(caveats=False), ensure_ascii=False, default=str)
    yield "]"
    for key, value in summary().json_tail().items():
        yield ", " + json.dumps(key) + ": " + json.dumps(value, ensure_ascii=False, default=str)
    yield "}"
