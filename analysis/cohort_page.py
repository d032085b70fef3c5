"""The cohort report as one self-contained HTML page (`diary hub report --html`): inline CSS and SVG only.

The page makes no request of its own (no script, stylesheet, font or image from anywhere), so it
opens offline and can be mailed. Sections: the paper's table, a compliance heat map (participants
× study days, each state a shape as well as a colour), per-participant small multiples of the
primary item with phase bands, the responders, covariate scatters, the mixed model, the caveats.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from html import escape

import msgspec

from analysis.results import CohortSummary, Covariate, PersonalReport, PhaseRow, Series
from analysis.wording import EMPTY_PAPER, fmt, fmt_ci, fmt_p, responder_rule
from diary_client.core.entry import Entry, filed_timing
from diary_client.core.protocol import Protocol
from diary_client.core.schedule import day_statuses

# Each day state: (legend text, colour, the symbol's id). The shapes differ, so the map reads in grey too.
STATES = {
    "on_time": ("filed on time", "#2b6cb0", "s-on"),
    "late": ("filed late (in the grace period)", "#c05621", "s-late"),
    "import": ("imported (paper / legacy data)", "#2f855a", "s-imp"),
    "flagged": ("clock in doubt (flagged): a mark over the day's own state", "#6b46c1", "s-flag"),
    "missed": ("missed", "#c53030", "s-miss"),
    "overdue": ("not filed yet, grace period running", "#c05621", "s-due"),
    "open": ("window open now", "#2b6cb0", "s-open"),
    "upcoming": ("not yet", "#a0aec0", "s-up"),
}
CELL = 10  # heat map cell, px

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1320px;margin:20px auto;
padding:0 14px;color:#1a202c;line-height:1.45}
h1{font-size:1.45em;margin:0 0 4px}h2{font-size:1.15em;margin:1.8em 0 .4em;border-bottom:1px solid #e2e8f0;padding-bottom:3px}
.sub,.dim{color:#4a5568}.dim{font-size:.85em}
.note{background:#fffaf0;border-left:4px solid #dd6b20;padding:6px 12px 6px 26px;margin:10px 0}
.note li{margin:3px 0}.warn{background:#fff5f5;border-left:4px solid #c53030;padding:8px 12px;margin:10px 0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;margin:6px 0;font-size:.9em;font-variant-numeric:tabular-nums}
th,td{padding:4px 9px;border-bottom:1px solid #e2e8f0;text-align:right;vertical-align:top;white-space:nowrap}
th:first-child,td:first-child{text-align:left;position:sticky;left:0;background:#fff}
th,th:first-child{background:#f7fafc;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:6px 0 10px;font-size:.85em;list-style:none;padding:0}
.legend li{display:flex;align-items:center;gap:5px}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px}
.multiples figure{margin:0;border:1px solid #e2e8f0;border-radius:4px;padding:4px 6px 2px}
.scatters{grid-template-columns:repeat(auto-fill,minmax(300px,440px))}
figcaption{font-size:.82em;display:flex;justify-content:space-between;gap:6px}
figcaption b{font-weight:600}.yes{color:#276749;font-weight:600}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
svg.fluid{width:100%;height:auto}
.cards{display:flex;flex-wrap:wrap;gap:8px 22px;margin:8px 0}.cards div{min-width:120px}
.cards b{display:block;font-size:1.35em}
.heat{display:flex;align-items:flex-start}.heat>svg{flex:none}
"""


class HeatRow(msgspec.Struct, frozen=True):
    """One participant's study days as `diary_client.core.schedule.day_statuses` gives them."""

    participant_id: str
    statuses: Sequence[str]  # each day's filing state (`day_statuses` without the clock's doubts)
    flagged: frozenset[int] = frozenset()  # days (0-based) whose report the clock guard doubts: marked over the state


class PageRow(msgspec.Struct, frozen=True):
    """What the page draws of one participant, taken from her report as it goes by: a
    10,000-participant page keeps these (≈ 1.5 KB each), never the reports (≈ 45 KB)."""

    participant_id: str
    phases: tuple[PhaseRow, ...]  # bands, labels and compliance
    means: Mapping[str, float | None]  # the primary item's raw phase means, by phase key
    series: Series | None  # the primary item's daily values (reports made with `daily`; else None)
    points: float | None  # the primary item's vs_placebo_points
    responder: bool | None
    responder_points: float
    caveats: tuple[str, ...]
    sequence: tuple[str, ...] | None = None  # randomized designs: her phases in order (`ParticipantData.sequence`)


