"""Personal report numbers against hand-computed values on a tiny study (corrections, gaps, blinding)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest

from analysis.personal import analyse
from diary_client.core.entry import Entry, new_id
from diary_client.core.protocol import parse_protocol

TINY = """
id = "tiny"
title = "Tiny study"
blinding = "single"
[schedule]
opens = "18:00"
closes = "23:00"
grace_hours = 2
[analysis]
responder_points = 20
[[phases]]
id = "base"
role = "baseline"
days = 4
label = "Baseline"
participant_label = "Run-in"
[[phases]]
id = "plac"
role = "placebo"
days = 3
label = "Placebo"
participant_label = "Period A"
[[phases]]
id = "drug"
role = "active"
days = 5
label = "Drug"
participant_label = "Period B"
[[items]]
id = "pain"
kind = "vas"
prompt = "Pain?"
primary = true
[[items]]
id = "sleep"
kind = "vas"
prompt = "Sleep?"
better = "higher"
[[items]]
id = "dose"
kind = "number"
prompt = "Tablets?"
phases = ["plac", "drug"]
[[items]]
id = "took"
kind = "yesno"
prompt = "Capsule?"
phases = ["plac", "drug"]
[[items]]
id = "effects"
kind = "multi"
prompt = "Any?"
options = ["a", "b"]
[[items]]
id = "note"
kind = "text"
prompt = "Note"
optional = true
"""
P = parse_protocol(TINY)
START = date(2026, 3, 2)  # base 03-02..05, plac 03-06..08, drug 03-09..13
UTC = UTC
AFTER = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)

# day offset -> (pain, sleep, dose, took, effects); day 5 (03-07) is missing
DAYS = {
    0: (50, 40, None, None, []), 1: (60, 50, None, None, ["a"]), 2: (40, 60, None, None, []),
    3: (50, 50, None, None, ["a", "b"]),
    4: (45, 50, 2, True, []),  # corrected below to pain 55, sleep 55
    6: (45, 60, 4, False, ["b"]),
    7: (40, 60, 1, True, []), 8: (30, 70, 1, True, []), 9: (35, 65, 2, True, ["a"]),
    10: (30, 70, 0, True, []), 11: (25, 60, 1, False, []),
}


def entry(d: date, answers: dict, seq: int, at: datetime | None = None, **kw) -> Entry:
    return Entry(id=new_id(), participant_id="T1", study_id="tiny", protocol_version=1, diary_date=d,
                 study_day=(d - START).days + 1, answers=answers,
                 submitted_at=at or datetime.combine(d, time(19), UTC), timing="on_time", source="app",
                 device_id="dev", seq=seq, **kw)


def answers(pain, sleep, dose, took, effects, note=None) -> dict:
    a = {"pain": pain, "sleep": sleep, "effects": effects, "note": note}
    if dose is not None:
        a |= {"dose": dose, "took": took}
    return a


def entries() -> list[Entry]:
    out = [entry(START + timedelta(days=k), answers(*v, note="ok" if k == 1 else None), k) for k, v in DAYS.items()]
    first = out[4]
    fixed = answers(55, 55, 2, True, [])
    out.append(entry(first.diary_date, fixed, 99, first.submitted_at + timedelta(hours=1),
                     supersedes=first.id, reason="typo"))
    return out


@pytest.fixture(scope="module")
def report():
    return analyse(P, START, entries(), AFTER, "T1", blinded=False)


def test_phase_rows_count_expected_filed_and_compliance(report):
    rows = {r.key: r for r in report.phases}
    assert [(rows[k].n, rows[k].expected) for k in ("base", "plac", "drug")] == [(4, 4), (2, 3), (5, 5)]
    assert rows["plac"].compliance == pytest.approx(2 / 3)
    assert rows["plac"].start == date(2026, 3, 6) and rows["plac"].end == date(2026, 3, 8)


def test_lower_is_better_item_numbers_use_the_latest_correction(report):
    ph = report.items["pain"].phases
    # baseline 50, 60, 40, 50: mean 50, SD sqrt(200/3), last three 60, 40, 50
    assert ph["base"].mean == 50 and ph["base"].sd == pytest.approx((200 / 3) ** 0.5)
    assert ph["base"].endpoint_mean == 50 and ph["base"].reduction_pct == 0
    # placebo: 45 corrected to 55, day 2 missing, then 45 -> mean 50, SD sqrt(50)
    assert ph["plac"].n == 2 and ph["plac"].mean == 50 and ph["plac"].sd == pytest.approx(50**0.5)
    assert ph["plac"].endpoint_mean == 50 and ph["plac"].reduction_pct == 0
    # drug 40, 30, 35, 30, 25: mean 32, SD sqrt(130/4), last three 35, 30, 25 -> 30
    assert ph["drug"].mean == 32 and ph["drug"].sd == pytest.approx(32.5**0.5)
    assert ph["drug"].endpoint_mean == 30
    assert ph["drug"].reduction_pct == pytest.approx(36.0)  # (50 - 32) / 50
    assert ph["drug"].endpoint_reduction_pct == pytest.approx(40.0)  # (50 - 30) / 50
    assert report.items["pain"].vs_placebo_points == pytest.approx(36.0)
    assert report.responder is True  # 36 >= 20


def test_higher_is_better_item_flips_the_sign(report):
    ph = report.items["sleep"].phases
    # baseline 40, 50, 60, 50 -> 50; placebo 55 (corrected), 60 -> 57.5; drug 60, 70, 65, 70, 60 -> 65
    assert (ph["base"].mean, ph["plac"].mean, ph["drug"].mean) == (50, 57.5, 65)
    assert ph["plac"].reduction_pct == pytest.approx(15.0)
    assert ph["drug"].reduction_pct == pytest.approx(30.0)
    assert ph["drug"].endpoint_reduction_pct == pytest.approx((65 - 50) / 50 * 100)  # last 3: 65, 70, 60
    assert report.items["sleep"].vs_placebo_points == pytest.approx(15.0)


def test_phase_limited_item_has_only_its_phases_and_no_baseline_comparison(report):
    rep = report.items["dose"]
    assert set(rep.phases) == {"plac", "drug"}
    assert rep.phases["plac"].mean == 3 and rep.phases["drug"].mean == 1
    assert rep.phases["drug"].reduction_pct is None and rep.vs_placebo_points is None
    doc = report.as_json()["items"]["dose"]
    assert doc["p_active_vs_baseline"] is None and doc["ci95_active_vs_baseline"] is None
    assert 0 < doc["p_active_vs_placebo"] < 1
    lo, hi = doc["ci95_active_vs_placebo"]
    assert lo < doc["diff_active_vs_placebo"] < hi


def test_non_numeric_items_are_tallied_not_averaged(report):
    other = report.other_items
    assert other["took"].phases["plac"].as_json() == {"n": 2, "yes": 1, "yes_share": 0.5}
    assert other["took"].phases["drug"].yes_share == pytest.approx(0.8)
    assert other["effects"].phases["base"].counts == {"a": 2, "b": 1}
    assert other["effects"].phases["base"].days_with_any == 2
    assert other["note"].phases["base"].n == 1
    assert "took" not in report.as_json()["items"]


def test_json_has_the_contract_keys(report):
    doc = report.as_json()
    assert {"participant_id", "study_id", "blinded", "phases", "items", "responder"} <= set(doc)
    assert set(doc["phases"][0]) >= {"id", "label", "start", "end", "expected", "n", "compliance"}
    item = doc["items"]["pain"]
    assert set(item) >= {"phases", "vs_placebo_points", "p_active_vs_baseline", "p_active_vs_placebo",
                         "ci95_active_vs_baseline", "ci95_active_vs_placebo", "autocorrelation", "effective_n"}
    assert set(item["phases"]["base"]) >= {"n", "mean", "sd", "endpoint_mean", "reduction_pct",
                                           "endpoint_reduction_pct"}
    assert doc["exploratory"] is True and doc["analysis_version"] and doc["data_hash"].startswith("sha256:")


def test_data_hash_follows_the_data_not_the_clock():
    es = entries()
    a = analyse(P, START, es, AFTER, "T1", False).data_hash
    assert analyse(P, START, list(reversed(es)), AFTER + timedelta(days=3), "T1", False).data_hash == a
    changed = es + [entry(date(2026, 3, 13), answers(20, 60, 1, True, []), 100,
                          datetime(2026, 3, 13, 20, tzinfo=UTC), supersedes=es[11].id, reason="fix")]
    assert analyse(P, START, changed, AFTER, "T1", False).data_hash != a


def test_mid_study_expected_counts_only_closed_windows_and_filed_days():
    now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # day 6: its window opens at 18:00
    es = [e for e in entries() if e.diary_date <= date(2026, 3, 6)]
    rows = {r.key: r for r in analyse(P, START, es, now, "T1", False).phases}
    assert (rows["base"].expected, rows["plac"].expected, rows["plac"].n) == (4, 1, 1)
    assert rows["drug"].expected == 0 and rows["drug"].compliance is None


def test_blinded_report_shows_participant_labels_and_no_comparisons():
    doc = analyse(P, START, entries(), AFTER, "T1", blinded=True).as_json()
    assert doc["blinded"] is True and doc["responder"] is None
    assert [p["id"] for p in doc["phases"]] == ["Run-in", "Period A", "Period B"]
    assert [p["label"] for p in doc["phases"]] == ["Run-in", "Period A", "Period B"]
    text = str(doc)
    for secret in ("base", "plac", "drug", "Placebo", "Drug"):
        assert f"'{secret}'" not in text
    pain = doc["items"]["pain"]
    assert pain["phases"]["Period B"]["mean"] == 32
    assert pain["vs_placebo_points"] is None and pain["p_active_vs_placebo"] is None
    assert all(ph["reduction_pct"] is None for ph in pain["phases"].values())
    assert "role" not in doc["phases"][0]


def test_no_entries_and_constant_values_do_not_crash():
    empty = analyse(P, START, [], AFTER, "T1", False).as_json()
    assert empty["items"]["pain"]["phases"]["base"]["mean"] is None and empty["responder"] is None
    flat = [entry(START + timedelta(days=k), answers(50, 50, 1 if k >= 4 else None, True, []), k)
            for k in range(12)]
    doc = analyse(P, START, flat, AFTER, "T1", False).as_json()["items"]["pain"]
    assert doc["phases"]["drug"]["sd"] == 0 and doc["vs_placebo_points"] == 0
    assert doc["p_active_vs_placebo"] is None  # no variation: no test, not a crash


def test_the_protocols_analysis_options_are_used_and_stated():
    from msgspec.structs import replace

    from analysis.simulate import Profile, as_entries, simulate
    from diary_client.core.protocol import load_protocol

    base = load_protocol()
    start = date(2026, 1, 5)
    proto = replace(base, analysis=replace(base.analysis, trend=True, exclude_first_days={"active": 28},
                                           multiplicity="none"))
    days = simulate(proto, start, np.random.default_rng(9), Profile(phi=0.3, sd=3, effects={}), items=["severity", "pain"])
    for d in sorted(days)[28:56]:  # the first 28 drug days (study days 29-56) read 95: an onset the model leaves out
        days[d]["severity"] = 95
    after = datetime(2026, 6, 1, tzinfo=UTC)
    rep = analyse(proto, start, as_entries(proto, start, days, "O1"), after, "O1", False)
    doc = rep.as_json()
    assert doc["analysis_options"]["trend"] is True and doc["analysis_options"]["multiplicity"] == "none"
    assert doc["analysis_options"]["exclude_first_days"]["active"] == 28 and doc["analysis_options"]["inference"]
    sev = rep.items["severity"]
    assert sev.phases["ldn"].mean > 70  # the paper's arithmetic uses every day
    assert abs(sev.model.phases["ldn"].value - 60) < 5  # the model only the last 28
    assert rep.items["pain"].active_vs_placebo.p_adj == rep.items["pain"].active_vs_placebo.p  # "none"
    holm = analyse(base, start, as_entries(base, start, days, "O1"), after, "O1", False)
    assert holm.items["pain"].active_vs_placebo.p_adj >= holm.items["pain"].active_vs_placebo.p
    assert holm.items["severity"].active_vs_placebo.p_adj == holm.items["severity"].active_vs_placebo.p
