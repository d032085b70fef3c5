"""The participant's results in plain words: one summary for each outcome class, no jargon."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import numpy as np
import pytest

from analysis.personal import analyse
from analysis.plain import headline, outcome, sentence, share_words
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import builtin_text, parse_protocol

JARGON = ("pp", "p adj", "model", "φ", "AR(1)", "interval", "p-value", "autocorrelation")
START = date(2026, 3, 2)
END = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)


def jargon_in(text: str) -> list[str]:
    """The jargon words a text holds (whole words: "happy" holds no "pp")."""
    return [w for w in JARGON if re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", text, re.IGNORECASE)]


def report_for(effects: dict[str, float], blinded: bool = False, seed: int = 3):
    protocol = parse_protocol(builtin_text())
    days = simulate(protocol, START, np.random.default_rng(seed), Profile(effects=effects, sd=6.0, phi=0.3))
    return analyse(protocol, START, as_entries(protocol, START, days, "P01"), END, "P01", blinded)


CASES = {
    "benefit": ({"placebo": 0.0, "active": 0.35, "washout": 0.1},
                re.compile(r"^Your overall severity was about a (third|quarter) lower on the drug than on the placebo "
                           r"— we can be (fairly|quite) sure it was lower\.$")),
    "uncertain": ({"placebo": 0.0, "active": 0.0, "washout": 0.0},
                  re.compile(r"^Your overall severity was about .+ on the drug.+we cannot be sure")),
    "worse": ({"placebo": 0.0, "active": -0.35, "washout": 0.0},
              re.compile(r"^Your overall severity was about a (third|quarter) higher on the drug than on the placebo "
                         r"— we can be (fairly|quite) sure it was higher, which is worse\.$")),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_each_outcome_class_has_its_plain_summary(kind):
    effects, pattern = CASES[kind]
    report = report_for(effects)
    primary = report.primary
    assert primary is not None and outcome(report, primary) == kind
    said = sentence(report, primary)
    assert pattern.match(said), said
    lines = headline(report)
    assert lines[0].startswith("The main question — Overall severity: Your overall severity")
    assert any("responder" in ln for ln in lines) and "not proof" in lines[-1]
    assert jargon_in("\n".join(lines)) == [], lines


def test_a_blinded_summary_says_only_what_it_shows():
    report = report_for(CASES["benefit"][0], blinded=True)
    primary = report.primary
    assert primary is not None and outcome(report, primary) == "blinded"
    lines = headline(report)
    text = "\n".join(lines)
    assert lines[0] == "You filed 98 of 98 daily reports so far."
    assert "still blinded" in text and "drug" in text and "responder" not in text
    assert "lower" not in text and "higher" not in text and jargon_in(text) == []


def test_shares_in_words():
    assert [share_words(x) for x in (0.01, 0.1, 0.2, 0.25, 0.33, 0.5, 0.66, 0.75, 0.95)] == [
        "about the same", "about a tenth", "about a fifth", "about a quarter", "about a third", "about half",
        "about two thirds", "about three quarters", "much"]


def test_the_jargon_check_matches_whole_words_only():
    assert jargon_in("a happy model") == ["model"] and jargon_in("+30.2 pp") == ["pp"] and jargon_in("approx") == []


def report_text(report, width: int = 80) -> str:
    import io

    from rich.console import Console

    from analysis.render_text import print_personal

    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    print_personal(report, console)
    return console.export_text()


@pytest.mark.parametrize("blinded", [False, True])
def test_diary_report_leads_with_plain_words_and_every_table_fits_80_columns(blinded):
    report = report_for(CASES["benefit"][0], blinded=blinded)
    text = report_text(report)
    lines = text.splitlines()
    first_screen = "\n".join(lines[:24])
    assert lines[2] == "In plain words" and jargon_in(first_screen) == [], first_screen
    assert all(len(ln) <= 80 for ln in lines), [ln for ln in lines if len(ln) > 80]
    assert "…" not in text  # no cell cut short
    words = {w for rep in report.items.values() for w in rep.label.split()} | {"Naltrexone", "Follow-up"}
    for w in words - ({"Naltrexone"} if blinded else {"Follow-up"}):
        assert re.search(rf"(?<![\w/-]){re.escape(w)}(?![\w/-])", text), w  # each label's words whole


def test_a_blinded_report_says_only_what_it_shows():
    text = report_text(report_for(CASES["benefit"][0], blinded=True))
    for word in ("AR(1)", "p-value", "model", "interval", "Purple", "reduction", "responder", "baseline mean"):
        assert word.lower() not in text.lower(), word
    assert "Each item by period" in text and "still blinded" in text


def test_a_blinded_html_page_does_not_speak_of_a_model_it_does_not_draw():
    from analysis.render_html import personal_html

    page = personal_html(report_for(CASES["benefit"][0], blinded=True), png=b"\x89PNG")
    assert "Purple" not in page and "AR(1)" not in page and "Red line: the period's mean." in page


def test_one_day_is_one_day():
    from analysis.results import Tally
    from analysis.summary import tally_words

    assert tally_words(Tally("text", 1)) == "1 day with a note"
    assert tally_words(Tally("yesno", 1, yes=1, yes_share=1.0)) == "yes on 1 of 1 day (100%)"
    assert tally_words(Tally("text", 2)) == "2 days with a note"
