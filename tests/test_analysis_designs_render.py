"""Randomized designs in the text and HTML reports: the randomization test said plainly, her timeline
once unblinded, role tables, the cohort's sequences, balance and crossover analysis."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
from rich.console import Console
from test_analysis_designs import AFTER, START, abab_text, counterbalanced_cohort, counterbalanced_text

from analysis.cohort import cohort_report
from analysis.cohort_page import page_pieces, page_row
from analysis.personal import analyse
from analysis.render_html import personal_html
from analysis.render_text import print_cohort, print_personal
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core import design
from diary_client.core.protocol import parse_protocol


def page_html(*args) -> str:
    return "".join(page_pieces(*args))


def text_of(fn, report) -> str:
    out = io.StringIO()
    fn(report, Console(file=out, width=200))
    return out.getvalue()


def report_of(text: str, sequence, blinded: bool, now=AFTER):
    mine = design.expand(parse_protocol(text), sequence)
    days = simulate(mine, START, np.random.default_rng(3), Profile(missing=0.03))
    return analyse(mine, START, as_entries(mine, START, days, "P"), now, "P", blinded)


def test_the_text_report_says_the_randomization_test_and_its_smallest_p_plainly():
    r = report_of(abab_text(), ("runin", "drug", "placebo", "placebo", "drug", "drug", "placebo"), False)
    text = " ".join(text_of(print_personal, r).split())
    assert "Randomization test (pain)" in text and "8 assignments" in text
    assert "smallest p this design can give is 0.25" in text and "can never reach 0.05" in text
    assert "Each item by role" in text and "7. Placebo" in text


def test_a_single_ab_ba_crossover_says_it_cannot_show_an_effect():
    r = report_of(abab_text(cycles=1), ("runin", "placebo", "drug"), False)
    text = " ".join(text_of(print_personal, r).split())
    assert "2 assignments" in text and "smallest p the test can give is 1" in text
    assert "cannot show an effect at all" in text


def test_the_html_page_shows_her_timeline_once_unblinded_and_nothing_of_it_while_blinded():
    text = counterbalanced_text()
    page = personal_html(report_of(text, ("baseline", "placebo", "washout", "ldn"), False), None)
    assert "<svg class='timeline'" in page and "Your periods" in page and "Randomization test" in page
    assert page.index(">Placebo<") < page.index(">Naltrexone 4.5 mg<")  # her order, left to right
    blind = personal_html(report_of(text, ("baseline", "placebo", "washout", "ldn"), True,
                                    datetime(2026, 3, 1, tzinfo=UTC)), None)
    assert "<svg class='timeline'" not in blind and "Naltrexone" not in blind and "Placebo" not in blind
    assert "Randomization" not in blind and "Whole study" in blind


def test_the_2013_rule_is_written_out_with_her_numbers():
    rule = 'responder = { all = [{ item = "pain", points = 30 }], any = [{ item = "fatigue", points = 30 }] }'
    r = report_of(counterbalanced_text(rule), ("baseline", "ldn", "washout", "placebo"), False)
    text = " ".join(text_of(print_personal, r).split())
    assert "all of: pain ≥ 30 (yours" in text and "at least one of: fatigue ≥ 30" in text


def test_the_cohort_text_and_page_show_sequences_balance_and_the_crossover():
    _, people = counterbalanced_cohort()
    rep = cohort_report(people, AFTER)
    text = " ".join(text_of(print_cohort, rep).split())
    assert "Two-period crossover analysis of severity" in text and "carry-over" in text
    assert "baseline → ldn → washout → placebo: 4" in text
    page = page_html(rep, [page_row(r) for r in rep.participants], [])
    assert "Allocation (counterbalanced): sequences and balance" in page
    assert "Two-period crossover analysis: severity" in page
    for p in people:
        assert " → ".join(f"<span title='{role}'>{ph}</span>" for ph, role in zip(
            p.sequence, [ph.role for ph in p.protocol.phases])) in page
