"""One participant's phase report: the paper's numbers per item and phase, the model's beside them, blinding.

Pure: protocol, start date, entries and `now` come in; nothing reads a clock or a file. Importing
this module, and making a report, costs numpy only (the t distribution is `analysis.tdist`'s, not scipy's).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

import msgspec
import numpy as np

from analysis.modelview import Batch, FitPlan, Roles
from analysis.multiplicity import adjust
from analysis.randomization import RandomizationTest, randomization_test
from analysis.results import (
    COMPARISONS,
    Comparison,
    ItemResult,
    ModelView,
    Options,
    OtherItem,
    PersonalReport,
    PhaseNumbers,
    PhaseRow,
    Series,
)
from analysis.stats import CHUNK, METHOD, Fit, Job, ar1_fits
from analysis.summary import difference, is_responder, phase_table, reduction_pct, rule_verdict, tally_answers
from diary_client.core.entry import Entry, filed_timing, latest
from diary_client.core.protocol import ROLES, Allocation, Item, Phase, Protocol, hash_view
from diary_client.core.schedule import PhaseSpan, phase_spans, tally_by_phase

# Bump when any reported number could change for the same data, so old reports stay explainable.
ANALYSIS_VERSION = "2.1"
MIN_RESIDUAL_DF = 3  # fewer model days than model columns + 3: no model, no p-values
RESPONDER_PRIOR = ("posterior probability that the model's active − placebo reduction reaches responder_points, "
                   "under flat priors on the phase means (and trend) and log σ and Jeffreys' prior on φ")
FIXED_ORDER = ("Exploratory: one participant, phases in a fixed order, so a difference between phases can come "
               "from time, season or expectation as well as from the treatment; it is not proof of cause.")
RANDOMIZED_ORDER = ("Exploratory: one participant. The order of the drug and placebo periods was randomized; the "
                    "randomization test below is the comparison that follows from that alone, and it cannot give a "
                    "p-value below the design's smallest (min p). Each period has its own mean in the model; a "
                    "role's mean is the mean of its periods' means.")
TWO_VIEWS = ("Two views of the same quantities: 'as in the paper' uses the raw means of the days filed; "
             "'the model' estimates phase means with AR(1) errors, and its 95% intervals and p-values "
             "allow for the uncertainty in the day-to-day autocorrelation (they are never from a t-test "
             "that treats days as independent).")
ENDPOINTS = ("Percent reductions are against the whole baseline mean; endpoint values use a phase's last {n} "
             "days with an entry. Only the latest correction of a day counts; missing days are left out.")
POOLED = ("Percent reductions are against the whole baseline mean; endpoint values use a period's last {n} days "
          "with an entry (a role's endpoint: those days of all its periods). A role's numbers as in the paper "
          "pool the days of all its periods. Only the latest correction of a day counts; missing days are left out.")
BLINDED_DESIGN = ("Blinded: in this randomized design your numbers are over the whole study so far, with no "
                  "periods, until you are unblinded (the periods' lengths or dates could tell their order).")
WHOLE_STUDY = "Whole study"
BASELINE_UNCLEAR = ("{items}: the model's percent-of-baseline intervals and the responder probability are "
                    "withheld, because the model's baseline level (the baseline phase's own level, the "
                    "denominator) is not clearly away from zero (within 4 posterior SDs of it), as when "
                    "the values are near 0 or the day-to-day autocorrelation is near 1 (a random walk "
                    "has no settled level).")
# While blinded the report shows each period's own numbers and nothing else: no comparison, no model.
BLINDED_NUMBERS = ("Each period's numbers are the means of the days you filed in it; 'last {n}' is the mean of its "
                   "last {n} days with a report. Only the latest correction of a day counts; missing days are left out.")


def options_of(protocol: Protocol) -> Options:
    """The protocol's pre-specified `[analysis]` options, as the reports state them."""
    a = protocol.analysis
    return Options(trend=a.trend, exclude_first_days={str(k): v for k, v in a.exclude_first_days.items()},
                   multiplicity=a.multiplicity,
                   inference=METHOD, responder_probability=RESPONDER_PRIOR, endpoint_days=a.endpoint_days)


def role_specific(options: Options, spans: Sequence[PhaseSpan]) -> bool:
    """Does the model leave out more first days in some periods than in others? Then every number
    it fits (a period's mean or effective n, φ, the item's effective n) tells the periods' roles
    apart to anyone who refits the participant's own days both ways."""
    excluded = options.exclude_first_days or {}
    return len({excluded.get(s.phase.role, 0) for s in spans}) > 1


