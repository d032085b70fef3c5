"""The participant's results in plain words (a reading age of about 12): what happened, how sure we
can be, and nothing of the method. The numbers and the method follow, one key (or a scroll) away.

Each numeric item falls in one outcome class, from the drug − placebo comparison in the item's own
units: `benefit` (better on the drug, and its 95% range excludes no difference), `worse` (the same,
the other way), `uncertain` (the range includes no difference), `unknown` (no comparison yet);
a blinded report has the class `blinded` and says only what it shows.
"""

from __future__ import annotations

from typing import Literal

from analysis.results import ItemResult, PersonalReport

Outcome = Literal["benefit", "uncertain", "worse", "unknown", "blinded"]

# Shares of the placebo level, in words a 12-year-old reads: (upper bound, words).
SHARES = ((0.05, "about the same"), (0.15, "about a tenth"), (0.22, "about a fifth"), (0.29, "about a quarter"),
          (0.42, "about a third"), (0.6, "about half"), (0.72, "about two thirds"), (0.9, "about three quarters"))


def share_words(share: float) -> str:
    """0.33 → "about a third"; a share beyond nine tenths is "much"."""
    return next((words for top, words in SHARES if share < top), "much")


def outcome(report: PersonalReport, rep: ItemResult) -> Outcome:
    if report.blinded:
        return "blinded"
    c = rep.active_vs_placebo
    if c is None or c.ci95 is None:
        return "unknown"
    low, high = c.ci95
    if low <= 0 <= high:
        return "uncertain"
    better = (c.diff < 0) == (rep.item.better == "lower")
    return "benefit" if better else "worse"


def _placebo_level(report: PersonalReport, rep: ItemResult) -> float | None:
    """The item's usual level on the placebo: the mean of its placebo days (first placebo period's role)."""
    keys = [p.key for p in report.phases if p.role == "placebo"]
    values = [rep.phases[k].mean for k in keys if k in rep.phases and rep.phases[k].mean is not None]
    return sum(values) / len(values) if values else None  # type: ignore[arg-type]  # None filtered out above


def sentence(report: PersonalReport, rep: ItemResult) -> str:
    """One item, drug against placebo, in plain words."""
    kind = outcome(report, rep)
    name = rep.label.lower() if rep.label[:1].isupper() and not rep.label[1:2].isupper() else rep.label
    if kind == "blinded":
        return f"Your {name}: how the drug and the placebo compare is shown once the study is unblinded."
    c = rep.active_vs_placebo
    if kind == "unknown" or c is None:
        return f"Your {name}: there are not enough days yet to compare the drug with the placebo."
    level = _placebo_level(report, rep)
    way = "lower" if c.diff < 0 else "higher"
    size = share_words(abs(c.diff) / abs(level)) if level else "a little"
    if size == "about the same" and kind == "uncertain":
        return (f"Your {name} was about the same on the drug as on the placebo: "
                "we cannot be sure there was any real difference.")
    head = f"Your {name} was {size} {way} on the drug than on the placebo"
    hint = " (higher is better here)" if rep.item.better == "higher" else ""
    if kind == "uncertain":
        return f"{head}{hint}, but that could be chance: we cannot be sure it was really {way}."
    sure = "quite sure" if c.p is not None and c.p < 0.001 else "fairly sure"
    verdict = "" if kind == "benefit" else ", which is worse"
    return f"{head}{hint} — we can be {sure} it was {way}{verdict}."


def responder_words(report: PersonalReport) -> str | None:
    """The study's responder rule and its verdict, plainly (None while blinded or not known yet)."""
    if report.blinded or report.responder is None:
        return None
    verdict = "you count as a responder" if report.responder else "you do not count as a responder"
    return (f"The study's own rule asks for the drug to beat the placebo by at least {report.responder_points:g} "
            f"in every 100, counted from where you started: {verdict}.")


def filed_words(report: PersonalReport) -> str:
    n = sum(p.n for p in report.phases)
    expected = sum(p.expected for p in report.phases)
    return f"You filed {n} of {expected} daily reports so far." if expected else "No day is counted yet."


def headline(report: PersonalReport) -> list[str]:
    """The first lines a participant reads: the main question, the responder verdict, the others grouped."""
    rep = report.primary
    if report.blinded:
        return [filed_words(report),
                "Your study is still blinded, so this shows your own days by period, not how the drug and "
                "the placebo compare. That comes once the study is over, or when your coordinator releases it."]
    lines = []
    if rep is not None:
        lines.append(f"The main question — {rep.label}: {sentence(report, rep)}")
    verdict = responder_words(report)
    if verdict:
        lines.append(verdict)
    groups: dict[Outcome, list[str]] = {}
    for other in report.items.values():
        if other is not rep:
            groups.setdefault(outcome(report, other), []).append(other.label)
    words: dict[Outcome, str] = {"benefit": "Also better on the drug (we can be fairly sure)",
                                 "worse": "Worse on the drug", "uncertain": "No clear difference",
                                 "unknown": "Not enough days yet"}
    for kind, label in words.items():
        if groups.get(kind):
            lines.append(f"{label}: {', '.join(groups[kind])}.")
    lines.append(filed_words(report))
    lines.append("This is a first look at one person's diary, not proof that the drug caused a change.")
    return lines
