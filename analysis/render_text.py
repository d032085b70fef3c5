"""Readable terminal tables (rich) for the personal report and the cohort report."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from analysis.plain import headline
from analysis.results import CohortSummary, PersonalReport
from analysis.summary import tally_words
from analysis.wording import (
    EMPTY_PAPER,
    EMPTY_PRIMARY,
    fmt,
    fmt_ci,
    fmt_p,
    item_name,
    model_sentence,
    randomization_words,
    responder_rule,
    responder_verdict,
    rule_words,
)
from diary_client.core.printable import printable

__all__ = ["fmt", "fmt_ci", "fmt_p", "print_personal", "print_cohort"]


def _table(title: str, *columns: str, wrap_first: bool = True) -> Table:
    """A table that fits 80 columns without cutting a word: light rules, no outer padding, every
    column but the first kept on one line (the first wraps between words, never inside one)."""
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for n, col in enumerate(columns):
        first = n == 0
        t.add_column(col, justify="left" if first or col in ("phase", "period", "dates") else "right",
                     no_wrap=not (first and wrap_first), overflow="fold")
    return t


def _with_ci(value: float | None, ci, spec: str = ".1f") -> str:
    """A number and its 95% range in one cell: "55.5 [43.7, 72.2]"."""
    return "—" if value is None else f"{format(value, spec)} {fmt_ci(ci)}" if ci else format(value, spec)


def print_personal(report: PersonalReport, console: Console | None = None) -> None:
    """Plain words first (what happened, how sure), then the numbers and the method."""
    console = console or Console()
    blinded = report.blinded
    state = "blinded" if blinded else "unblinded"
    console.print(f"[bold]{escape(printable(report.participant_id))}[/] · {report.study_id} · {state} · as of {report.as_of:%Y-%m-%d %H:%M}")
    console.print("")
    console.print("[bold]In plain words[/]")
    for line in headline(report):
        console.print(line)
    console.print("")
    console.print("[bold]The numbers[/]" + ("" if blinded else " — and how they were worked out, below"))
    t = _table("Periods" if blinded else "Phases", "period" if blinded else "phase", "dates", "days filed",
               "expected", "share")
    for ph in report.phases:
        t.add_row(ph.name, f"{ph.start:%Y-%m-%d}→{ph.end:%m-%d}", str(ph.n), str(ph.expected), fmt(ph.compliance, ".0%"))
    console.print(t)
    n = report.options.endpoint_days
    if blinded:
        t = _table(f"Each item by period (means of the days filed; last {n}: of the period's last {n} days)",
                   "item", "period", "days", "mean", "SD", f"last {n}")
    else:
        t = _table("Each item by phase, as in the paper (means of the days filed; better: % better than "
                   f"the baseline mean, over the whole phase and its last {n} days)",
                   "item", "phase", "days", "mean", "SD", f"last {n}", "better", f"last {n} better")
    for rep in report.items.values():
        name = item_name(rep)
        for k, st in rep.phases.items():
            cells = [name, report.phase_label(k), str(st.n), fmt(st.mean), fmt(st.sd), fmt(st.endpoint_mean),
                     fmt(st.reduction_pct, "+.0f"), fmt(st.endpoint_reduction_pct, "+.0f")]
            t.add_row(*cells[:len(t.columns)])  # while blinded there are no comparisons to show
            name = ""
        t.add_section()
    console.print(t)
    if report.sequence is not None:
        _role_table(report, console)
    if report.other_items:
        t = _table("Other answers", "item", "period" if blinded else "phase", "answers", wrap_first=True)
        t.columns[2].no_wrap = False  # the answers wrap between words
        for o in report.other_items.values():
            name = o.label
            for k, s in o.phases.items():
                t.add_row(name, report.phase_label(k), tally_words(s))
                name = ""
            t.add_section()
        console.print(t)
    if not blinded:
        _model_tables(report, console)
        rule = (rule_words(report.responder_rule) if report.responder_rule is not None
                else responder_rule(report.responder_points))
        console.print(f"Primary item: [bold]{responder_verdict(report)}[/] (responder: {escape(rule)}).")
        sentence = model_sentence(report)
        if sentence:
            console.print(sentence)
        primary = report.primary
        if primary is not None and primary.randomization_test is not None:
            console.print(escape(randomization_words(primary.randomization_test, primary.label)))
    for c in report.caveats:
        console.print(f"[dim]• {c}[/]")
    if blinded:
        console.print(f"[dim]analysis {report.analysis_version} · data {report.data_hash}[/]")
        return
    opts = report.options
    if opts.exclude_first_days is None:  # blinded: it names roles
        excluded = "days withheld while blinded" + (" (so are its numbers)" if opts.model_withheld else "")
    else:
        excluded = ", ".join(f"first {d} days of {r}" for r, d in opts.exclude_first_days.items() if d) or "none"
    console.print(f"[dim]analysis {report.analysis_version} · options: trend {'on' if opts.trend else 'off'}, "
                  f"model leaves out {excluded}, multiplicity {opts.multiplicity} · data {report.data_hash}[/]")


def _role_table(report: PersonalReport, console: Console) -> None:
    """A randomized design's items by role: every period of the role pooled (the paper's arithmetic; the model's mean of period means)."""
    t = Table(title="Each item by role, all its periods pooled (raw means; the model: mean of its periods' means)",
              title_justify="left")
    for col in ("item", "role", "n", "mean", f"last {report.options.endpoint_days}", "red. %", "end red. %", "model mean", "[95% interval]"):
        t.add_column(col, justify="left" if col in ("item", "role") else "right")
    for rep in report.items.values():
        name = item_name(rep)
        model = (rep.model.roles if rep.model else None) or {}
        for role, st in (rep.roles or {}).items():
            m = model.get(role)
            t.add_row(name, role, str(st.n), fmt(st.mean), fmt(st.endpoint_mean), fmt(st.reduction_pct, "+.1f"),
                      fmt(st.endpoint_reduction_pct, "+.1f"), fmt(m and m.value), fmt_ci(m and m.ci95))
            name = ""
        t.add_section()
    console.print(t)


