"""Readable terminal tables (rich) for the personal report and the cohort report."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .cohort import CohortReport
from .personal import PersonalReport
from .summary import tally_words


def fmt(x, spec: str = ".1f", none: str = "—") -> str:
    return none if x is None else format(x, spec)


def fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_ci(ci) -> str:
    return "—" if not ci else f"[{ci[0]:.1f}, {ci[1]:.1f}]"


def print_personal(report: PersonalReport, console: Console | None = None) -> None:
    console = console or Console()
    state = "blinded: period labels only, no comparisons" if report.blinded else "unblinded"
    console.print(f"[bold]{report.participant_id}[/] · {report.study_id} · {state} · as of {report.as_of:%Y-%m-%d %H:%M}")
    t = Table(title="Phases", title_justify="left")
    for col in ("phase", "dates", "days filed", "expected", "compliance"):
        t.add_column(col, justify="left" if col in ("phase", "dates") else "right")
    for ph in report.phases:
        t.add_row(ph.label, f"{ph.start:%Y-%m-%d}→{ph.end:%m-%d}", str(ph.n), str(ph.expected), fmt(ph.compliance, ".0%"))
    console.print(t)
    labels = {ph.key: ph.label for ph in report.phases}
    t = Table(title="Each item by phase (reduction: % better than the baseline mean)", title_justify="left")
    columns = ("item", "phase", "n", "mean", "SD", "last 3") + (() if report.blinded else ("red. %", "end red. %"))
    for col in columns:
        t.add_column(col, justify="left" if col in ("item", "phase") else "right")
    for item_id, rep in report.items.items():
        name = f"{item_id}{' *' if rep.item.primary else ''}"
        for k, st in rep.phases.items():
            cells = [name, labels.get(k, k), str(st["n"]), fmt(st["mean"]), fmt(st["sd"]), fmt(st["endpoint_mean"]),
                     fmt(st["reduction_pct"], "+.1f"), fmt(st["endpoint_reduction_pct"], "+.1f")]
            t.add_row(*cells[:len(columns)])  # while blinded there are no comparisons to show
            name = ""
        t.add_section()
    console.print(t)
    if report.other_items:
        t = Table(title="Other answers", title_justify="left")
        for col in ("item", "phase", "answers"):
            t.add_column(col)
        for item_id, o in report.other_items.items():
            name = item_id
            for k, s in o["phases"].items():
                t.add_row(name, labels.get(k, k), tally_words(s))
                name = ""
            t.add_section()
        console.print(t)
    if not report.blinded:
        t = Table(title="Active vs comparators (AR(1) model; difference in the item's units, 95% CI)", title_justify="left")
        for col in ("item", "vs placebo, points", "active − baseline", "p", "active − placebo", "p", "φ", "eff. n"):
            t.add_column(col, justify="left" if col == "item" else "right")
        for item_id, rep in report.items.items():
            ab, ap = rep.comparisons.get("active_vs_baseline"), rep.comparisons.get("active_vs_placebo")
            t.add_row(item_id, fmt(rep.vs_placebo_points, "+.1f"),
                      "—" if ab is None else f"{ab.diff:+.1f} {fmt_ci(ab.ci95)}", fmt_p(ab and ab.p),
                      "—" if ap is None else f"{ap.diff:+.1f} {fmt_ci(ap.ci95)}", fmt_p(ap and ap.p),
                      fmt(rep.autocorrelation, ".2f"), fmt(rep.effective_n, ".0f"))
        console.print(t)
        verdict = {True: "responder", False: "not a responder", None: "not yet known"}[report.responder]
        console.print(f"Primary item: [bold]{verdict}[/] (responder = active minus placebo reduction ≥ "
                      f"{report.responder_points:g} points).")
    for c in report.caveats:
        console.print(f"[dim]• {c}[/]")
    console.print(f"[dim]analysis {report.analysis_version} · data {report.data_hash}[/]")


def print_cohort(report: CohortReport, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{report.study_id}[/] · {len(report.participants)} participants · "
                  f"{report.responders} responders · as of {report.as_of:%Y-%m-%d %H:%M}")
    t = Table(title="Reduction vs baseline, % (mean ± SD across participants)", title_justify="left")
    phase_ids = list(dict.fromkeys(p for c in report.cohort.values() for p in c["phases"]))
    t.add_column("item")
    for p in phase_ids:
        t.add_column(p, justify="right")
    for col in ("vs placebo, points", "p active vs baseline", "p active vs placebo"):
        t.add_column(col, justify="right")
    for item_id, c in report.cohort.items():
        cells = []
        for p in phase_ids:
            s = c["phases"].get(p)
            cells.append("—" if not s or s["mean_reduction_pct"] is None
                         else f"{s['mean_reduction_pct']:+.1f} ± {fmt(s['sd_reduction_pct'])} (n={s['n']})")
        t.add_row(item_id, *cells, fmt(c["vs_placebo_points_mean"], "+.1f"),
                  fmt_p(c["p_active_vs_baseline"]), fmt_p(c["p_active_vs_placebo"]))
    console.print(t)
    if report.covariates:
        t = Table(title="Covariates against the primary item's vs_placebo_points", title_justify="left")
        for col in ("covariate", "n", "r", "r²", "p"):
            t.add_column(col, justify="left" if col == "covariate" else "right")
        for name, c in report.covariates.items():
            t.add_row(name, str(c["n"]), fmt(c["r"], ".2f"), fmt(c["r2"], ".2f"), fmt_p(c["p"]))
        console.print(t)
    t = Table(title="Sensitivity: mixed model, value ~ phase + (1 | participant), difference from baseline",
              title_justify="left")
    for col in ("item", "phase", "estimate", "95% CI", "p"):
        t.add_column(col, justify="left" if col in ("item", "phase") else "right")
    for item_id, m in report.mixed_model.items():
        rows = list(m.get("effects", {}).items())
        if m.get("active_vs_placebo"):
            rows.append(("active − placebo", m["active_vs_placebo"]))
        for phase, e in rows:
            t.add_row(item_id, phase, f"{e['estimate']:+.1f}", fmt_ci(e["ci95"]), fmt_p(e["p"]))
    console.print(t)
    for c in report.caveats:
        console.print(f"[dim]• {c}[/]")
    console.print(f"[dim]analysis {report.analysis_version}[/]")
