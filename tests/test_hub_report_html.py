"""`diary hub report --html`: one self-contained page (no request of its own) with every section."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime
from html import escape

import numpy as np
import pytest

from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import builtin_text
from sync.hub.store import HubStore

START = date(2026, 3, 2)
MID_STUDY = "2026-05-20T12:00"  # day 80 of 98: some days still to come


@pytest.fixture
def hub_db(tmp_path):
    path = tmp_path / "hub.db"
    store = HubStore(path)
    now = datetime(2026, 5, 20, 12, tzinfo=UTC)
    rng = np.random.default_rng(3)
    for i, effect in enumerate([0.5, 0.1, 0.45, 0.3]):
        pid = f"H{i}"
        store.enrolment.register(pid, builtin_text(), START, "UTC", now)
        proto = store.reads.participant(pid).protocol
        days = {d: a for d, a in simulate(proto, START, rng, Profile(sd=5, missing=0.05, effects={"active": effect})).items()
                if d < now.date()}
        entries = as_entries(proto, START, days, pid)
        if i == 3:  # collected on paper: imported days
            entries = [_imported(e) for e in entries]
        got = store.ingest(pid, entries, now, via="import",
                           flags=[(entries[5].id, "clock_jump", "test")] if i == 1 else ())
        assert not got.rejected, got.rejected[:1]
    store.enrolment.register("H9", builtin_text(), None, "UTC", now)  # no day 1: left out, and said so
    store.close()
    return path


def _imported(e):
    return dataclasses.replace(e, timing="import", source="import")


def page_of(cli, hub_db, tmp_path, *extra) -> str:
    out = tmp_path / "cohort.html"
    r = cli("hub", "report", "--db", str(hub_db), "--html", str(out), *extra, now=MID_STUDY)
    assert r.exit_code == 0, r.output
    assert f"Wrote {out}" in r.output
    return out.read_text(encoding="utf-8")


def test_the_page_makes_no_request_of_its_own(cli, hub_db, tmp_path):
    page = page_of(cli, hub_db, tmp_path)
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(script|link|img|iframe|object|embed|audio|video|source)\b", page, re.I)
    assert "@import" not in page and not re.search(r"url\(", page)
    refs = re.findall(r"\b(?:src|href|xlink:href)\s*=\s*['\"]([^'\"]*)", page)
    assert refs and all(ref.startswith("#") for ref in refs), refs[:5]  # only the page's own SVG symbols


def test_the_page_has_the_table_heat_map_daily_charts_responders_and_caveats(cli, hub_db, tmp_path):
    page = page_of(cli, hub_db, tmp_path)
    for heading in ("Primary result: drug − placebo", "reduction from baseline", "Compliance: participants × study days", "severity by day, each participant",
                    "Responders:", "Sensitivity: mixed model", "How the numbers are made"):
        assert heading in page, heading
    assert "Left out of this report:</b> H9 (no day 1 yet" in page
    for pid in ("H0", "H1", "H2", "H3"):
        assert page.count(f">{pid}<") >= 3, pid  # heat map row, small multiple, responders chart
    # the heat map: every state of the legend has its own shape, and the rows hold the days' states
    for text in ("filed on time", "filed late", "imported", "clock in doubt", "missed", "not yet"):
        assert text in page
    assert page.count("href='#s-imp'") >= 70  # H3's imported days (+ the legend)
    # the small multiples' dots, as their caption says: each participant's days so far (≥ 70 of 80)
    multiples = page.split("severity by day, each participant", 1)[1].split("Responders:", 1)[0]
    for fig in re.findall(r"<figure>.*?</figure>", multiples, re.S):
        assert fig.count("<circle ") >= 70, fig[:80]
    assert page.count("href='#s-flag'") == 2  # H1's one flagged day (+ the legend)
    assert page.count("href='#s-up'") >= 4 * 18  # days 81-98 of each participant are still to come
    assert "Covariates against" not in page
    from analysis.cohort import CAVEATS

    assert all(escape(c) in page for c in CAVEATS)  # the cohort's caveats


def test_the_covariate_scatter_appears_with_covariates(cli, hub_db, tmp_path):
    cov = tmp_path / "esr.csv"
    cov.write_text("participant_id,esr\nH0,40\nH1,10\nH2,35\nH3,22\n")
    page = page_of(cli, hub_db, tmp_path, "--covariates", str(cov))
    assert "Covariates against the primary item" in page and "aria-label='esr scatter'" in page
    assert page.count("<circle cx=") >= 4


def test_a_page_that_cannot_be_written_is_one_line(cli, hub_db, tmp_path):
    r = cli("hub", "report", "--db", str(hub_db), "--html", str(tmp_path / "no" / "such" / "dir.html"), now=MID_STUDY)
    assert r.exit_code == 1 and "cannot write" in r.output and "Traceback" not in r.output


def test_the_page_keeps_a_row_of_each_participant_not_her_report(hub_db):
    # a 10,000-participant page kept every report (≈ 45 KB each): the stream hands each one to the
    # page's row and drops it, and the page made from the rows is the one made from the reports
    import gc

    from analysis.cohort import CohortStream, cohort_report
    from analysis.cohort_page import cohort_html, page_row
    from analysis.results import PersonalReport
    from diary_client.cli.report import load_cohort

    now = datetime(2026, 5, 20, 12, tzinfo=UTC)
    rows: list = []
    stream = CohortStream(load_cohort(hub_db, None).data(now), now, on_report=lambda r: rows.append(page_row(r)), daily=True)
    assert [r.participant_id for r in stream.reports()] == ["H0", "H1", "H2", "H3"]
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, PersonalReport)]
    assert [r.participant_id for r in rows] == ["H0", "H1", "H2", "H3"]
    full = cohort_report(load_cohort(hub_db, None).data(now), now, daily=True)
    page = cohort_html(stream.summary(), rows, [])
    assert page == cohort_html(full, [page_row(r) for r in full.participants], [])
    assert "H3" in page and f"{full.responders} of 4" in page
    assert all(r.series is not None and len(r.series.days) >= 70 for r in rows)  # what the dots are drawn from


def test_a_late_day_with_a_clock_doubt_shows_both_marks():
    from analysis.cohort_page import heat_row
    from diary_client.core.protocol import parse_protocol

    protocol = parse_protocol(builtin_text())
    entries = as_entries(protocol, START, {START: {"severity": 40}, date(2026, 3, 3): {"severity": 41}}, "L1")
    late = dataclasses.replace(entries[0], timing="late")
    row = heat_row("L1", protocol, START, [late, entries[1]], {late.id, entries[1].id},
                   datetime(2026, 3, 10, 12, tzinfo=UTC))
    assert row.statuses[:2] == ["late", "on_time"]  # the doubt does not replace the day's own state
    assert row.flagged == {0, 1}
    from analysis.cohort_page import _heat_map

    svg = _heat_map([], [row])
    assert svg.count("href='#s-late' x='0'") == 1 and svg.count("href='#s-flag' x='0'") == 1