def _model_tables(report: PersonalReport, console: Console) -> None:
    t = _table("Drug vs placebo in percentage points of the baseline mean: the paper's arithmetic, and the "
               "model's with its 95% interval and p-values (p adj.: adjusted across items)",
               "item", "paper", "model", "95% interval", "p", "p adj.")
    for rep in report.items.values():
        vp = rep.model.vs_placebo_points if rep.model else None
        c = rep.active_vs_placebo
        t.add_row(item_name(rep), fmt(rep.vs_placebo_points, "+.1f"), fmt(vp and vp.value, "+.1f"),
                  fmt_ci(vp and vp.ci95), fmt_p(c.p if c else None), fmt_p(c.p_adj if c else None))
    console.print(t)
    for name, other in (("active_vs_baseline", "baseline"), ("active_vs_placebo", "placebo")):
        extra = ("φ", "eff. n") if other == "placebo" else ()
        t = _table(f"The model's difference, drug − {other}, in the item's own units (0–100 points for a scale)"
                   + (", with the day-to-day autocorrelation φ and the effective number of days" if extra else ""),
                   "item", "difference", "95% interval", "p", "p adj.", *extra)
        for rep in report.items.values():
            c = rep.comparison(name)
            cells = [item_name(rep), "—" if c is None else f"{c.diff:+.1f}", fmt_ci(c.ci95 if c else None),
                     fmt_p(c.p if c else None), fmt_p(c.p_adj if c else None)]
            if extra:
                cells += [fmt(rep.autocorrelation, ".2f"), fmt(rep.effective_n, ".0f")]
            t.add_row(*cells)
        console.print(t)
    t = _table("The model's phase means and reductions (% better than the model's baseline mean), each with "
               "its 95% interval", "item", "phase", "mean", "reduction %")
    for rep, phases in report.model_phases():
        for n, (k, e, red) in enumerate(phases):
            t.add_row(item_name(rep) if n == 0 else "", report.phase_label(k), _with_ci(e.value, e.ci95),
                      _with_ci(None if red is None else red.value, None if red is None else red.ci95, "+.1f"))
        t.add_section()
    console.print(t)


