"""Cohort report: hand-computed table, the paper's shape (32.5% vs 2.3%, 6 responders, r² ≈ 0.8)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import msgspec
import numpy as np
import pytest
from scipy import stats

from analysis.cohort import cohort_report
from analysis.participant import ParticipantData
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import load_protocol
from diary_client.core.schedule import phase_spans

PROTOCOL = load_protocol()
START = date(2026, 1, 5)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def participant(pid: str, rng, profile: Profile, items=None, start=START, protocol=PROTOCOL):
    days = simulate(protocol, start, rng, profile, items=items)
    return ParticipantData(pid, protocol, start, as_entries(protocol, start, days, pid))


def test_cohort_table_against_hand_computed_numbers():
    # No noise: every baseline day is 60; drug and placebo days are 60 × (1 − effect).
    effects = {"A": (0.50, 0.10), "B": (0.25, 0.0), "C": (0.40, 0.05)}  # drug 30/45/36, placebo 54/60/57
    rng = np.random.default_rng(0)
    people = [participant(pid, rng, Profile(sd=0, phi=0, effects={"active": a, "placebo": p}),
                          items=["severity"]) for pid, (a, p) in effects.items()]
    rep = cohort_report(people, NOW, {"A": {"esr": 30.0}, "B": {"esr": 10.0}, "C": {"esr": 20.0}})
    doc = rep.as_json()
    sev = doc["cohort"]["severity"]
    active = [50.0, 25.0, 40.0]  # reduction_pct on the drug
    vs_placebo = [40.0, 25.0, 35.0]  # minus 10, 0, 5 on placebo
    assert sev["phases"]["ldn"]["n"] == 3
    assert sev["phases"]["ldn"]["mean_reduction_pct"] == pytest.approx(115 / 3)
    assert sev["phases"]["ldn"]["sd_reduction_pct"] == pytest.approx((2850 / 9 / 2) ** 0.5)
    assert sev["phases"]["placebo"]["mean_reduction_pct"] == pytest.approx(5.0)
    assert sev["vs_placebo_points_mean"] == pytest.approx(100 / 3)
    assert sev["p_active_vs_baseline"] == pytest.approx(stats.ttest_1samp(active, 0).pvalue)
    assert sev["p_active_vs_placebo"] == pytest.approx(stats.ttest_rel(active, [10.0, 0.0, 5.0]).pvalue)
    assert doc["responders"] == 2 and doc["responder_ids"] == ["A", "C"]  # 40 and 35 >= 30; 25 is not
    r = stats.pearsonr([30, 10, 20], vs_placebo)
    assert doc["covariates"]["esr"]["n"] == 3
    assert doc["covariates"]["esr"]["r"] == pytest.approx(r.statistic)
    assert doc["covariates"]["esr"]["r2"] == pytest.approx(r.statistic**2)
    assert len(doc["participants"]) == 3 and doc["participants"][0]["blinded"] is False
    assert {"study_id", "participants", "cohort", "responders", "covariates", "mixed_model"} <= set(doc)


def test_the_paper_shape_32_5_vs_2_3_percent_with_six_responders():
    # Ten participants: drug effects averaging 32.5%, placebo 2.3%; six built to clear 30 points.
    responders = [0.46, 0.47, 0.48, 0.49, 0.50, 0.46]
    others = [0.03, 0.08, 0.12, 0.16]
    drug = responders + others
    assert np.mean(drug) == pytest.approx(0.325)
    rng = np.random.default_rng(2009)
    people = [participant(f"FM{i:02d}", rng, Profile(sd=4, phi=0.6, effects={"placebo": 0.023, "active": e}),
                          items=["severity", "pain"]) for i, e in enumerate(drug)]
    # A covariate (the paper's baseline ESR) built to explain 80% of the true response.
    true_points = (np.array(drug) - 0.023) * 100
    x = true_points - true_points.mean()
    z = rng.normal(size=10)
    z -= z.mean()
    z -= (z @ x) / (x @ x) * x  # orthogonal to the response
    z *= np.sqrt(0.25 * (x @ x) / (z @ z))  # r² = 1 / (1 + 0.25) = 0.8 against the true response
    esr = 20 + 0.5 * (true_points + z)
    rep = cohort_report(people, NOW, {f"FM{i:02d}": {"esr": float(v)} for i, v in enumerate(esr)}).as_json()
    sev = rep["cohort"]["severity"]
    assert sev["phases"]["ldn"]["mean_reduction_pct"] == pytest.approx(32.5, abs=2.5)
    assert sev["phases"]["placebo"]["mean_reduction_pct"] == pytest.approx(2.3, abs=2.5)
    assert sev["vs_placebo_points_mean"] == pytest.approx(30.2, abs=3.5)
    assert rep["responders"] == 6
    assert sorted(rep["responder_ids"]) == [f"FM{i:02d}" for i in range(6)]
    assert rep["covariates"]["esr"]["r2"] == pytest.approx(0.8, abs=0.08)
    assert sev["p_active_vs_placebo"] < 0.01
    mm = rep["mixed_model"]["severity"]
    assert mm["n_groups"] == 10 and mm["reference"] == "baseline"
    assert mm["effects"]["ldn"]["estimate"] == pytest.approx(-0.325 * 60, abs=2.5)
    assert mm["active_vs_placebo"]["estimate"] < 0


def test_phase_limited_items_and_covariate_gaps_are_handled():
    items = list(PROTOCOL.items)
    items[1] = msgspec.structs.replace(items[1], phases=["placebo", "ldn"])  # pain asked only on placebo and drug
    proto = msgspec.structs.replace(PROTOCOL, items=items)
    rng = np.random.default_rng(3)
    people = [participant(f"L{i}", rng, Profile(sd=5), items=["severity", "pain"], protocol=proto) for i in range(4)]
    rep = cohort_report(people, NOW, {"L0": {"crp": 1.0}, "L1": {"crp": 2.0}, "nobody": {"crp": 9.0}}).as_json()
    pain = rep["cohort"]["pain"]
    assert set(pain["phases"]) == {"placebo", "ldn"}
    assert pain["phases"]["ldn"]["n"] == 0 and pain["p_active_vs_baseline"] is None
    assert pain["vs_placebo_points_mean"] is None
    assert set(rep["mixed_model"]) == {"severity"}  # the primary item's sensitivity analysis
    assert rep["mixed_model"]["severity"]["reference"] == "baseline"
    assert rep["covariates"]["crp"] == {"n": 2, "r": None, "r2": None, "p": None,
                                       "against": "severity.vs_placebo_points"}


def test_one_study_at_a_time():
    rng = np.random.default_rng(4)
    other = msgspec.structs.replace(PROTOCOL, id="other-study")
    with pytest.raises(ValueError, match="more than one study"):
        cohort_report([participant("A", rng, Profile(), items=["severity"]),
                       participant("B", rng, Profile(), items=["severity"], protocol=other)], NOW)
    with pytest.raises(ValueError, match="no participants"):
        cohort_report([], NOW)


class _Entries(list):
    """A participant's entries that a test can watch being freed (a plain list takes no weak reference)."""


