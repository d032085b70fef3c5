"""The personal report as one self-contained HTML page: chart (embedded PNG), tables, caveats, provenance."""

from __future__ import annotations

import base64
from html import escape

from analysis.results import PersonalReport
from analysis.summary import tally_words
from analysis.wording import (
    fmt,
    fmt_ci,
    fmt_p,
    model_sentence,
    randomization_words,
    responder_rule,
    responder_verdict,
    rule_words,
    units,
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;margin:24px auto;
padding:0 16px;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#555;margin-top:4px}table{border-collapse:collapse;margin:8px 0;font-size:.92em}
th,td{padding:4px 10px;border-bottom:1px solid #e5e5e5;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f5f6f8}
.dim{color:#666;font-size:.85em}.note{background:#fff8e5;border-left:4px solid #e0b64c;padding:8px 12px 8px 28px}
.long td:nth-child(2),.long th:nth-child(2){text-align:left}img{max-width:100%;border:1px solid #eee}
.verdict{font-size:1.1em}.timeline{max-width:100%;height:auto}.plain{font-size:1.1em;background:#eef3fb;border-left:4px solid #3b5b92;padding:8px 12px}
"""


def personal_html(report: PersonalReport, png: bytes | None) -> str:
    """The whole page as text; `png` is the chart (from analysis.chart) embedded as base64."""
    r = report
    state = ("Blinded: you see period labels only; comparisons between periods appear after unblinding."
             if r.blinded else "Unblinded: true phase names and comparisons.")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Diary report {escape(r.participant_id)}</title><style>{CSS}</style></head><body>",
        f"<h1>Symptom diary report — {escape(r.participant_id)}</h1>",
        f"<p class='sub'>Study {escape(r.study_id)} · as of {r.as_of:%Y-%m-%d %H:%M} · {escape(state)}</p>",
    ]
    if not r.blinded:
        sentence = model_sentence(r)
        if sentence:
            parts.append(f"<p class='plain'>{escape(sentence)}</p>")
        rule = ("the rule holds: " + rule_words(r.responder_rule) if r.responder_rule is not None
                else responder_rule(r.responder_points))
        parts.append(f"<p class='verdict'>As in the paper: <b>{responder_verdict(r)}</b> "
                     f"(a responder is someone for whom {escape(rule)}).</p>")
        primary = r.primary
        if primary is not None and primary.randomization_test is not None:
            parts.append(f"<p class='plain'>{escape(randomization_words(primary.randomization_test, primary.label))}</p>")
        if r.sequence is not None:
            parts.append(timeline_svg(r))
    parts.append("<ul class='note'>" + "".join(f"<li>{escape(c)}</li>" for c in r.caveats) + "</ul>")
    if png:
        legend = ("Red line: the period's mean." if r.blinded else  # a blinded chart draws no model
                  "Red line: the phase's raw mean (as in the paper). Purple dashes and shading: the model's "
                  "phase mean and its 95% interval.")
        parts.append(f"<h2>Daily values</h2><p class='dim'>Dots: each day's value (missing days leave a gap). {legend}</p>")
        parts.append(f"<img alt='daily values by phase' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    if not r.blinded:
        parts.append(_comparisons(r))
    parts.append(_phases(r))
    parts.append(_items(r))
    if r.sequence is not None:
        parts.append(_roles(r))
    if not r.blinded:
        parts.append(_model_means(r))
    if r.other_items:
        parts.append(_others(r))
    o = r.options
    if o.exclude_first_days is None:  # blinded: it names roles
        excluded = "days that are withheld while you are blinded" + (" (so are its numbers)" if o.model_withheld else "")
    else:
        excluded = ", ".join(f"the first {d} days of each {escape(role)} phase"
                             for role, d in o.exclude_first_days.items() if d) or "no days"
    if r.blinded:  # no comparison is shown: no word on how comparisons are made
        parts.append(f"<p class='dim'>Analysis version {escape(r.analysis_version)} · data hash "
                     f"<code>{escape(r.data_hash)}</code> (protocol, start date and each day's latest answers).</p>")
        parts.append("</body></html>")
        return "\n".join(parts)
    parts.append(f"<p class='dim'>Analysis version {escape(r.analysis_version)} · options: linear trend "
                 f"{'on' if o.trend else 'off'}; the model leaves out {excluded}; secondary items' p-values adjusted "
                 f"by {escape(o.multiplicity)} · method: {escape(o.inference)} · data hash "
                 f"<code>{escape(r.data_hash)}</code> (protocol, start date and each day's latest answers).</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _name(rep) -> str:
    return f"<b>{escape(rep.label)}</b>{' (primary)' if rep.item.primary else ''}"


def _phases(r: PersonalReport) -> str:
    rows = [[escape(p.label), f"{p.start} – {p.end}", str(p.n), str(p.expected), fmt(p.compliance, ".0%")]
            for p in r.phases]
    return "<h2>Phases</h2>" + _table(["phase", "dates", "days filed", "expected", "compliance"], rows)


def _items(r: PersonalReport) -> str:
    head = ["item", "phase", "n", "mean", "SD", f"last-{r.options.endpoint_days}-day mean", "reduction %",
            "endpoint reduction %",
            "effective n"]
    rows = []
    for rep in r.items.values():
        name = f"{_name(rep)}<br><span class='dim'>{rep.item.better} is better</span>"
        for k, s in rep.phases.items():
            rows.append([name, escape(r.phase_label(k)), str(s.n), fmt(s.mean), fmt(s.sd), fmt(s.endpoint_mean),
                         fmt(s.reduction_pct, "+.1f"), fmt(s.endpoint_reduction_pct, "+.1f"), fmt(s.effective_n, ".1f")])
            name = ""
    return ("<h2>Each item by phase, as in the paper</h2><p class='dim'>Raw means of the days filed; reduction: "
            "% better than the baseline mean.</p>" + _table(head, rows, "long"))


def _comparisons(r: PersonalReport) -> str:
    head = ["item", "drug − placebo, percentage points: paper", "model [95% interval]",
            "drug − placebo in the item's units [95% interval]", "p", "p adjusted",
            "drug − baseline in the item's units [95% interval]", "p"]
    rows = []
    for rep in r.items.values():
        vp = rep.model.vs_placebo_points if rep.model else None
        ab, ap = rep.active_vs_baseline, rep.active_vs_placebo
        rows.append([_name(rep), fmt(rep.vs_placebo_points, "+.1f"),
                     "—" if vp is None else f"{fmt(vp.value, '+.1f')} {fmt_ci(vp.ci95)}",
                     "—" if ap is None else f"{ap.diff:+.1f} {escape(units(rep))} {fmt_ci(ap.ci95)}",
                     fmt_p(ap.p if ap else None), fmt_p(ap.p_adj if ap else None),
                     "—" if ab is None else f"{ab.diff:+.1f} {fmt_ci(ab.ci95)}", fmt_p(ab.p if ab else None)])
    return ("<h2>The drug against placebo and baseline</h2><p class='dim'>Percentage points: the drug's reduction "
            "minus the placebo's, both as % of the baseline mean (positive = better on the drug). Item units: the "
            "drug phase's mean minus the other phase's (for a lower-is-better item, negative = better on the drug). "
            "The model's intervals and p-values allow for the day-to-day autocorrelation; the secondary items' "
            "p-values are also shown adjusted for looking at several items.</p>" + _table(head, rows))


def _model_means(r: PersonalReport) -> str:
    rows = []
    for rep, phases in r.model_phases():
        for n, (k, e, red) in enumerate(phases):
            rows.append([_name(rep) if n == 0 else "", escape(r.phase_label(k)), f"{fmt(e.value)} {fmt_ci(e.ci95)}",
                         "—" if red is None else "reference" if red.ci95 is None and red.value == 0
                         else f"{fmt(red.value, '+.1f')} {fmt_ci(red.ci95)}",
                         fmt(rep.phases[k].mean) if k in rep.phases else "—"])
    return ("<h2>The model's phase means</h2><p class='dim'>Phase means from the model with AR(1) errors, with "
            "95% intervals, and the reductions from them; the raw mean beside each for comparison.</p>"
            + _table(["item", "phase", "model mean [95% interval]", "reduction % [95% interval]", "raw mean"], rows,
                     "long"))


def _others(r: PersonalReport) -> str:
    rows = []
    for o in r.other_items.values():
        for k, s in o.phases.items():
            rows.append([escape(o.label), escape(r.phase_label(k)), escape(tally_words(s))])
    return "<h2>Other answers</h2>" + _table(["item", "phase", "answers"], rows, "long")


# CENT 2015's individual diagram: each period a bar in her order, coloured by role
ROLE_COLOURS = {"baseline": "#a0aec0", "placebo": "#63b3ed", "active": "#dd6b20", "washout": "#e2e8f0", "other": "#cbd5e0"}


def timeline_svg(r: PersonalReport) -> str:
    """Her schedule once unblinded: the periods as coloured bars with their labels and dates, and each
    period's days filed; a randomized design's participant sees the order she was allocated."""
    if not r.phases:
        return ""
    last = max(p.last_day for p in r.phases)
    w, left, bar, top = 960, 8, 34, 22
    scale = (w - 2 * left) / last
    out = [f"<svg class='timeline' viewBox='0 0 {w} {top + bar + 40}' role='img' "
           "aria-label='Your periods in order, coloured by what they were'>"]
    for p in r.phases:
        x, width = left + (p.first_day - 1) * scale, (p.last_day - p.first_day + 1) * scale
        colour = ROLE_COLOURS.get(p.role or "other", "#cbd5e0")
        room = max(int(width // 6.5), 0)
        label = p.label if len(p.label) <= room else p.label[: max(room - 1, 0)] + "…" if room > 1 else ""
        out.append(f"<g><title>{escape(p.name)}: {p.start} – {p.end}, {p.n} of {p.expected} days filed</title>"
                   f"<rect x='{x:.1f}' y='{top}' width='{max(width - 1, 1):.1f}' height='{bar}' fill='{colour}' rx='2'/>"
                   f"<text x='{x + 3:.1f}' y='{top + 14}' font-size='11'>{escape(label)}</text>"
                   f"<text x='{x + 3:.1f}' y='{top + 28}' font-size='9' fill='#333'>"
                   f"{escape(str(p.period or '')) + '.' if p.period and room > 3 else ''}"
                   f"{f' {p.n}/{p.expected} d' if room > 9 else ''}</text></g>")
        out.append(f"<text x='{x:.1f}' y='{top - 6}' font-size='9' fill='#555'>{p.start:%d %b}</text>" if room > 5 else "")
    legend = [(role, colour) for role, colour in ROLE_COLOURS.items() if any(p.role == role for p in r.phases)]
    for i, (role, colour) in enumerate(legend):
        x = left + i * 120
        out.append(f"<rect x='{x}' y='{top + bar + 14}' width='12' height='12' fill='{colour}'/>"
                   f"<text x='{x + 16}' y='{top + bar + 24}' font-size='11'>{escape(role)}</text>")
    out.append("</svg>")
    return ("<h2>Your periods</h2><p class='dim'>Your schedule in the order it ran, each period coloured by what it "
            "was; under each label: the period's number and the days you filed of those expected.</p>" + "".join(out))


def _roles(r: PersonalReport) -> str:
    head = ["item", "role", "n", "mean", f"last-{r.options.endpoint_days}-day mean (each period)", "reduction %",
            "endpoint reduction %", "model mean [95% interval]"]
    rows = []
    for rep in r.items.values():
        name = _name(rep)
        model = (rep.model.roles if rep.model else None) or {}
        for role, s in (rep.roles or {}).items():
            m = model.get(role)
            rows.append([name, escape(role), str(s.n), fmt(s.mean), fmt(s.endpoint_mean), fmt(s.reduction_pct, "+.1f"),
                         fmt(s.endpoint_reduction_pct, "+.1f"), "—" if m is None else f"{fmt(m.value)} {fmt_ci(m.ci95)}"])
            name = ""
    return ("<h2>Each item by role, all its periods pooled</h2><p class='dim'>As in the paper: the days of all the "
            "role's periods together; the endpoint: each period's last days, pooled; reductions against the whole "
            "baseline mean. The model: the mean of the role's period means.</p>" + _table(head, rows, "long"))