def print_cohort(report: CohortSummary, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{report.study_id}[/] · {report.n_participants} participants · "
                  f"{report.responders_phrase()} · as of {report.as_of:%Y-%m-%d %H:%M}")
    t = Table(title="Primary result: random-effects meta-analysis of each participant's model difference "
                    "(drug − placebo, item units)", title_justify="left")
    for col in ("item", "k", "mean effect [95% CI]", "p", "τ", "I²", "95% prediction interval"):
        t.add_column(col, justify="left" if col == "item" else "right")
    for c in report.cohort.values():
        m = c.meta
        if m is None:
            t.add_row(c.label, "—", "—", "—", "—", "—", "—")
            continue
        t.add_row(c.label, str(m.k), f"{m.effect:+.1f} {fmt_ci(m.ci95)}", fmt_p(m.p), fmt(m.tau), fmt(m.i2, ".0f") + "%",
                  fmt_ci(m.prediction_interval))
    console.print(t)
    if all(c.meta is None for c in report.cohort.values()):
        console.print(f"[dim]{EMPTY_PRIMARY}[/]")
    t = Table(title="As in the paper: reduction vs baseline, % (mean ± SD across participants)", title_justify="left")
    columns = report.paper_columns()
    t.add_column("item")
    for ph in columns:
        t.add_column(ph.label, justify="right")
    for col in ("vs placebo, percentage points", "p drug vs baseline", "p drug vs placebo"):
        t.add_column(col, justify="right")
    for c in report.cohort.values():
        cells = []
        for ph in columns:
            s = c.phases.get(ph.id)
            cells.append("—" if not s or s.mean_reduction_pct is None
                         else f"{s.mean_reduction_pct:+.1f} ± {fmt(s.sd_reduction_pct)} (n={s.n})")
        t.add_row(c.label, *cells, fmt(c.vs_placebo_points_mean, "+.1f"), fmt_p(c.p_active_vs_baseline),
                  fmt_p(c.p_active_vs_placebo))
    console.print(t)
    if all(c.vs_placebo_points_mean is None for c in report.cohort.values()):
        console.print(f"[dim]{EMPTY_PAPER}[/]")
    if report.balance is not None:
        console.print(f"Design: {report.design} · participants per sequence: "
                      + ", ".join(f"{k.replace('>', ' → ')}: {n}" for k, n in report.balance.items()))
    if report.crossover is not None:
        _crossover_table(report, console)
    if report.covariates:
        t = Table(title="Covariates against the primary item's vs_placebo_points", title_justify="left")
        for col in ("covariate", "n", "r", "r²", "p"):
            t.add_column(col, justify="left" if col == "covariate" else "right")
        for name, cv in report.covariates.items():
            t.add_row(name, str(cv.n), fmt(cv.r, ".2f"), fmt(cv.r2, ".2f"), fmt_p(cv.p))
        console.print(t)
    t = Table(title="Sensitivity: mixed model, value ~ phase + (1 + drug | participant), difference from baseline "
                    "(Satterthwaite df)", title_justify="left")
    for col in ("item", "phase", "estimate", "95% CI", "df", "p"):
        t.add_column(col, justify="left" if col in ("item", "phase") else "right")
    for item_id, mm in report.mixed_model.items():
        rows = list(mm.effects.items())
        if mm.active_vs_placebo:
            rows.append(("drug − placebo", mm.active_vs_placebo))
        label = report.cohort[item_id].label if item_id in report.cohort else item_id
        for phase, e in rows:
            t.add_row(label, phase, f"{e.estimate:+.1f}", fmt_ci(e.ci95), fmt(e.df, ".1f"), fmt_p(e.p))
            label = ""
    console.print(t)
    for note in report.caveats:
        console.print(f"[dim]• {note}[/]")
    console.print(f"[dim]analysis {report.analysis_version} · {report.options.inference}[/]")


def _crossover_table(report: CohortSummary, console: Console) -> None:
    x = report.crossover
    assert x is not None
    t = Table(title=f"Two-period crossover analysis of {x.item} (item units; {x.n_active_first} drug first, "
                    f"{x.n_placebo_first} placebo first)", title_justify="left")
    for col in ("effect", "estimate", "95% CI", "p"):
        t.add_column(col, justify="left" if col == "effect" else "right")
    for name, part in (("drug − placebo", x.treatment), ("period 1 − period 2", x.period),
                       ("carry-over (totals: drug first − placebo first)", x.carryover)):
        t.add_row(name, f"{part.estimate:+.1f}", fmt_ci(part.ci95), fmt_p(part.p))
    console.print(t)
    console.print(f"[dim]{escape(x.method)}[/]")