def test_participants_come_one_at_a_time_and_their_entries_are_not_kept():
    import weakref

    rng = np.random.default_rng(5)
    alive: list[weakref.ref] = []

    def people():
        for i in range(4):
            p = participant(f"S{i}", rng, Profile(), items=["severity"])
            # the loops that hand participants on may still hold the previous one, never more
            assert all(ref() is None for ref in alive[:-1]), "an earlier participant's entries are still held"
            entries = _Entries(p.entries)
            alive.append(weakref.ref(entries))
            yield ParticipantData(p.participant_id, p.protocol, p.start, entries)
            del entries, p

    rep = cohort_report(people(), NOW)
    assert [r.participant_id for r in rep.participants] == ["S0", "S1", "S2", "S3"]
    assert len(alive) == 4 and all(ref() is None for ref in alive)


def test_the_json_text_is_the_json_document_written_one_participant_at_a_time():
    import json

    rng = np.random.default_rng(6)
    rep = cohort_report([participant(f"J{i}", rng, Profile(), items=["severity", "pain"]) for i in range(3)], NOW)
    pieces = list(rep.json_text())
    assert "".join(pieces) == json.dumps(rep.as_json(), ensure_ascii=False, default=str)
    assert sum('"participant_id": "J' in p for p in pieces) == 3  # each participant is a piece of its own