def blinded_options(options: Options, spans: Sequence[PhaseSpan]) -> Options:
    """The options as a blinded participant may read them: nothing that names a role, and whether
    the model's numbers are withheld (`role_specific`)."""
    return msgspec.structs.replace(options, exclude_first_days=None, model_withheld=role_specific(options, spans))


def _canonical(doc) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def protocol_text(protocol: Protocol) -> str:
    """The protocol as canonical JSON, the part of the data hash that a study's participants share."""
    return _canonical(hash_view(protocol))


def data_hash(protocol: Protocol | str, start: date, days: dict[date, Entry]) -> str:
    """SHA-256 of what the numbers are computed from: protocol, start date and each day's answers."""
    text = protocol if isinstance(protocol, str) else protocol_text(protocol)
    answers = _canonical([[d.isoformat(), e.answers] for d, e in sorted(days.items())])
    doc = f'{{"days":{answers},"protocol":{text},"start":"{start.isoformat()}"}}'
    return "sha256:" + hashlib.sha256(doc.encode()).hexdigest()


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


def caveats_of(protocol: Protocol, blinded: bool) -> tuple[str, ...]:
    """The report's caveats for this design (a fixed design's are the same words as ever)."""
    n = protocol.analysis.endpoint_days
    if not protocol.allocation.randomized:
        return (FIXED_ORDER, TWO_VIEWS, ENDPOINTS.format(n=n))
    if blinded:
        return (BLINDED_DESIGN, TWO_VIEWS, ENDPOINTS.format(n=n))
    return (RANDOMIZED_ORDER, TWO_VIEWS, POOLED.format(n=n))


def whole_study(protocol: Protocol) -> Protocol:
    """A randomized design as its blinded participant's report sees it: one span, the whole study, and
    items asked on every day they were answered; nothing that tells where a period begins or ends."""
    span = Phase(id="study", role="other", days=protocol.days_total, label=WHOLE_STUDY, participant_label=WHOLE_STUDY)
    return msgspec.structs.replace(protocol, phases=[span], allocation=Allocation(),
                                   items=[msgspec.structs.replace(i, phases=None) if i.phases else i for i in protocol.items])


def analyse(protocol: Protocol, start: date, entries: Sequence[Entry], now: datetime,
            participant_id: str, blinded: bool) -> PersonalReport:
    """The participant's phase report; while `blinded`, phase ids and every comparison are withheld.

    `protocol` is her schedule: the protocol itself for a fixed design, else her expanded protocol
    (`design.expand`), whose phases are her periods in order.
    """
    return analyse_many([(protocol, start, entries, now, participant_id)], blinded)[0]


def analyse_many(people: Iterable[tuple], blinded: bool) -> list[PersonalReport]:
    """`analyse` of each (protocol, start, entries, now, participant_id[, sequence]); fits of up to CHUNK people share calls.

    `people` may be an iterator: each one's entries are dropped once its draft is made.
    """
    return list(iter_reports(people, blinded))


def iter_reports(people: Iterable[tuple], blinded: bool, series: bool = True) -> Iterator[PersonalReport]:
    """The reports one by one, drafted as people arrive and fitted in blocks of CHUNK.

    `series=False` leaves out the daily values (for charts), which a cohort does not keep.
    """
    block: list[_Draft] = []
    shared: tuple[Protocol, Protocol, str] | None = None  # a cohort's participants share one protocol object
    for protocol, start, entries, now, pid, *given in people:
        if shared is None or shared[0] is not protocol:
            # blinded in a randomized design: the report, and its data hash, see the whole study only
            seen = whole_study(protocol) if blinded and protocol.allocation.randomized else protocol
            shared = (protocol, seen, protocol_text(seen))
        block.append(_draft(shared[1], shared[2], start, entries, now, pid, blinded, series, protocol,
                            given[0] if given else None))
        del entries
        if len(block) == CHUNK:
            yield from _finish_block(block)
            block = []
    if block:
        yield from _finish_block(block)


class _FitJob(msgspec.Struct, frozen=True):
    job: Job
    items: list[int]  # the numeric items (positions) it fits, one per column of Y
    cols: dict[str, int]  # phase key -> model column