def page_row(r: PersonalReport) -> PageRow:
    it = r.primary
    means = {} if it is None else {k: n.mean for k, n in it.phases.items()}
    return PageRow(r.participant_id, r.phases, means, None if it is None else it.series,
                   None if it is None else it.vs_placebo_points, r.responder, r.responder_points, r.caveats,
                   r.sequence)


def heat_row(participant_id: str, protocol: Protocol, start: date, entries: list[Entry],
             flagged_ids: Collection[str], now: datetime) -> HeatRow:
    """A participant's heat map row; `now` in her own zone, `flagged_ids` the entries the hub holds clock doubts for."""
    statuses = day_statuses(protocol, start, now, filed_timing(entries))
    doubted = {(e.diary_date - start).days for e in entries if e.id in flagged_ids}
    # A doubt is drawn over the day's own state (on time or late), so "late" is never hidden by it.
    return HeatRow(participant_id, statuses,
                   frozenset(k for k in doubted if 0 <= k < len(statuses) and statuses[k] in ("on_time", "late")))


def page_pieces(rep: CohortSummary, people: Sequence[PageRow], heat: Sequence[HeatRow],
                covariates: Mapping[str, Mapping[str, float]] | None = None,
                left_out: Sequence[tuple[str, str]] = ()) -> Iterator[str]:
    """The page in order, in pieces that `private.write` writes as they come: the small multiples,
    one figure per participant, are made while the file is written, never all held at once."""
    primary = _primary(rep)
    parts: list[str | Iterator[str]] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Cohort report {escape(rep.study_id)}</title><style>{CSS}</style></head><body>",
        f"<h1>Cohort report — {escape(rep.study_id)}</h1>",
        f"<p class='sub'>As of {rep.as_of:%Y-%m-%d %H:%M} · unblinded (coordinators) · exploratory</p>",
        _cards(rep, people, primary),
    ]
    if left_out:
        parts.append("<div class='warn'><b>Left out of this report:</b> "
                     + "; ".join(f"{escape(pid)} ({escape(why)})" for pid, why in left_out) + "</div>")
    parts.append("<ul class='note'>" + "".join(f"<li>{escape(c)}</li>" for c in rep.caveats) + "</ul>")
    parts.append(_meta(rep))
    if rep.crossover is not None:
        parts.append(_crossover(rep))
    parts.append(_paper_table(rep, people))
    if rep.balance is not None:
        parts.append(_allocation(rep, people))
    parts.append(_heat_map(people, heat, bands=rep.design == "fixed"))
    if primary is not None:
        parts.append(_multiples(rep, people, primary))
        parts.append(_responders(rep, people, primary))
    if covariates and rep.covariates:
        parts.append(_scatters(rep, people, primary, covariates))
    parts.append(_mixed(rep, people))
    if people:
        parts.append("<h2>How the numbers are made</h2><ul class='dim'>"
                     + "".join(f"<li>{escape(c)}</li>" for c in people[0].caveats) + "</ul>")
    parts.append(f"<p class='dim'>Analysis version {escape(rep.analysis_version)} · {len(people)} participants · "
                 "each participant's data hash is in <code>diary hub report --json</code>.</p></body></html>")
    for i, part in enumerate(parts):
        if i:
            yield "\n"
        if isinstance(part, str):
            yield part
        else:
            yield from part


# -- reading the report (one place for each path into the results) -------------------------------

def _primary(rep: CohortSummary) -> str | None:
    return next((item_id for item_id, c in rep.cohort.items() if c.item.primary), None)


def _phase_labels(people: Sequence[PageRow]) -> dict[str, str]:
    return {p.key: p.label for p in people[0].phases} if people else {}


# -- sections ------------------------------------------------------------------------------------

