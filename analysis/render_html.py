"""The personal report as one self-contained HTML page: chart (embedded PNG), tables, caveats, provenance."""

from __future__ import annotations

import base64
from html import escape

from .personal import PersonalReport
from .render_text import fmt, fmt_ci, fmt_p
from .summary import tally_words

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1180px;margin:24px auto;
padding:0 16px;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#555;margin-top:4px}table{border-collapse:collapse;margin:8px 0;font-size:.92em}
th,td{padding:4px 10px;border-bottom:1px solid #e5e5e5;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f5f6f8}
.dim{color:#777;font-size:.85em}.note{background:#fff8e5;border-left:4px solid #e0b64c;padding:8px 12px 8px 28px}
.long td:nth-child(2),.long th:nth-child(2){text-align:left}img{max-width:100%;border:1px solid #eee}.verdict{font-size:1.1em}
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
        verdict = {True: "a responder", False: "not a responder", None: "not yet known"}[r.responder]
        parts.append(f"<p class='verdict'>Primary item: <b>{verdict}</b> (active minus placebo reduction "
                     f"≥ {r.responder_points:g} points).</p>")
    parts.append("<ul class='note'>" + "".join(f"<li>{escape(c)}</li>" for c in r.caveats) + "</ul>")
    if png:
        parts.append("<h2>Daily values</h2><p class='dim'>Dots: each day's value (missing days leave a gap). "
                     "Red line: phase mean; shaded: its 95% CI from the AR(1) model.</p>")
        parts.append(f"<img alt='daily values by phase' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    if not r.blinded:
        parts.append(_comparisons(r))
    parts.append(_phases(r))
    parts.append(_items(r))
    if r.other_items:
        parts.append(_others(r))
    parts.append(f"<p class='dim'>Analysis version {escape(r.analysis_version)} · data hash "
                 f"<code>{escape(r.data_hash)}</code> (protocol, start date and each day's latest answers).</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _phases(r: PersonalReport) -> str:
    rows = [[escape(p.label), f"{p.start} – {p.end}", str(p.n), str(p.expected), fmt(p.compliance, ".0%")]
            for p in r.phases]
    return "<h2>Phases</h2>" + _table(["phase", "dates", "days filed", "expected", "compliance"], rows)


def _items(r: PersonalReport) -> str:
    head = ["item", "phase", "n", "mean", "SD", "last-3-day mean", "reduction %", "endpoint reduction %",
            "effective n"]
    labels = {p.key: p.label for p in r.phases}
    rows = []
    for item_id, rep in r.items.items():
        name = (f"<b>{escape(item_id)}</b>{' (primary)' if rep.item.primary else ''}"
                f"<br><span class='dim'>{rep.item.better} is better</span>")
        for k, s in rep.phases.items():
            rows.append([name, escape(labels.get(k, k)), str(s["n"]), fmt(s["mean"]), fmt(s["sd"]),
                         fmt(s["endpoint_mean"]), fmt(s["reduction_pct"], "+.1f"),
                         fmt(s["endpoint_reduction_pct"], "+.1f"), fmt(s["effective_n"], ".1f")])
            name = ""
    return "<h2>Each item by phase</h2>" + _table(head, rows, "long")


def _comparisons(r: PersonalReport) -> str:
    head = ["item", "vs placebo (points)", "active − baseline [95% CI]", "p", "active − placebo [95% CI]", "p",
            "lag-1 autocorrelation", "effective n"]
    rows = []
    for item_id, rep in r.items.items():
        ab, ap = rep.comparisons.get("active_vs_baseline"), rep.comparisons.get("active_vs_placebo")
        rows.append([escape(item_id), fmt(rep.vs_placebo_points, "+.1f"),
                     "—" if ab is None else f"{ab.diff:+.1f} {fmt_ci(ab.ci95)}", fmt_p(ab and ab.p),
                     "—" if ap is None else f"{ap.diff:+.1f} {fmt_ci(ap.ci95)}", fmt_p(ap and ap.p),
                     fmt(rep.autocorrelation, ".2f"), fmt(rep.effective_n, ".0f")])
    return ("<h2>Active phase against baseline and placebo</h2><p class='dim'>Differences in the item's own "
            "units (negative = lower on the active phase), from phase means with AR(1) errors.</p>"
            + _table(head, rows))


def _others(r: PersonalReport) -> str:
    labels = {p.key: p.label for p in r.phases}
    rows = []
    for item_id, o in r.other_items.items():
        for k, s in o["phases"].items():
            rows.append([escape(item_id), escape(labels.get(k, k)), escape(tally_words(s))])
    return "<h2>Other answers</h2>" + _table(["item", "phase", "answers"], rows, "long")