class _Draft(msgspec.Struct, frozen=True):
    """A participant's numbers that need no model, waiting for the AR(1) fits."""

    participant_id: str
    protocol: Protocol
    blinded: bool
    as_of: datetime
    phases: tuple[PhaseRow, ...]
    items: list[Item]  # numeric items
    raw: list[dict[str, tuple]]  # per numeric item: phase key -> the paper's numbers (PhaseNumbers' fields)
    series: list[Series | None]
    other: dict[str, OtherItem]
    keys: dict[str, str]
    # role -> the keys of its phases the comparisons use: a fixed design's first phase of the role, every
    # period of the role in a randomized design ([] while blinded, or none)
    role_keys: dict[str, list[str]]
    pooled: bool  # a randomized design, unblinded: roles pool their periods
    roles_raw: list[dict[str, tuple]] | None  # per numeric item: role -> the paper's numbers over its periods
    randomization: RandomizationTest | None
    jobs: list[_FitJob]
    options: Options
    data_hash: str
    caveats: tuple[str, ...]
    sequence: tuple[str, ...] | None


def _finish_block(drafts: list[_Draft]) -> list[PersonalReport]:
    fits = iter(ar1_fits([j.job for d in drafts for j in d.jobs]))
    batch = Batch()
    planned = []
    for d in drafts:
        plans = []
        for job in d.jobs:
            fit = next(fits)
            roles = _roles(d, job.cols)
            points = None if d.blinded else d.protocol.analysis.responder_points
            plans.append((job, fit, FitPlan(fit, job.cols, roles, [d.items[j].better for j in job.items],
                                            not d.blinded, points, batch)))
        planned.append(plans)
    batch.solve()
    return [_report(d, plans) for d, plans in zip(drafts, planned)]


def _roles(d: _Draft, cols: dict[str, int]) -> Roles:
    def col(role: str) -> tuple[int, ...]:
        return tuple(cols[k] for k in d.role_keys.get(role, []) if k in cols)

    others = {role: col(role) for role in d.role_keys} if d.pooled else None
    return Roles(col("baseline"), col("placebo"), col("active"), others)


def _draft(protocol: Protocol, protocol_json: str, start: date, entries: Sequence[Entry], now: datetime,
           participant_id: str, blinded: bool, keep_series: bool, schedule: Protocol,
           sequence: tuple[str, ...] | None = None) -> _Draft:
    """`protocol` as the report sees it (`whole_study` while a randomized design is blinded), `schedule`
    hers, `sequence` her phases in order as given (else read from her schedule's periods)."""
    spans = phase_spans(protocol, start)
    days = latest(entries)
    filed = filed_timing(entries)
    keys = _keys(spans, blinded)
    tallies = tally_by_phase(protocol, start, now, filed)
    pooled = protocol.allocation.randomized and not blinded
    phase_rows = []
    for n, s in enumerate(spans, 1):
        t = tallies[s.phase.id]
        label = (s.phase.participant_label or s.phase.label) if blinded else s.phase.label
        phase_rows.append(PhaseRow(keys[s.phase.id], label, None if blinded else s.phase.role, s.start, s.end,
                                   s.first_day, s.last_day, t.expected, t.done, t.compliance,
                                   n if pooled else None, s.phase.base if pooled else None))
    # per phase, (study day, answers) of each day with an entry, in date order
    rows = [[(s.first_day + k, days[d].answers) for k, d in enumerate(s.dates()) if d in days] for s in spans]
    options = options_of(protocol)
    numeric = [i for i in protocol.items if i.numeric]
    raw, roles_raw, series, jobs, rtest = _numeric_items(numeric, spans, rows, keys, options, protocol, blinded,
                                                         keep_series)
    if blinded:  # nothing from which the order of the roles can be computed
        options = blinded_options(options, spans)
        jobs = [] if options.model_withheld else jobs
    other = {item.id: OtherItem(item, {
        keys[s.phase.id]: tally_answers(item.kind, [a.get(item.id) for _, a in r], item.options)
        for s, r in zip(spans, rows) if item.asked_in(s.phase.id)})
        for item in protocol.items if not item.numeric}
    role_keys: dict[str, list[str]] = {}
    if pooled:
        for role in ROLES:
            role_keys[role] = [keys[s.phase.id] for s in spans if s.phase.role == role]
    else:
        for role in ("baseline", "placebo", "active"):
            ph = None if blinded else protocol.first_phase(role)
            role_keys[role] = [] if ph is None else [keys[ph.id]]
    sequence = (tuple(sequence) if sequence else tuple(p.base for p in schedule.phases)) if pooled else None
    return _Draft(participant_id, protocol, blinded, now, tuple(phase_rows), numeric, raw, series, other, keys,
                  role_keys, pooled, roles_raw, rtest, jobs, options, data_hash(protocol_json, start, days),
                  caveats_of(schedule, blinded), sequence)