def _cards(rep: CohortSummary, people: Sequence[PageRow], primary: str | None) -> str:
    c = rep.cohort.get(primary or "")
    meta = c.meta if c else None
    points = people[0].responder_points if people else None
    cards = [("participants", str(len(people))),
             ("responders", "not known yet" if people and rep.responders_not_known == len(people)
              else f"{rep.responders} of {len(people) - rep.responders_not_known}"
              + (f" ({rep.responders_not_known} not known yet)" if rep.responders_not_known else "")),
             (f"{c.label if c else 'primary'}: drug − placebo (meta-analysis)",
              "—" if meta is None else f"{meta.effect:+.1f} {fmt_ci(meta.ci95)}"),
             ("p (meta-analysis)", fmt_p(meta.p if meta else None)),
             ("drug − placebo reduction (paper)", f"{fmt(c.vs_placebo_points_mean if c else None, '+.1f')} percentage points")]
    rule = "" if points is None else f"<p class='dim'>Responder: {escape(responder_rule(points))}.</p>"
    return ("<div class='cards'>" + "".join(f"<div><b>{escape(v)}</b><span class='dim'>{escape(k)}</span></div>"
                                             for k, v in cards) + "</div>" + rule)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div class='scroll'><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>"


def _paper_table(rep: CohortSummary, people: Sequence[PageRow]) -> str:
    columns = rep.paper_columns()
    head = ["item"] + [escape(ph.label) for ph in columns] + [
        "active − placebo, percentage points", "p active vs baseline", "p active vs placebo"]
    rows = []
    for c in rep.cohort.values():
        cells = []
        for column in columns:
            ph = c.phases.get(column.id)
            cells.append("—" if not ph or ph.mean_reduction_pct is None else
                         f"{ph.mean_reduction_pct:+.1f} ± {fmt(ph.sd_reduction_pct)} <span class='dim'>n={ph.n}</span>")
        name = f"<b>{escape(c.label)}</b>" + (" <span class='dim'>(primary)</span>" if c.item.primary else "")
        rows.append([name, *cells, fmt(c.vs_placebo_points_mean, "+.1f") + " " + fmt_ci(c.ci95_vs_placebo_points),
                     fmt_p(c.p_active_vs_baseline), fmt_p(c.p_active_vs_placebo)])
    empty = all(c.vs_placebo_points_mean is None for c in rep.cohort.values())
    return ("<h2>As in the paper: reduction from baseline, % (mean ± SD across participants)</h2>"
            "<p class='dim'>Positive is better for every item. Tests are paired across participants "
            "(each participant's own reduction counts once); the interval is the 95% CI of the mean.</p>"
            + (f"<p><b>{escape(EMPTY_PAPER)}</b></p>" if empty else "") + _table(head, rows))


def _symbols() -> str:
    h = CELL - 2
    shapes = {
        "s-on": f"<rect x='1' y='1' width='{h}' height='{h}' fill='{STATES['on_time'][1]}'/>",
        "s-late": (f"<rect x='1.5' y='1.5' width='{h - 1}' height='{h - 1}' fill='#fff' stroke='{STATES['late'][1]}'/>"
                   f"<path d='M1 {CELL - 1}L{CELL - 1} 1V{CELL - 1}Z' fill='{STATES['late'][1]}'/>"),
        "s-imp": f"<circle cx='{CELL / 2}' cy='{CELL / 2}' r='{h / 2}' fill='{STATES['import'][1]}'/>",
        "s-flag": (f"<circle cx='{CELL - 2.5}' cy='2.5' r='2.4' fill='{STATES['flagged'][1]}' stroke='#fff' "
                   "stroke-width='0.8'/>"),
        "s-miss": (f"<path d='M2 2L{CELL - 2} {CELL - 2}M{CELL - 2} 2L2 {CELL - 2}' stroke='{STATES['missed'][1]}' "
                   "stroke-width='1.8'/>"),
        "s-due": (f"<rect x='1.5' y='1.5' width='{h - 1}' height='{h - 1}' fill='none' stroke='{STATES['overdue'][1]}' "
                  "stroke-dasharray='2 1.2'/>"),
        "s-open": f"<rect x='1.5' y='1.5' width='{h - 1}' height='{h - 1}' fill='none' stroke='{STATES['open'][1]}'/>",
        "s-up": f"<circle cx='{CELL / 2}' cy='{CELL / 2}' r='1' fill='{STATES['upcoming'][1]}'/>",
    }
    return "<defs>" + "".join(f"<g id='{k}'>{v}</g>" for k, v in shapes.items()) + "</defs>"


