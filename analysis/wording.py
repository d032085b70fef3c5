"""The words and number formats every renderer of a report uses (text, HTML, the app's summary)."""

from __future__ import annotations

from analysis.randomization import RandomizationTest
from analysis.results import ItemResult, PersonalReport, RuleVerdict


def fmt(x, spec: str = ".1f", none: str = "—") -> str:
    return none if x is None else format(x, spec)


def fmt_p(p: float | None) -> str:
    if p is None:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_ci(ci) -> str:
    return "—" if not ci else f"[{ci[0]:.1f}, {ci[1]:.1f}]"


def units(rep: ItemResult) -> str:
    """The unit of an item's own values: VAS points on 0–100, or the number item's units."""
    return "points (0–100)" if rep.item.kind == "vas" else "units"


def responder_rule(points: float) -> str:
    """The paper's responder rule, exactly."""
    return (f"the drug's reduction minus the placebo's reduction is at least {points:g} percentage points "
            f"of the baseline mean (the paper's arithmetic)")


def rule_words(rule: RuleVerdict) -> str:
    """A multi-item responder rule with her numbers: "all of: pain ≥ 30 (yours +42.1 ✓); any of: …"."""
    def part(item: str, points: float, value: float | None, met: bool | None) -> str:
        mark = {True: " ✓", False: " ✗", None: ""}[met]
        return f"{item} ≥ {points:g} (yours {fmt(value, '+.1f')}{mark})"

    out = []
    if rule.all:
        out.append("all of: " + ", ".join(part(*p) for p in rule.all))
    if rule.any:
        out.append("at least one of: " + ", ".join(part(*p) for p in rule.any))
    return ("; and ".join(out) + " — each the item's drug reduction minus its placebo reduction, "
            "percentage points of its baseline mean")


def randomization_words(rt: RandomizationTest, label: str) -> str:
    """The randomization test in plain words, with the design's smallest p said plainly."""
    how = "every one enumerated" if rt.exact else "a Monte-Carlo sample of them"
    text = (f"Randomization test ({label}): your drug days minus your placebo days, {rt.statistic:+.1f} points; "
            f"p = {fmt_p(rt.p)} over the {rt.assignments:,} assignments this design could have made ({how}). ")
    if rt.min_p >= 1:
        text += ("With this design the smallest p the test can give is 1: every assignment it could have made "
                 "gives the same size of difference, so this test cannot show an effect at all, whatever the data.")
    elif rt.min_p > 0.05:
        text += (f"The smallest p this design can give is {rt.min_p:.3g}: this test alone can never reach 0.05, "
                 "however large the difference.")
    else:
        text += f"The smallest p this design can give is {rt.min_p:.3g}."
    return text


def responder_verdict(report: PersonalReport) -> str:
    return {True: "a responder", False: "not a responder", None: "not yet known"}[report.responder]


def _phase(report: PersonalReport, role: str) -> str:
    ph = next((p for p in report.phases if p.role == role), None)
    return "" if ph is None else ph.label


def model_sentence(report: PersonalReport) -> str | None:
    """The model's result for the primary item in plain words (unblinded reports only)."""
    rep = report.primary
    if report.blinded or rep is None or rep.responder_probability is None:
        return None
    chance = rep.responder_probability
    share = ("more than 99%" if chance > 0.99 else "less than 1%" if chance < 0.01 else f"{chance:.0%}")
    drug, placebo = _phase(report, "active"), _phase(report, "placebo")
    text = (f"Under the model, there is a {share} chance that your {rep.label.lower()} was at least "
            f"{report.responder_points:g} percentage points of your baseline level better on the drug"
            f"{f' ({drug})' if drug else ''} than on placebo"
            f"{f' ({placebo})' if placebo and placebo.lower() != 'placebo' else ''}.")
    c = rep.active_vs_placebo
    if c is not None and c.ci95 is not None:
        scale = "On the 0–100 scale" if rep.item.kind == "vas" else "In the item's own units"
        word = "lower" if c.diff < 0 else "higher"
        lo, hi = sorted((abs(c.ci95[0]), abs(c.ci95[1]))) if c.ci95[0] * c.ci95[1] > 0 else (None, None)
        span = (f"95% interval: {lo:.1f} to {hi:.1f} points {word}" if lo is not None
                else f"95% interval: {c.ci95[0]:+.1f} to {c.ci95[1]:+.1f}, which includes no difference")
        text += (f" {scale}, your drug days were {abs(c.diff):.1f} points {word} than your placebo days "
                 f"({span}); {rep.item.better} is better.")
    return text


def item_name(rep: ItemResult) -> str:
    return rep.label + (" *" if rep.item.primary else "")


# Said under a cohort table whose cells are all "—" (mid-study), so an empty table is never left unexplained.
EMPTY_PRIMARY = ("All — : not known yet. Each participant's drug − placebo difference needs days in both the drug "
                 "and the placebo period; the meta-analysis pools them once participants have both.")
EMPTY_PAPER = ("— in the drug − placebo columns: not known yet. They need participants with days in both "
               "the drug and the placebo period.")