def _numeric_items(items: list[Item], spans: list[PhaseSpan], rows: list[list], keys: dict[str, str],
                   options: Options, protocol: Protocol, blinded: bool, keep_series: bool):
    """Every numeric item's phase numbers (and, unblinded in a randomized design, role numbers and the
    primary item's randomization test) and values from one days × items matrix, and the fits they need."""
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
    # the model leaves out the first days of the phases whose role the protocol names (onset, carry-over)
    skip = np.array([(options.exclude_first_days or {}).get(s.phase.role, 0) for s in spans], dtype=np.int64)
    first = np.array([s.first_day for s in spans], dtype=np.int64)
    in_model = (day - first[phase]) >= skip[phase] if len(day) else np.zeros(0, dtype=bool)
    endpoint_days = protocol.analysis.endpoint_days
    table = phase_table(M, valid, phase, len(spans), endpoint_days)
    phase_keys = [keys[s.phase.id] for s in spans]
    base = protocol.first_phase("baseline")
    base_c = None if blinded or base is None else next(c for c, s in enumerate(spans) if s.phase.id == base.id)
    pooled = protocol.allocation.randomized and not blinded
    role_names = [r for r in ROLES if any(s.phase.role == r for s in spans)]
    rtable = phase_table(M, valid, phase, len(spans), endpoint_days,
                         np.array([role_names.index(s.phase.role) for s in spans])) if pooled else None
    raw, roles_raw, series = [], [], []
    for j, item in enumerate(items):
        if rtable is not None:  # the whole baseline: every baseline period's days
            bmean = rtable["mean"][role_names.index("baseline")][j] if "baseline" in role_names else None
            roles_raw.append({role: (
                rtable["n"][r][j], rtable["mean"][r][j], rtable["sd"][r][j], rtable["endpoint_mean"][r][j],
                reduction_pct(bmean, rtable["mean"][r][j], item.better),
                reduction_pct(bmean, rtable["endpoint_mean"][r][j], item.better))
                for r, role in enumerate(role_names)
                if any(asked[j, c] for c, s in enumerate(spans) if s.phase.role == role)})
        else:
            bmean = table["mean"][base_c][j] if base_c is not None and asked[j, base_c] else None
        raw.append({key: (
            table["n"][c][j], table["mean"][c][j], table["sd"][c][j], table["endpoint_mean"][c][j],
            None if blinded else reduction_pct(bmean, table["mean"][c][j], item.better),
            None if blinded else reduction_pct(bmean, table["endpoint_mean"][c][j], item.better))
            for c, key in enumerate(phase_keys) if asked[j, c]})
        m = valid[:, j]
        series.append(Series(tuple(day[m].tolist()), tuple(M[m, j].tolist())) if keep_series else None)
    rtest = None
    primary = next((j for j, i in enumerate(items) if i.primary), None)
    if pooled and primary is not None:
        m = valid[:, primary]
        rtest = randomization_test(protocol, day[m].tolist(), M[m, primary].tolist())
    return (raw, roles_raw if pooled else None, series,
            _fit_jobs(M, valid & in_model[:, None], day, phase, phase_keys, options.trend), rtest)


def _fit_jobs(M: np.ndarray, valid: np.ndarray, day: np.ndarray, phase: np.ndarray, phase_keys: list[str],
              trend: bool) -> list[_FitJob]:
    """The AR(1) phase-mean fits; items with model values on the same days share one batched fit."""
    per_phase = np.eye(len(phase_keys), dtype=np.int64)[phase].T @ valid  # (phases, items) model days
    enough = valid.sum(axis=0) - (per_phase > 0).sum(axis=0) - int(trend) >= MIN_RESIDUAL_DF
    groups: dict[bytes, list[int]] = {}
    for j in np.flatnonzero(enough).tolist():
        groups.setdefault(valid[:, j].tobytes(), []).append(j)
    jobs = []
    for js in groups.values():
        m = valid[:, js[0]]
        used = np.flatnonzero(per_phase[:, js[0]])  # model columns: phases with data
        col_of = np.cumsum(per_phase[:, js[0]] > 0)[phase[m]] - 1
        jobs.append(_FitJob(Job(day[m], col_of, M[np.ix_(m, np.asarray(js))], len(used), trend), js,
                            {phase_keys[c]: i for i, c in enumerate(used.tolist())}))
    return jobs


