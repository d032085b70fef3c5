"""Readable terminal tables (rich) for the personal report and the cohort report."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

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
    units,
)
from diary_client.core.printable import printable

__all__ = ["fmt", "fmt_ci", "fmt_p", "print_personal", "print_cohort"]


def print_personal(report: PersonalReport, console: Console | None = None) -> None:
    console = console or Console()
    state = "blinded: period labels only, no comparisons" if report.blinded else "unblinded"
    console.print(f"[bold]{escape(printable(report.participant_id))}[/] · {report.study_id} · {state} · as of {report.as_of:%Y-%m-%d %H:%M}")
    t = Table(title="Phases", title_justify="left")
    for col in ("phase", "dates", "days filed", "expected", "compliance"):
        t.add_column(col, justify="left" if col in ("phase", "dates") else "right")
    for ph in report.phases:
        t.add_row(ph.name, f"{ph.start:%Y-%m-%d}→{ph.end:%m-%d}", str(ph.n), str(ph.expected), fmt(ph.compliance, ".0%"))
    console.print(t)
    t = Table(title="Each item by phase, as in the paper (raw means; reduction: % better than the baseline mean)",
              title_justify="left")
    columns = ("item", "phase", "n", "mean", "SD", f"last {report.options.endpoint_days}") + (
        () if report.blinded else ("red. %", "end red. %"))
    for col in columns:
        t.add_column(col, justify="left" if col in ("item", "phase") else "right")
    for rep in report.items.values():
        name = item_name(rep)
        for k, st in rep.phases.items():
            cells = [name, report.phase_label(k), str(st.n), fmt(st.mean), fmt(st.sd), fmt(st.endpoint_mean),
                     fmt(st.reduction_pct, "+.1f"), fmt(st.endpoint_reduction_pct, "+.1f")]
            t.add_row(*cells[:len(columns)])  # while blinded there are no comparisons to show
            name = ""
        t.add_section()
    console.print(t)
    if report.sequence is not None:
        _role_table(report, console)
    if report.other_items:
        t = Table(title="Other answers", title_justify="left")
        for col in ("item", "phase", "answers"):
            t.add_column(col)
        for o in report.other_items.values():
            name = o.label
            for k, s in o.phases.items():
                t.add_row(name, report.phase_label(k), tally_words(s))
                name = ""
            t.add_section()
        console.print(t)
    if not report.blinded:
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
    t = Table(title="Drug vs placebo, two views: percentage points of the baseline mean (paper; model [95% interval])",
              title_justify="left")
    for col in ("item", "paper", "model", "[95% interval]", "p", "p adj."):
        t.add_column(col, justify="left" if col == "item" else "right")
    for rep in report.items.values():
        vp = rep.model.vs_placebo_points if rep.model else None
        c = rep.active_vs_placebo
        t.add_row(item_name(rep), fmt(rep.vs_placebo_points, "+.1f"), fmt(vp and vp.value, "+.1f"),
                  fmt_ci(vp and vp.ci95), fmt_p(c.p if c else None), fmt_p(c.p_adj if c else None))
    console.print(t)
    t = Table(title="The model's differences in the item's own units (drug minus the other phase, 95% interval)",
                  title_justify="left")
    for col in ("item", "units", "drug − baseline", "p", "p adj.", "drug − placebo", "p", "p adj.", "φ", "eff. n"):
        t.add_column(col, justify="left" if col in ("item", "units") else "right")
    for rep in report.items.values():
        ab, ap = rep.active_vs_baseline, rep.active_vs_placebo
        t.add_row(item_name(rep), units(rep),
                  "—" if ab is None else f"{ab.diff:+.1f} {fmt_ci(ab.ci95)}", fmt_p(ab.p if ab else None), fmt_p(ab.p_adj if ab else None),
                  "—" if ap is None else f"{ap.diff:+.1f} {fmt_ci(ap.ci95)}", fmt_p(ap.p if ap else None), fmt_p(ap.p_adj if ap else None),
                  fmt(rep.autocorrelation, ".2f"), fmt(rep.effective_n, ".0f"))
    console.print(t)
    t = Table(title="The model's phase means [95% interval] and reductions (% better than the model's baseline mean)",
              title_justify="left")
    for col in ("item", "phase", "model mean", "[95% interval]", "reduction %", "[95% interval]"):
        t.add_column(col, justify="left" if col in ("item", "phase") else "right")
    for rep, phases in report.model_phases():
        for n, (k, e, red) in enumerate(phases):
            t.add_row(item_name(rep) if n == 0 else "", report.phase_label(k), fmt(e.value), fmt_ci(e.ci95),
                      fmt(red and red.value, "+.1f"), fmt_ci(red and red.ci95))
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