def _mixed_cohort(rng) -> list[ParticipantData]:
    """Participants whose reports differ in what they hold: one without a placebo value of pain, one
    whose values never vary (no model comparison), the others ordinary."""
    people = [participant(f"M{i}", rng, Profile(sd=5, effects={"placebo": 0.05, "active": 0.3}),
                          items=["severity", "pain", "fatigue"]) for i in range(5)]
    flat = participant("M5", rng, Profile(sd=0, phi=0), items=["severity", "pain"])
    gap = people[1]
    placebo = next(s for s in phase_spans(PROTOCOL, gap.start) if s.phase.role == "placebo")
    no_placebo_pain = [replace(e, answers={k: v for k, v in e.answers.items() if k != "pain"})
                       if e.diary_date in placebo else e for e in gap.entries]
    people[1] = msgspec.structs.replace(gap, entries=no_placebo_pain)
    return people + [flat]


def test_the_stream_gives_the_same_report_keeping_no_participant_report():
    import gc
    import json

    from analysis.cohort import CohortStream
    from analysis.results import PersonalReport

    covariates = {"M0": {"esr": 3.0}, "M2": {"esr": 1.0}, "M3": {"esr": 7.0}, "M4": {"esr": 2.0}}
    full = cohort_report(_mixed_cohort(np.random.default_rng(7)), NOW, covariates)
    stream = CohortStream(_mixed_cohort(np.random.default_rng(7)), NOW, covariates)
    text = "".join(stream.json_text())
    assert text == json.dumps(full.as_json(), ensure_ascii=False, default=str)  # byte for byte, every number
    summary = stream.summary()
    assert summary.participant_ids == tuple(r.participant_id for r in full.participants)
    assert summary.cohort == full.cohort and summary.mixed_model == full.mixed_model
    del full
    gc.collect()
    # what the stream keeps of each participant is her columns: not one report is alive now
    assert not [o for o in gc.get_objects() if isinstance(o, PersonalReport)]
    assert summary.n_participants == 6


def test_the_summary_needs_every_report_read_first_and_once():
    from analysis.cohort import CohortStream

    stream = CohortStream([participant("A", np.random.default_rng(8), Profile(), items=["severity"])], NOW)
    with pytest.raises(RuntimeError, match="every participant"):
        stream.summary()
    assert [r.participant_id for r in stream.reports()] == ["A"]
    assert stream.summary().participant_ids == ("A",)
    with pytest.raises(RuntimeError, match="read once"):  # a list of participants would be counted twice
        next(stream.reports())
    with pytest.raises(ValueError, match="no participants"):
        "".join(CohortStream([], NOW).json_text())


def test_the_paper_table_has_the_same_columns_in_text_and_html_from_the_studys_phases():
    import io
    import re

    from rich.console import Console

    from analysis.cohort_page import page_pieces, page_row

    def page_html(*args):
        return "".join(page_pieces(*args))
    from analysis.render_text import print_cohort

    rng = np.random.default_rng(3)
    people = [participant(pid, rng, Profile(sd=5, phi=0.3, effects={"active": 0.3, "placebo": 0.05}), items=["severity"])
              for pid in ("A", "B")]
    rep = cohort_report(people, NOW, {})
    # The columns come from the study's phases, baseline left out (its reduction from itself is 0), in order.
    assert [ph.id for ph in rep.paper_columns()] == ["placebo", "ldn", "washout"]
    html = page_html(rep, [page_row(r) for r in rep.participants], [])
    paper = html[html.index("<h2>As in the paper"):]
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", paper).group(1)
    assert re.findall(r"<th>(.*?)</th>", head)[1:4] == [ph.label for ph in rep.paper_columns()]
    out = io.StringIO()
    print_cohort(rep, Console(file=out, width=400))
    text = out.getvalue()
    header = next(line for line in text[text.index("As in the paper"):].splitlines() if "item" in line)
    assert [c.strip() for c in header.strip("┃│ ").split("┃")][1:4] == [ph.label for ph in rep.paper_columns()]