def _report(d: _Draft, plans: list[tuple[_FitJob, Fit, FitPlan]]) -> PersonalReport:
    model: dict[int, tuple] = {}
    unclear: list[str] = []
    for job, fit, plan in plans:
        n_eff = fit.n_eff_phase.tolist()
        for g, j in enumerate(job.items):
            model[j] = (float(fit.phi[g]), float(fit.n_eff[g]), {k: n_eff[g][c] for k, c in job.cols.items()},
                        plan.series(g))
            if model[j][3].baseline_unclear:
                unclear.append(d.items[j].label or d.items[j].id)
    primary = next((i.id for i in d.items if i.primary), None)
    p_adj = {name: adjust({it.id: _p(model.get(j), name) for j, it in enumerate(d.items)}, primary,
                          d.options.multiplicity) for name in COMPARISONS}
    items = {}
    for j, item in enumerate(d.items):
        fitted = model.get(j)
        n_eff_phase = {} if fitted is None else fitted[2]
        raw = {k: PhaseNumbers(*v, effective_n=n_eff_phase.get(k)) for k, v in d.raw[j].items()}  # type: ignore[misc]  # v: the six numbers before effective_n
        roles = None if d.roles_raw is None else {r: PhaseNumbers(*v) for r, v in d.roles_raw[j].items()}
        red = {role: _red(d, raw, roles, role) for role in ("active", "placebo")}
        vs_placebo = None if d.blinded else difference(red["active"], red["placebo"])
        rtest = d.randomization if item.primary else None
        if fitted is None:
            items[item.id] = ItemResult(item, raw, vs_placebo, series=d.series[j], roles=roles, randomization_test=rtest)
            continue
        phi, n_eff, _, sm = fitted
        comps = {name: None if sm.comparisons.get(name) is None else
                 Comparison(*sm.comparisons[name], p_adj=p_adj[name][item.id])  # type: ignore[misc]  # the five numbers before p_adj (mypy cannot count a starred tuple)
                 for name in COMPARISONS}
        view = ModelView(sm.means, sm.reductions, sm.vs_placebo_points, sm.roles if d.pooled else None)
        items[item.id] = ItemResult(item, raw, vs_placebo, comps["active_vs_baseline"], comps["active_vs_placebo"],
                                    view, phi, n_eff, sm.responder_probability if item.primary else None,
                                    d.series[j], roles, rtest)
    points = d.protocol.analysis.responder_points
    vp = items[primary].vs_placebo_points if primary in items else None
    responder = None if d.blinded else is_responder(vp, points)
    rule = None if d.blinded or d.protocol.analysis.responder is None else rule_verdict(
        d.protocol.analysis.responder, {k: r.vs_placebo_points for k, r in items.items()})
    if rule is not None:
        responder = rule.responder
    return PersonalReport(d.participant_id, d.protocol.id, d.blinded, d.as_of, d.phases, items, d.other, responder,
                          points, d.data_hash, d.options, ANALYSIS_VERSION,
                          _blinded_caveats(d) if d.blinded else
                          d.caveats + ((BASELINE_UNCLEAR.format(items=", ".join(unclear)),) if unclear else ()),
                          d.sequence, rule)


def _p(fitted: tuple | None, name: str) -> float | None:
    if fitted is None:
        return None
    c = fitted[3].comparisons.get(name)
    return None if c is None else c[3]


def _red(d: _Draft, raw: dict[str, PhaseNumbers], roles: dict[str, PhaseNumbers] | None, role: str) -> float | None:
    """The role's reduction: over all its periods (randomized designs), else its first phase's."""
    if roles is not None:
        numbers = roles.get(role)
    else:
        keys = d.role_keys.get(role, [])
        numbers = raw.get(keys[0]) if keys else None
    return None if numbers is None else numbers.reduction_pct


def _blinded_caveats(d: _Draft) -> tuple[str, ...]:
    """A blinded report's caveats speak only of what it shows: each period's own numbers."""
    design = (BLINDED_DESIGN,) if BLINDED_DESIGN in d.caveats else ()
    return (*design, BLINDED_NUMBERS.format(n=d.options.endpoint_days))