def _legend() -> str:
    items = []
    for text, _, sym in STATES.values():
        items.append(f"<li><svg width='{CELL}' height='{CELL}' aria-hidden='true'><use href='#{sym}'/></svg>"
                     f"{escape(text)}</li>")
    return "<ul class='legend'>" + "".join(items) + "</ul>"


def _heat_map(people: Sequence[PageRow], heat: Sequence[HeatRow], bands: bool = True) -> str:
    """The map; `bands`: the phases on top (a fixed design's, the same for everyone; a randomized
    design's periods differ by participant, so it has none: each one's own are in the small multiples)."""
    if not heat:
        return ""
    days = max(len(h.statuses) for h in heat)
    label_w, top = 64, 30
    width, height = days * CELL + 40, top + len(heat) * CELL + 18
    k = min(1.8, max(1.0, 900 / (days * CELL)))  # a short study's map drawn larger
    labels = [f"<svg width='{label_w * k:.0f}' height='{height * k:.0f}' viewBox='0 0 {label_w} {height}' "
              "aria-hidden='true'>"]
    labels.extend(f"<text x='0' y='{top + row * CELL + CELL - 1.5}' font-size='9.5'>"
                  f"{escape(_fit(h.participant_id, label_w - 4, 6))}</text>" for row, h in enumerate(heat))
    labels.append("</svg>")
    out = [f"<svg role='img' aria-labelledby='hm-title' width='{width * k:.0f}' height='{height * k:.0f}' "
           f"viewBox='0 0 {width} {height}'><title id='hm-title'>Compliance by participant and study day</title>",
           _symbols()]
    phases = people[0].phases if people and bands else ()
    for i, ph in enumerate(phases):
        x, w = (ph.first_day - 1) * CELL, (ph.last_day - ph.first_day + 1) * CELL
        out.append(f"<rect x='{x}' y='2' width='{w - 1}' height='14' fill='{'#edf2f7' if i % 2 else '#e2e8f0'}'/>"
                   f"<text x='{x + 3}' y='13' font-size='10'>{escape(_fit(ph.label, w))}</text>")
    for d in range(1, days + 1, 7):
        out.append(f"<text x='{(d - 1) * CELL}' y='{top - 3}' font-size='8' fill='#4a5568'>{d}</text>")
    comp = {r.participant_id: _compliance(r) for r in people}
    for row, h in enumerate(heat):
        y = top + row * CELL
        out.append(f"<g><title>{escape(h.participant_id)}</title>")
        # one string per row: 10,000 rows × 98 days as separate strings were ≈ 90 MB before the join
        out.append("".join(f"<use href='#{STATES[s][2]}' x='{k * CELL}' y='{y}'/>" for k, s in enumerate(h.statuses)
                           if s in STATES))
        out.append("".join(f"<use href='#s-flag' x='{k * CELL}' y='{y}'/>" for k in sorted(h.flagged)))
        out.append(f"</g><text x='{days * CELL + 4}' y='{y + CELL - 1.5}' font-size='9' fill='#4a5568'>"
                   f"{escape(comp.get(h.participant_id, ''))}</text>")
    out.append(f"<text x='0' y='{height - 4}' font-size='9' fill='#4a5568'>study day →</text></svg>")
    return ("<h2>Compliance: participants × study days</h2>"
            "<p class='dim'>One row per participant, one column per study day, with the phases on top; "
            "the number after each row is the share of days filed so far.</p>"
            + _legend() + "<div class='heat'>" + "".join(labels) + "<div class='scroll'>" + "".join(out) + "</div></div>")


def _compliance(r: PageRow) -> str:
    expected = sum(p.expected for p in r.phases)
    return fmt(sum(p.n for p in r.phases) / expected if expected else None, ".0%")


