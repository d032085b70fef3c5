"""`hub report --cent`: the cohort laid out by the CENT 2015 checklist, one self-contained HTML page (inline CSS and SVG).

CENT 2015 (Vohra et al., BMJ 2015;350:h1738; Shamseer et al., BMJ 2015;350:h1793) extends CONSORT
to N-of-1 trials and series of them. The page fills the items the data can fill, each saying where
its numbers come from (a path into `diary hub report --json`, or the protocol); every number
taken from that document carries its path (`data-json`, a JSON pointer) so a test can check it;
the items only people can write are listed as left to the authors. No script, stylesheet, font
or image is fetched: the page opens offline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

import msgspec

from analysis.cohort_page import CSS
from analysis.results import CohortSummary, PersonalReport
from analysis.wording import fmt, fmt_p
from diary_client.core.protocol import Protocol

CENT = "CENT 2015 (Vohra et al., BMJ 2015;350:h1738; explanation: Shamseer et al., BMJ 2015;350:h1793)"
# Items no diary can fill: (item, what it asks, in short)
LEFT_TO_AUTHORS = (
    ("1a", "Title: identified as a series of N-of-1 trials"),
    ("1b", "Structured abstract"),
    ("2a", "Scientific background, and the rationale for an N-of-1 approach"),
    ("2b", "Specific objectives or hypotheses"),
    ("3b", "Important changes to methods after the trial began, with reasons"),
    ("4a", "Diagnosis, diagnostic criteria, comorbid conditions and concurrent therapies"),
    ("4b", "Settings and locations where the data were collected"),
    ("4c", "Whether the trial is a research study, and ethics approval"),
    ("6b", "Changes to outcomes after the trial began, with reasons"),
    ("7a-b", "How the sample size and number of periods were decided; interim analyses and stopping rules"),
    ("10", "Who enrolled participants and assigned them to their sequences"),
    ("11b", "How alike the interventions were (look, taste, schedule)"),
    ("12b", "Any additional analyses (subgroups, adjusted) beyond those listed in 12a"),
    ("13b", "Reasons for each withdrawal and exclusion, per period"),
    ("14b", "Why the trial ended or was stopped"),
    ("15", "Baseline demographic and clinical characteristics"),
    ("17b", "Absolute and relative effects for binary outcomes"),
    ("18", "Other analyses, pre-specified or exploratory"),
    ("20-22", "Discussion: limitations, generalisability, interpretation"),
    ("23-25", "Registration, where the protocol can be read, funding"),
)
PAGE_CSS = CSS + """
section.item{border-top:1px solid #e2e8f0;margin-top:1.4em}section.item h2{border:0;margin-top:.8em}
.src{font-size:.82em;color:#4a5568;background:#f7fafc;padding:4px 8px;border-radius:3px}
.src code{word-break:break-all}
ol.left{columns:2 320px;font-size:.9em}
svg.flow{max-width:440px;width:100%;height:auto}
@media (max-width:600px){th,td{white-space:normal}}
"""


class CentRow(msgspec.Struct, frozen=True):
    """What the page shows of one participant, taken from her report as it goes by (never the report)."""

    participant_id: str
    points: float | None  # the primary item's vs_placebo_points
    responder: bool | None
    adherence: Mapping[str, Mapping[str, tuple[int, int]]]  # yes/no item -> phase -> (yes days, answered days)


def cent_row(r: PersonalReport) -> CentRow:
    it = r.primary
    adherence = {item_id: {k: (t.yes or 0, t.n) for k, t in o.phases.items()}
                 for item_id, o in r.other_items.items() if o.item.kind == "yesno" and o.item.phases}
    return CentRow(r.participant_id, None if it is None else it.vs_placebo_points, r.responder, adherence)


def _v(path: str, value, spec: str = ".1f") -> str:
    """A number from the JSON report, tagged with its path (a JSON pointer) so it can be checked."""
    text = "—" if value is None else (str(value) if isinstance(value, int) else format(value, spec))
    return f"<span data-json='{escape(path, quote=True)}'>{escape(text)}</span>"


def _ci(path: str, ci, spec: str = ".1f") -> str:
    if not ci:
        return "—"
    return f"[{_v(path + '/0', ci[0], spec)}, {_v(path + '/1', ci[1], spec)}]"


def _src(*paths: str) -> str:
    return "<p class='src'>Source: " + "; ".join(paths) + "</p>"


def _json(path: str) -> str:
    return f"<code>hub report --json</code> <code>{escape(path)}</code>"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div class='scroll'><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>"


def _item(number: str, title: str, body: str) -> str:
    return f"<section class='item' id='cent-{number}'><h2>{number} · {escape(title)}</h2>{body}</section>"


def cent_html(rep: CohortSummary, protocol: Protocol, people: Sequence[CentRow]) -> str:
    """The whole page: `rep` the cohort's results, `protocol` the study's, `people` each participant's row in report order."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>CENT 2015 report {escape(rep.study_id)}</title><style>{PAGE_CSS}</style></head><body>",
        f"<h1>{escape(protocol.title)} — a series of N-of-1 trials</h1>",
        f"<p class='sub'>Study {escape(rep.study_id)}, protocol version {protocol.version} · laid out by {escape(CENT)} · "
        f"as of {rep.as_of:%Y-%m-%d %H:%M} · exploratory</p>",
        "<p class='dim'>Each item below is filled from the diary's data; its source names the field of "
        "<code>diary hub report --json</code> or of the protocol file it comes from. The items only the "
        "authors can write are listed at the end.</p>",
        _design(rep, protocol),
        _interventions(rep, protocol, people),
        _outcomes(protocol),
        _allocation(rep, protocol),
        _blinding(rep, protocol),
        _methods(rep),
        _flow(rep),
        _recruitment(rep),
        _analysed(rep),
        _effects(rep, people),
        _harms(rep),
        "<section class='item' id='cent-left'><h2>Left to the authors</h2><p class='dim'>These items need "
        "people: the diary holds nothing to fill them with.</p><ol class='left'>"
        + "".join(f"<li><b>{n}</b> {escape(t)}</li>" for n, t in LEFT_TO_AUTHORS) + "</ol></section>",
        f"<p class='dim'>Analysis version {escape(rep.analysis_version)}.</p></body></html>",
    ]
    return "\n".join(parts)


def _design(rep: CohortSummary, p: Protocol) -> str:
    rows = [[f"{n}", escape(ph.label), escape(ph.role), f"{ph.days}"] for n, ph in enumerate(p.phases, 1)]
    return _item("3a", "Trial design: periods and their length", (
        f"<p>Each participant follows {len(p.phases)} periods in the same fixed order, "
        f"{p.days_total} days in all, and files one report a day.</p>"
        + _table(["period", "intervention", "role", "days"], rows)
        + _src("the protocol file: <code>[[phases]]</code> (id, label, role, days)")))


def _interventions(rep: CohortSummary, p: Protocol, people: Sequence[CentRow]) -> str:
    rows = []
    for item_id in dict.fromkeys(k for r in people for k in r.adherence):
        item = p.item(item_id)
        for ph in p.phases:
            pairs = [r.adherence[item_id][ph.id] for r in people if ph.id in r.adherence.get(item_id, {})]
            if not pairs:
                continue
            yes, n = sum(a for a, _ in pairs), sum(b for _, b in pairs)
            rows.append([escape(item.name), escape(ph.label), f"{yes} of {n} days",
                         "—" if not n else f"{100 * yes / n:.1f}%", f"{len(pairs)}"])
    body = "".join(f"<li>{escape(ph.label)} <span class='dim'>({escape(ph.role)}, {ph.days} days)</span></li>"
                   for ph in p.phases)
    taken = (_table(["question", "period", "answered yes", "share", "participants"], rows) if rows else
             "<p class='dim'>The protocol asks no yes/no question limited to some periods (such as "
             "\"Did you take today's capsule?\"), so how the interventions were taken is not known here.</p>")
    return _item("5", "Interventions as administered", (
        f"<p>Planned, in order:</p><ul>{body}</ul><p>As administered, from the participants' own daily answers:</p>"
        + taken + "<p class='dim'>Dose changes and other medicines filed as events are not counted on this page.</p>"
        + _src(_json("/participants/*/other_items/<item>/phases/<period>") + " (yes, n), summed over participants")))


def _outcomes(p: Protocol) -> str:
    s = p.schedule
    rows = []
    for i in p.items:
        asked = "every period" if not i.phases else ", ".join(escape(p.phase(x).label) for x in i.phases)
        direction = f"{i.better} is better" if i.numeric else "—"
        rows.append([f"<b>{escape(i.name)}</b>" + (" <span class='dim'>(primary)</span>" if i.primary else ""),
                     escape(i.kind), escape(direction), asked])
    return _item("6a", "Outcomes: what was measured, how and when", (
        f"<p>Every day, in a report filed on the participant's own device between {s.opens:%H:%M} and "
        f"{s.closes:%H:%M} (accepted {s.grace_hours:g} hours later, marked late; after that the day is missed "
        "and cannot be filled in later).</p>"
        + _table(["outcome", "kind", "direction", "asked in"], rows)
        + _src("the protocol file: <code>[[items]]</code>, <code>[schedule]</code>")))


def _allocation(rep: CohortSummary, p: Protocol) -> str:
    rows = [[f"<code>{escape(seq)}</code>", _v(f"/flow/allocated/{_ptr(seq)}", n)]
            for seq, n in rep.flow.allocated.items()]
    return _item("8-9", "Order of the periods, allocation and concealment", (
        "<p>The order of the periods was fixed by the protocol, not randomised: every participant follows "
        "the same sequence, so there was no allocation sequence to generate or conceal.</p>"
        + _table(["sequence", "participants"], rows)
        + _src(_json("/flow/allocated"))))


def _ptr(key: str) -> str:
    """A key as a JSON pointer spells it (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _blinding(rep: CohortSummary, p: Protocol) -> str:
    who = {"open": "No one was blinded (open label).",
           "single": "Participants were blinded: they saw neutral period names, never the treatment, until "
                     "unblinding.",
           "double": "Participants and their devices were blinded: the order of the periods was kept on the "
                     "coordinator's hub, not on the device, until unblinding."}[p.blinding]
    when = (" They were unblinded after the end of their study." if p.unblind_after_end and p.blinding != "open" else "")
    b = rep.blinding
    if not b.asked:
        check = "<p>The protocol did not ask participants which treatment they thought they were taking.</p>"
    else:
        rows = []
        for role, idx in b.bang.items():
            rows.append([f"Bang, {escape(role)} periods", _v(f"/blinding/bang/{role}/index", idx.index, ".3f"),
                         _ci(f"/blinding/bang/{role}/ci95", idx.ci95, ".3f"), _v(f"/blinding/bang/{role}/n", idx.n),
                         escape(idx.reason or "")])
        j = b.james
        rows.append(["James, whole study", _v("/blinding/james/index", j.index, ".3f"),
                     _ci("/blinding/james/ci95", j.ci95, ".3f"), _v("/blinding/james/n", j.n), escape(j.reason or "")])
        counts = [[escape(role)] + [_v(f"/blinding/counts/{role}/{_ptr(a)}", n) for a, n in c.items()]
                  for role, c in b.counts.items()]
        check = ("<p>At the end of each treatment period the participant was asked which she thought she had "
                 "been taking (drug, placebo, or don't know) and how sure she was.</p>"
                 + _table(["period role", *(escape(a) for a in next(iter(b.counts.values())))], counts)
                 + _table(["index", "estimate", "95% CI", "guesses", "note"], rows)
                 + "<ul>" + "".join(f"<li>{escape(m)}</li>" for m in b.meaning) + "</ul>"
                 + f"<p class='dim'>{escape(b.method)}.</p>")
    return _item("11a", "Blinding: who was blinded, and did the blind hold", (
        f"<p>{escape(who + when)}</p>" + check
        + _src("the protocol file: <code>blinding</code>, <code>unblind_after_end</code>, "
               "<code>[blinding_check]</code>; " + _json("/blinding"))))


def _methods(rep: CohortSummary) -> str:
    o = rep.options
    meta = next((c.meta.method for c in rep.cohort.values() if c.meta), None)
    lines = [f"Each participant's daily values: {o.inference}."
             + (" A linear study-day trend is in the model." if o.trend else ""),
             f"Secondary items' p-values adjusted across items: {o.multiplicity}.",
             *(f"Days left out at the start of each {role} period: {n}." for role, n in (o.exclude_first_days or {}).items() if n),
             *rep.caveats]
    if meta:
        lines.append(f"Across participants: {meta}.")
    return _item("12a", "Statistical methods", (
        "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in lines) + "</ul>"
        + _src(_json("/analysis_options") + ", " + _json("/caveats") + ", " + _json("/cohort/<item>/meta/method"))))


def _flow(rep: CohortSummary) -> str:
    f = rep.flow
    boxes: list[tuple[str, list[str]]] = [("Enrolled", [_svg_v("/flow/enrolled", f.enrolled) + " participants"])]
    for seq, n in f.allocated.items():
        boxes.append(("Allocated", [escape(seq.replace(">", " → ")) + ": "
                                    + _svg_v(f"/flow/allocated/{_ptr(seq)}", n)]))
    labels = {ph.id: ph.label for ph in rep.phases}
    for k, pp in enumerate(f.periods):
        path = f"/flow/periods/{k}"
        boxes.append((f"Period {k + 1}: {labels.get(pp.phase, pp.phase)} ({pp.role})", [
            "started " + _svg_v(path + "/started", pp.started) + " · completed " + _svg_v(path + "/completed", pp.completed),
            "filed a report " + _svg_v(path + "/reported", pp.reported)]))
    boxes.append(("Analysed (primary comparison)", [_svg_v("/flow/analysed", f.analysed) + " participants"]))
    w, h, gap = 380, 62, 22
    svg = [f"<svg class='flow' viewBox='0 0 {w} {len(boxes) * (h + gap) - gap + 2}' role='img' "
           "aria-label='participant flow, period by period'>"]
    for k, (title, lines) in enumerate(boxes):
        y = k * (h + gap) + 1
        svg.append(f"<rect x='4' y='{y}' width='{w - 8}' height='{h}' rx='4' fill='#f7fafc' stroke='#4a5568'/>")
        svg.append(f"<text x='{w / 2}' y='{y + 19}' text-anchor='middle' font-size='14' font-weight='600'>"
                   f"{escape(title)}</text>")
        for j, line in enumerate(lines):
            svg.append(f"<text x='{w / 2}' y='{y + 37 + 16 * j}' text-anchor='middle' font-size='13'>{line}</text>")
        if k:
            svg.append(f"<line x1='{w / 2}' y1='{y - gap}' x2='{w / 2}' y2='{y - 3}' stroke='#4a5568'/>"
                       f"<path d='M{w / 2 - 4} {y - 8} L{w / 2} {y - 2} L{w / 2 + 4} {y - 8}' fill='none' stroke='#4a5568'/>")
    svg.append("</svg>")
    return _item("13a", "Participant flow, period by period", (
        "".join(svg)
        + f"<p>Withdrawn: {_v('/flow/withdrawn', f.withdrawn)}. A period is <i>started</i> once its first day "
          "has come before any withdrawal, <i>completed</i> once its last day's grace period is over without "
          "one; <i>filed a report</i> counts those with at least one report in it.</p>"
        + _src(_json("/flow"))))


def _svg_v(path: str, value: int) -> str:
    return f"<tspan data-json='{escape(path, quote=True)}'>{value}</tspan>"


def _recruitment(rep: CohortSummary) -> str:
    f = rep.flow
    return _item("14a", "Recruitment and follow-up dates", (
        f"<p>First participant's day 1: <span data-json='/flow/recruitment/first_start'>{_date(f.first_start)}</span>; "
        f"last participant's day 1: <span data-json='/flow/recruitment/last_start'>{_date(f.last_start)}</span>; "
        f"the last planned day of follow-up: <span data-json='/flow/recruitment/last_end'>{_date(f.last_end)}</span>.</p>"
        + _src(_json("/flow/recruitment"))))


def _date(d) -> str:
    return "—" if d is None else d.isoformat()


def _analysed(rep: CohortSummary) -> str:
    rows = [[escape(c.label), _v(f"/cohort/{_ptr(k)}/n_active_vs_placebo", c.n_active_vs_placebo),
             _v(f"/cohort/{_ptr(k)}/n_active_vs_baseline", c.n_active_vs_baseline),
             _v(f"/cohort/{_ptr(k)}/meta/k", c.meta.k) if c.meta else "—"] for k, c in rep.cohort.items()]
    return _item("16", "Numbers analysed", (
        f"<p>Of {_v('/n_participants', rep.n_participants)} participants reported on, each analysis used those "
        "with days in both of its periods; the analysis is by the periods as planned.</p>"
        + _table(["outcome", "drug vs placebo", "drug vs baseline", "meta-analysis (k)"], rows)
        + _src(_json("/cohort/<item>/n_active_vs_placebo") + ", " + _json("/cohort/<item>/meta/k"))))


def _effects(rep: CohortSummary, people: Sequence[CentRow]) -> str:
    primary = next(((k, c) for k, c in rep.cohort.items() if c.item.primary), None)
    if primary is None:
        return ""
    key, c = primary
    m = c.meta
    rows = []
    for n, r in enumerate(people):
        shrunk = None if m is None else m.shrunken.get(r.participant_id)
        rows.append([escape(r.participant_id),
                     _v(f"/participants/{n}/items/{_ptr(key)}/vs_placebo_points", r.points, "+.1f"),
                     _v(f"/cohort/{_ptr(key)}/meta/shrunken/{_ptr(r.participant_id)}", shrunk, "+.1f"),
                     {True: "yes", False: "no", None: "not yet"}[r.responder]])
    pooled = ("<p>Pooled (meta-analysis, drug − placebo in the item's units): "
              + (f"{_v(f'/cohort/{_ptr(key)}/meta/effect', m.effect, '+.1f')} "
                 f"{_ci(f'/cohort/{_ptr(key)}/meta/ci95', m.ci95)}, p {fmt_p(m.p)}, "
                 f"τ {fmt(m.tau)}, prediction interval {_ci(f'/cohort/{_ptr(key)}/meta/prediction_interval', m.prediction_interval)}"
                 if m else "not estimable yet") + ".</p>"
              + f"<p>As in the paper (drug − placebo reduction, percentage points): mean "
                f"{_v(f'/cohort/{_ptr(key)}/vs_placebo_points_mean', c.vs_placebo_points_mean, '+.1f')} "
                f"{_ci(f'/cohort/{_ptr(key)}/ci95_vs_placebo_points', c.ci95_vs_placebo_points)}; responders "
                f"{_v('/responders', rep.responders)}.</p>")
    return _item("17a", f"Effects per participant and pooled: {c.label} (primary)", (
        pooled + _table(["participant", "drug − placebo reduction, points (paper)",
                         "drug − placebo, model (shrunken)", "responder"], rows)
        + _src(_json("/participants/<n>/items/<primary>/vs_placebo_points") + ", "
               + _json("/cohort/<primary>/meta"))))


def _harms(rep: CohortSummary) -> str:
    sev = ("mild", "moderate", "severe")

    def cells(path: str, h) -> list[str]:
        return [_v(path + "/participants", h.participants), _v(path + "/events", h.events),
                _v(path + "/serious", h.serious), *(_v(f"{path}/by_severity/{s}", h.by_severity[s]) for s in sev)]

    head = ["participants with an event", "events", "serious", *sev]
    by_period = [[f"{escape(ph.period)} <span class='dim'>({escape(ph.role)})</span>",
                  *cells(f"/harms_by_period/{k}", ph.harms)] for k, ph in enumerate(rep.harms_by_period)]
    by_role = [[escape(role), *cells(f"/harms/{_ptr(role)}", h)] for role, h in rep.harms.items()]
    return _item("19", "Harms, per period", (
        "<p>Adverse events the participants filed, counted in the period their start date falls in.</p>"
        + _table(["period", *head], by_period) + "<p>The same by the periods' role:</p>"
        + _table(["role", *head], by_role) + _src(_json("/harms_by_period") + ", " + _json("/harms"))))