def _fit(text: str, width: float, per_char: float = 5.6) -> str:
    """Cut a label to the pixels it has (about `per_char` px a character at the page's small sizes)."""
    room = int(width // per_char)
    return text if len(text) <= room else (text[: max(room - 1, 0)] + "…" if room > 1 else "")


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


def _multiples(rep: CohortSummary, people: Sequence[PageRow], item_id: str) -> Iterator[str]:
    """The section's pieces, a figure per participant (≈ 6 KB each with its dots), made as written."""
    item = rep.cohort[item_id].item
    lo, hi = 0.0, 100.0  # VAS; a number item: its own range where the protocol gives one
    if item.kind != "vas" and item.min is not None and item.max is not None:
        lo, hi = float(item.min), float(item.max)
    yield (f"<h2>{escape(rep.cohort[item_id].label)} by day, each participant</h2>"
           f"<p class='dim'>Dots: each day's value ({escape(item.better)} is better); lines: the phase means; "
           "shaded bands: the phases (labels on top). Missing days leave gaps.</p><div class='multiples'>")
    yield from (_multiple(r, item_id, lo, hi) for r in people)
    yield "</div>"


def _multiple(r: PageRow, item_id: str, lo: float, hi: float) -> str:
    w, h, left, top, bottom = 250, 96, 22, 14, 12
    last = max((p.last_day for p in r.phases), default=1)
    sx, sy = _scale(1, last, left, w - 2), _scale(lo, hi, h - bottom, top)
    out = [f"<svg class='fluid' viewBox='0 0 {w} {h}' role='img' aria-label='{escape(r.participant_id)} {escape(item_id)} by day'>"]
    for i, ph in enumerate(r.phases):
        x0, x1 = sx(ph.first_day - 0.5), sx(ph.last_day + 0.5)
        out.append(f"<rect x='{x0:.1f}' y='{top}' width='{x1 - x0:.1f}' height='{h - bottom - top}' "
                   f"fill='{('#f7fafc', '#e2e8f0')[i % 2]}'/>"
                   f"<text x='{x0 + 1:.1f}' y='{top - 3}' font-size='7.5' fill='#4a5568'>{escape(_fit(ph.label, x1 - x0, 4.2))}</text>")
        mean = r.means.get(ph.key)
        if mean is not None:
            out.append(f"<line x1='{x0:.1f}' x2='{x1:.1f}' y1='{sy(mean):.1f}' y2='{sy(mean):.1f}' stroke='#c53030' stroke-width='1.4'/>")
    for v in (lo, (lo + hi) / 2, hi):
        out.append(f"<text x='{left - 3}' y='{sy(v) + 3:.1f}' font-size='7' text-anchor='end' fill='#4a5568'>{v:g}</text>")
    pts = list(zip(r.series.days, r.series.values)) if r.series else []
    out.append("".join(f"<circle cx='{sx(d):.1f}' cy='{sy(v):.1f}' r='1.3' fill='#2b6cb0'/>" for d, v in pts))
    out.append("</svg>")
    points = r.points
    verdict = "<span class='yes'>✓ responder</span>" if r.responder else ("not a responder" if r.responder is False else "—")
    return (f"<figure><figcaption><b>{escape(r.participant_id)}</b><span>{fmt(points, '+.1f')} pp · {verdict}</span>"
            f"</figcaption>{''.join(out)}</figure>")


def _responders(rep: CohortSummary, people: Sequence[PageRow], item_id: str) -> str:
    rows = sorted(((r.participant_id, r.points, r.responder) for r in people),
                  key=lambda t: (t[1] is None, -(t[1] or 0)))
    known = [p for _, p, _ in rows if p is not None]
    threshold = people[0].responder_points
    lo, hi = min([*known, 0.0, threshold]) - 5, max([*known, 0.0, threshold]) + 5
    w, left, line = 640, 96, 16
    h = 24 + len(rows) * line
    sx = _scale(lo, hi, left, w - 10)
    out = [f"<svg class='fluid' style='max-width:{w}px' viewBox='0 0 {w} {h}' role='img' "
           f"aria-label='Active minus placebo, percentage points, each participant'>",
           f"<line x1='{sx(0):.1f}' x2='{sx(0):.1f}' y1='12' y2='{h - 4}' stroke='#a0aec0'/>",
           f"<line x1='{sx(threshold):.1f}' x2='{sx(threshold):.1f}' y1='12' y2='{h - 4}' stroke='#276749' stroke-dasharray='4 3'/>",
           f"<text x='{sx(threshold) + 3:.1f}' y='10' font-size='9' fill='#276749'>responder ≥ {threshold:g}</text>",
           f"<text x='{sx(0) + 3:.1f}' y='10' font-size='9' fill='#4a5568'>0</text>"]
    for k, (pid, p, yes) in enumerate(rows):
        y = 24 + k * line
        out.append(f"<text x='0' y='{y + 3}' font-size='10'>{escape(_fit(pid, left - 8, 6))}</text>")
        if p is None:
            out.append(f"<text x='{left}' y='{y + 3}' font-size='9' fill='#4a5568'>not known yet</text>")
            continue
        mark = (f"<rect x='{sx(p) - 4:.1f}' y='{y - 4}' width='8' height='8' fill='#276749'/>" if yes else
                f"<circle cx='{sx(p):.1f}' cy='{y}' r='4' fill='#fff' stroke='#2d3748' stroke-width='1.3'/>")
        out.append(f"<line x1='{sx(0):.1f}' x2='{sx(p):.1f}' y1='{y}' y2='{y}' stroke='#cbd5e0'/>{mark}"
                   f"<text x='{sx(p) + (8 if p >= 0 else -8):.1f}' y='{y + 3}' font-size='9' "
                   f"text-anchor='{'start' if p >= 0 else 'end'}'>{p:+.1f}{' ✓' if yes else ''}</text>")
    out.append("</svg>")
    ids = ", ".join(escape(i) for i in rep.responder_ids) or "none"
    return (f"<h2>Responders: {escape(rep.responders_phrase())}</h2>"
            f"<p>Responders ({escape(item_id)}): {ids}.</p>"
            "<p class='dim'>Each participant's active minus placebo reduction (percentage points of her baseline "
            "mean); filled squares with ✓ are responders, open circles are not.</p>" + "".join(out))


def _scatters(rep: CohortSummary, people: Sequence[PageRow], primary: str | None,
              covariates: Mapping[str, Mapping[str, float]]) -> str:
    points = {r.participant_id: r.points for r in people} if primary else {}
    figs = []
    for name, c in rep.covariates.items():
        pairs = [(row[name], y, pid) for pid, row in covariates.items()
                 if name in row and (y := points.get(pid)) is not None]
        figs.append(_scatter(name, c, pairs))
    return ("<h2>Covariates against the primary item's active − placebo points</h2>"
            "<div class='multiples scatters'>" + "".join(figs) + "</div>")


def _scatter(name: str, c: Covariate, pairs: list[tuple[float, float, str]]) -> str:
    w, h, left, right, top, bottom = 340, 220, 36, 26, 20, 26
    caption = f"n = {c.n} · r = {fmt(c.r, '.2f')} · r² = {fmt(c.r2, '.2f')} · p = {fmt_p(c.p)}"
    out = [f"<svg class='fluid' viewBox='0 0 {w} {h}' role='img' aria-label='{escape(name)} scatter'>"]
    if pairs:
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        sx = _scale(min(xs), max(xs), left, w - right)
        sy = _scale(min(ys + [0.0]), max(ys + [0.0]), h - bottom, top)
        out.append(f"<line x1='{left}' x2='{w - right}' y1='{sy(0):.1f}' y2='{sy(0):.1f}' stroke='#cbd5e0'/>")
        if len(pairs) >= 3 and max(xs) > min(xs):
            mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
            slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            x0, x1 = min(xs), max(xs)
            out.append(f"<line x1='{sx(x0):.1f}' x2='{sx(x1):.1f}' y1='{sy(my + slope * (x0 - mx)):.1f}' "
                       f"y2='{sy(my + slope * (x1 - mx)):.1f}' stroke='#c53030' stroke-dasharray='5 3'/>")
        for x, y, pid in pairs:
            out.append(f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='3.2' fill='#2b6cb0'><title>{escape(pid)}: "
                       f"{x:g}, {y:+.1f}</title></circle>")
            if len(pairs) <= 30:
                out.append(f"<text x='{sx(x) + 4:.1f}' y='{sy(y) - 3:.1f}' font-size='7.5' fill='#4a5568'>{escape(pid)}</text>")
        for v in (min(xs), max(xs)):
            out.append(f"<text x='{sx(v):.1f}' y='{h - 12}' font-size='8' text-anchor='middle'>{v:g}</text>")
        for v in sorted({min(ys), 0.0, max(ys)}):
            out.append(f"<text x='{left - 3}' y='{sy(v) + 3:.1f}' font-size='8' text-anchor='end'>{v:+.0f}</text>")
    out.append(f"<text x='{w / 2}' y='{h - 2}' font-size='9' text-anchor='middle'>{escape(name)} →</text>"
               f"<text x='2' y='8' font-size='8' fill='#4a5568'>points ↑</text></svg>")
    return (f"<figure><figcaption><b>{escape(name)}</b></figcaption><div class='dim'>{escape(caption)}</div>"
            f"{''.join(out)}</figure>")


def _mixed(rep: CohortSummary, people: Sequence[PageRow]) -> str:
    labels = {ph.id: ph.label for ph in rep.phases} or _phase_labels(people)
    columns = list(dict.fromkeys(p for m in rep.mixed_model.values() for p in m.effects))
    if not columns:
        return ""
    rows = []
    for item_id, m in rep.mixed_model.items():
        effects = {**m.effects, "vs placebo": m.active_vs_placebo}
        cells = [(effects.get(p)) for p in [*columns, "vs placebo"]]
        rows.append([escape(rep.cohort[item_id].label if item_id in rep.cohort else item_id)] + [
            "—" if e is None else f"{e.estimate:+.1f} <span class='dim'>{fmt_ci(e.ci95)} p {fmt_p(e.p)}</span>"
            for e in cells])
    head = ["item", *(escape(labels.get(p, p)) + " − baseline" for p in columns), "drug − placebo"]
    model = next(iter(rep.mixed_model.values())).model
    return (f"<h2>Sensitivity: mixed model</h2><p class='dim'>{escape(model)}: each phase's difference in the "
            "item's own units (negative = lower), 95% CI and p (Satterthwaite df).</p>" + _table(head, rows))


def _meta(rep: CohortSummary) -> str:
    rows = []
    for c in rep.cohort.values():
        m = c.meta
        name = f"<b>{escape(c.label)}</b>" + (" <span class='dim'>(primary)</span>" if c.item.primary else "")
        if m is None:
            rows.append([name, "—", "—", "—", "—", "—", "—"])
            continue
        rows.append([name, str(m.k), f"{m.effect:+.1f} {fmt_ci(m.ci95)}", fmt_p(m.p), fmt(m.tau), fmt(m.i2, ".0f") + "%",
                     fmt_ci(m.prediction_interval)])
    method = next((c.meta.method for c in rep.cohort.values() if c.meta), "")
    return ("<h2>Primary result: drug − placebo across participants</h2>"
            "<p class='dim'>Each participant's model difference (drug − placebo, in the item's own units; negative "
            "= lower), combined across participants. τ: the spread of the true effect between participants; the "
            "prediction interval: where a new participant's effect would fall."
            f"{' Method: ' + escape(method) + '.' if method else ''}</p>"
            + _table(["item", "k", "effect [95% CI]", "p", "τ", "I²", "95% prediction interval"], rows))


def _allocation(rep: CohortSummary, people: Sequence[PageRow]) -> str:
    """Each participant's sequence, and how many follow each sequence the design admits."""
    balance = "".join(f"<tr><td>{escape(k.replace('>', ' → '))}</td><td>{n}</td></tr>"
                      for k, n in (rep.balance or {}).items())
    rows = []
    for r in people:
        roles = {p.phase or p.key: p.role for p in r.phases}
        seq = " → ".join(f"<span title='{escape(roles.get(ph) or '')}'>{escape(ph)}</span>" for ph in r.sequence or ())
        rows.append([escape(r.participant_id), seq or "—"])
    return (f"<h2>Allocation ({escape(rep.design)}): sequences and balance</h2>"
            "<p class='dim'>How many participants of this report follow each sequence the design admits, "
            "and each participant's own sequence of phases.</p>"
            f"<div class='scroll'><table><thead><tr><th>sequence</th><th>participants</th></tr></thead>"
            f"<tbody>{balance}</tbody></table></div>" + _table(["participant", "sequence"], rows))


def _crossover(rep: CohortSummary) -> str:
    x = rep.crossover
    assert x is not None
    rows = [[name, f"{part.estimate:+.1f}", fmt_ci(part.ci95), fmt_p(part.p)]
            for name, part in (("drug − placebo", x.treatment), ("period 1 − period 2", x.period),
                               ("carry-over (totals: drug first − placebo first)", x.carryover))]
    return (f"<h2>Two-period crossover analysis: {escape(x.item)}</h2>"
            f"<p class='dim'>{x.n_active_first} participants had the drug first, {x.n_placebo_first} placebo first; "
            f"item units. {escape(x.method)}.</p>" + _table(["effect", "estimate", "95% CI", "p"], rows))
