"""Randomized designs in the personal report: periods, roles pooled, the 2013 arithmetic, the
randomization test (against an independent enumeration written here), blinded reports period-free."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from itertools import product

import numpy as np
import pytest

from analysis.personal import analyse
from analysis.randomization import randomization_test
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core import design
from diary_client.core.entry import Entry, new_id
from diary_client.core.protocol import builtin_text, parse_protocol

START = date(2026, 1, 5)
AFTER = datetime(2027, 6, 1, tzinfo=UTC)


def abab_text(ldn_days: int = 14, placebo_days: int = 14, between: bool = False, cycles: int = 3, lead: int = 7) -> str:
    """A multi-crossover N-of-1 protocol: a run-in, then `cycles` randomized pairs of drug and placebo."""
    return f"""
id = "nof1-test"
title = "ABAB test"
blinding = "single"
[analysis]
responder_points = 30
[[phases]]
id = "runin"
role = "baseline"
days = {lead}
label = "Run-in"
[[phases]]
id = "drug"
role = "active"
days = {ldn_days}
label = "Drug"
[[phases]]
id = "placebo"
role = "placebo"
days = {placebo_days}
label = "Placebo"
[[phases]]
id = "rest"
role = "washout"
days = 3
label = "Rest"
[[items]]
id = "pain"
kind = "vas"
prompt = "Pain {{day}}?"
primary = true
[[items]]
id = "fatigue"
kind = "vas"
prompt = "Fatigue {{day}}?"
[allocation]
method = "randomized_pairs"
lead_in = ["runin"]
pair = ["drug", "placebo"]
cycles = {cycles}
{'between = "rest"' if between else ''}
"""


def counterbalanced_text(responder: str = "", endpoint_days: int = 3) -> str:
    """The 2013 shape: 2 weeks baseline, 12 weeks LDN and 4 weeks placebo in counterbalanced order."""
    text = builtin_text().replace("days = 56", "days = 84").replace(
        'id = "placebo"\nrole = "placebo"\ndays = 14', 'id = "placebo"\nrole = "placebo"\ndays = 28')
    text = text.replace("responder_points = 30", f"responder_points = 30\nendpoint_days = {endpoint_days}\n{responder}")
    return text + ('\n[allocation]\nmethod = "counterbalanced"\n'
                   'sequences = [["baseline", "ldn", "washout", "placebo"], ["baseline", "placebo", "washout", "ldn"]]\n')


def entries_for(protocol, values: dict[int, dict], pid: str = "P") -> list[Entry]:
    """Entries on the given study days with the given answers."""
    return [Entry(id=new_id(), participant_id=pid, study_id=protocol.id, protocol_version=protocol.version,
                  diary_date=START + timedelta(days=day - 1), study_day=day, answers=answers,
                  submitted_at=datetime.combine(START + timedelta(days=day - 1), datetime.min.time(), UTC),
                  timing="on_time", source="app", device_id="d", seq=day) for day, answers in sorted(values.items())]


def fixed_values(total: int, missing: set[int]) -> dict[int, dict]:
    """Deterministic, uneven values (no ties by construction), some days missing."""
    return {d: {"pain": (d * 37) % 101, "fatigue": (d * 53) % 97} for d in range(1, total + 1) if d not in missing}


# -- the independent reference: plain Python, nothing from analysis/ or design.py ------------------------

def reference_test(lead: int, lengths: dict[str, int], roles: dict[str, str], between: int | None,
                   pair: tuple[str, str], cycles: int, observed: list[str], values: dict[int, float]):
    """Enumerate every flip of every cycle, lay the periods out from day 1, relabel the filed days."""
    def layout(order):
        day, out = 1, {}
        for d in range(lead):
            out[day + d] = "baseline"
        day += lead
        for n, ph in enumerate(order):
            if n and between is not None:
                for d in range(between):
                    out[day + d] = "washout"
                day += between
            for d in range(lengths[ph]):
                out[day + d] = roles[ph]
            day += lengths[ph]
        return out

    def stat(labels):
        act = [v for d, v in values.items() if labels.get(d) == "active"]
        pla = [v for d, v in values.items() if labels.get(d) == "placebo"]
        return sum(act) / len(act) - sum(pla) / len(pla)

    t_obs = stat(layout(observed))
    stats = []
    for flips in product([0, 1], repeat=cycles):
        order = []
        for f in flips:
            order += [pair[0], pair[1]] if f == 0 else [pair[1], pair[0]]
        stats.append(stat(layout(order)))
    p = sum(1 for s in stats if abs(s) >= abs(t_obs) - 1e-9) / len(stats)
    return t_obs, p, len(stats)


@pytest.mark.parametrize("ldn_days, placebo_days, between", [(14, 14, False), (10, 7, True)])
def test_abab_randomization_test_equals_an_independent_enumeration(ldn_days, placebo_days, between):
    protocol = parse_protocol(abab_text(ldn_days, placebo_days, between))
    sequence = design.allocate(protocol, b"seed", 3)
    mine = design.expand(protocol, sequence)
    values = fixed_values(mine.days_total, missing={9, 20, 21, 40})
    observed = [ph for ph in sequence if ph in ("drug", "placebo")]
    t_ref, p_ref, n_ref = reference_test(7, {"drug": ldn_days, "placebo": placebo_days},
                                         {"drug": "active", "placebo": "placebo"}, 3 if between else None,
                                         ("drug", "placebo"), 3, observed, {d: v["pain"] for d, v in values.items()})
    report = analyse(mine, START, entries_for(mine, values), AFTER, "P", blinded=False).as_json()
    rt = report["items"]["pain"]["randomization_test"]
    assert rt["statistic"] == pytest.approx(t_ref, abs=1e-12)
    assert rt["p"] == pytest.approx(p_ref, abs=1e-12)
    assert rt["assignments"] == n_ref == 8 and rt["exact"] is True
    # with equal periods her assignment's mirror image (every pair swapped) relabels the same days: it always ties
    assert rt["min_p"] == pytest.approx((2 if ldn_days == placebo_days else 1) / 8)
    assert "8 assignments" in rt["method"]


def test_a_big_design_is_sampled_with_a_fixed_seed_and_says_how_many():
    protocol = parse_protocol(abab_text(2, 2, cycles=17, lead=1))  # 2^17 = 131,072 > 100,000
    mine = design.expand(protocol, design.allocate(protocol, b"seed", 0))
    values = fixed_values(mine.days_total, missing=set())
    days = sorted(values)
    first = randomization_test(mine, days, [values[d]["pain"] for d in days])
    again = randomization_test(mine, days, [values[d]["pain"] for d in days])
    assert first is not None and first == again
    assert first.exact is False and first.assignments == 2**17 and "10,000" in first.method
    assert 1 / 10_001 <= first.p <= 1 and first.min_p == pytest.approx(2 / 2**17)


def test_a_counterbalanced_crossover_of_unequal_periods_has_two_assignments_and_min_p_one_half():
    protocol = parse_protocol(counterbalanced_text())
    for sequence in design.admissible(protocol):
        mine = design.expand(protocol, sequence)
        values = fixed_values(mine.days_total, missing={3, 50})
        days = sorted(values)
        rt = randomization_test(mine, days, [values[d]["pain"] for d in days])
        assert rt is not None and rt.assignments == 2 and rt.exact and rt.min_p == 0.5 and rt.p in (0.5, 1.0)


def test_an_ab_ba_crossover_of_equal_periods_can_never_give_less_than_p_1():
    text = abab_text(14, 14, cycles=1)
    mine = design.expand(parse_protocol(text), ("runin", "placebo", "drug"))
    values = fixed_values(mine.days_total, missing=set())
    days = sorted(values)
    rt = randomization_test(mine, days, [values[d]["pain"] for d in days])
    assert rt is not None and rt.assignments == 2 and rt.min_p == 1.0 and rt.p == 1.0


def test_mid_study_the_test_waits_until_every_assignment_has_drug_and_placebo_days():
    protocol = parse_protocol(counterbalanced_text())
    mine = design.expand(protocol, ("baseline", "ldn", "washout", "placebo"))
    values = fixed_values(30, missing=set())  # day 30: she is in LDN; the other order would be all placebo
    days = sorted(values)
    assert randomization_test(mine, days, [values[d]["pain"] for d in days]) is None


def test_periods_and_roles_pooled_in_a_randomized_report():
    protocol = parse_protocol(abab_text())
    sequence = ("runin", "drug", "placebo", "placebo", "drug", "drug", "placebo")
    mine = design.expand(protocol, sequence)
    values = fixed_values(mine.days_total, missing={30, 31})
    doc = analyse(mine, START, entries_for(mine, values), AFTER, "P", blinded=False).as_json()
    assert [p["id"] for p in doc["phases"]] == ["runin", "drug-1", "placebo-1", "placebo-2", "drug-2", "drug-3",
                                                "placebo-3"]
    assert [p["period"] for p in doc["phases"]] == list(range(1, 8))
    assert doc["phases"][1] | {} == doc["phases"][1] and {k for k in doc["phases"][1]} >= {
        "id", "period", "phase", "label", "role", "start", "end", "expected", "n", "compliance"}
    assert doc["phases"][3]["phase"] == "placebo" and doc["phases"][3]["role"] == "placebo"
    assert doc["sequence"] == list(sequence)
    pain = doc["items"]["pain"]
    by_role: dict[str, list[float]] = {}
    for p in doc["phases"]:
        by_role.setdefault(p["role"], []).extend(
            values[d]["pain"] for d in range(p["first_day"], p["last_day"] + 1) if d in values)
    base = sum(by_role["baseline"]) / len(by_role["baseline"])
    red = {r: (base - sum(v) / len(v)) / base * 100 for r, v in by_role.items()}
    assert pain["roles"]["active"]["n"] == len(by_role["active"]) == 42  # 3 × 14: no drug day missing
    assert pain["roles"]["placebo"]["n"] == len(by_role["placebo"]) == 40  # days 30 and 31 missing
    assert pain["roles"]["active"]["mean"] == pytest.approx(sum(by_role["active"]) / 42)
    assert pain["roles"]["placebo"]["reduction_pct"] == pytest.approx(red["placebo"])
    assert pain["vs_placebo_points"] == pytest.approx(red["active"] - red["placebo"])
    # the role's endpoint: the last 3 filed days of each of its periods, pooled
    ends = [v for p in doc["phases"] if p["role"] == "active"
            for v in [values[d]["pain"] for d in range(p["first_day"], p["last_day"] + 1) if d in values][-3:]]
    assert pain["roles"]["active"]["endpoint_mean"] == pytest.approx(sum(ends) / len(ends))
    # the model: one mean per period; a role's level, and every role contrast, the mean of its periods' means
    m = pain["model"]
    drug = [m["phases"][k]["mean"] for k in ("drug-1", "drug-2", "drug-3")]
    placebo = [m["phases"][k]["mean"] for k in ("placebo-1", "placebo-2", "placebo-3")]
    assert m["roles"]["active"]["mean"] == pytest.approx(sum(drug) / 3)
    assert pain["diff_active_vs_placebo"] == pytest.approx(sum(drug) / 3 - sum(placebo) / 3)
    assert pain["diff_active_vs_baseline"] == pytest.approx(sum(drug) / 3 - m["phases"]["runin"]["mean"])
    assert pain["randomization_test"]["statistic"] == pytest.approx(
        sum(by_role["active"]) / 42 - sum(by_role["placebo"]) / 40)
    assert "randomization_test" not in doc["items"]["fatigue"]  # the primary item's only


def test_the_2013_arithmetic_endpoints_and_a_multi_item_responder_rule():
    rule = ('responder = { all = [{ item = "pain", points = 30 }], '
            'any = [{ item = "fatigue", points = 30 }, { item = "sleep_quality", points = 30 }] }')
    protocol = parse_protocol(counterbalanced_text(rule, endpoint_days=5))
    mine = design.expand(protocol, ("baseline", "placebo", "washout", "ldn"))
    days = simulate(mine, START, np.random.default_rng(4), Profile(
        sd=0, phi=0, effects={"placebo": 0.05, "active": 0.5, "washout": 0.1}))
    rng = np.random.default_rng(5)
    for answers in days.values():  # uneven values in the last days, so the endpoint days matter
        answers["pain"] = int(answers["pain"] + rng.integers(-3, 4))
    doc = analyse(mine, START, as_entries(mine, START, days, "P"), AFTER, "P", blinded=False).as_json()
    pain = doc["items"]["pain"]
    ldn = [days[d]["pain"] for d in sorted(days) if (d - START).days + 1 > 14 + 28 + 14]
    base = [days[d]["pain"] for d in sorted(days) if (d - START).days + 1 <= 14]
    assert pain["phases"]["ldn"]["endpoint_mean"] == pytest.approx(sum(ldn[-5:]) / 5)
    assert pain["phases"]["ldn"]["endpoint_reduction_pct"] == pytest.approx(
        (sum(base) / 14 - sum(ldn[-5:]) / 5) / (sum(base) / 14) * 100)  # against the whole baseline mean
    verdict = doc["responder_rule"]
    assert [p["item"] for p in verdict["all"]] == ["pain"] and len(verdict["any"]) == 2
    assert verdict["all"][0]["vs_placebo_points"] == pytest.approx(pain["vs_placebo_points"])
    assert verdict["all"][0]["met"] is True and verdict["any"][0]["met"] is True  # 45 points each
    assert verdict["responder"] is True and doc["responder"] is True


def test_a_rule_part_that_fails_makes_a_non_responder():
    from analysis.summary import rule_verdict
    from diary_client.core.protocol import ItemPoints, ResponderRule

    rule = ResponderRule(all=[ItemPoints(item="pain", points=30)],
                         any=[ItemPoints(item="fatigue", points=30), ItemPoints(item="sleep", points=30)])
    assert rule_verdict(rule, {"pain": 30 - 1e-12, "fatigue": 31, "sleep": None}).responder is True  # rounding-robust
    assert rule_verdict(rule, {"pain": 29, "fatigue": 31, "sleep": None}).responder is False
    assert rule_verdict(rule, {"pain": 31, "fatigue": 10, "sleep": None}).responder is None  # not known yet
    assert rule_verdict(rule, {"pain": 31, "fatigue": 10, "sleep": 12}).responder is False


def test_a_blinded_randomized_report_has_no_periods_and_nothing_that_tells_the_order():
    protocol = parse_protocol(counterbalanced_text())
    docs = []
    for sequence in design.admissible(protocol):
        mine = design.expand(protocol, sequence)
        days = simulate(mine, START, np.random.default_rng(9), Profile(missing=0.05))
        report = analyse(mine, START, as_entries(mine, START, days, "P"), datetime(2026, 3, 20, tzinfo=UTC), "P",
                         blinded=True)
        doc = report.as_json()
        text = json.dumps(doc)
        assert [p["id"] for p in doc["phases"]] == ["Whole study"]
        for word in ('"ldn"', '"placebo"', '"washout"', "Naltrexone", "Placebo", '"active"', '"period"', '"sequence"',
                     "randomization_test", '"roles"'):
            assert word not in text, word
        docs.append(doc)
    # the two orders' reports have the same shape: keys, dates, expected days
    assert docs[0]["phases"][0]["end"] == docs[1]["phases"][0]["end"]
    assert docs[0]["items"].keys() == docs[1]["items"].keys()


def test_a_fixed_protocol_has_no_design_keys():
    protocol = parse_protocol(builtin_text())
    days = simulate(protocol, START, np.random.default_rng(2))
    doc = analyse(protocol, START, as_entries(protocol, START, days, "P"), AFTER, "P", blinded=False).as_json()
    assert "period" not in doc["phases"][0] and "sequence" not in doc and "responder_rule" not in doc
    assert "roles" not in doc["items"]["severity"] and "randomization_test" not in doc["items"]["severity"]
    assert "roles" not in doc["items"]["severity"]["model"]
    assert math.isfinite(doc["items"]["severity"]["vs_placebo_points"])


def counterbalanced_cohort(n: int = 8):
    from analysis.participant import ParticipantData

    protocol = parse_protocol(counterbalanced_text())
    people = []
    for i in range(n):
        sequence = design.allocate(protocol, b"cohort", i)
        mine = design.expand(protocol, sequence)
        days = simulate(mine, START, np.random.default_rng(100 + i), Profile(
            missing=0.05, effects={"placebo": 0.05, "active": 0.3 if i % 3 else 0.1, "washout": 0.1}))
        people.append(ParticipantData(f"C{i}", mine, START, as_entries(mine, START, days, f"C{i}"), sequence=sequence))
    return protocol, people


def test_a_counterbalanced_cohort_has_role_columns_balance_and_the_crossover_analysis():
    from analysis.cohort import cohort_report
    from analysis.crossover import crossover

    protocol, people = counterbalanced_cohort()
    doc = json.loads("".join(cohort_report(people, AFTER).json_text()))
    assert doc["design"] == "counterbalanced"
    assert doc["balance"] == {"baseline>ldn>washout>placebo": 4, "baseline>placebo>washout>ldn": 4}
    assert list(doc["cohort"]["severity"]["phases"]) == ["baseline", "placebo", "ldn", "washout"]
    reports = doc["participants"]
    assert [r["sequence"] for r in reports] == [list(p.sequence) for p in people]
    ldn_red = [r["items"]["severity"]["roles"]["active"]["reduction_pct"] for r in reports]
    assert doc["cohort"]["severity"]["phases"]["ldn"]["mean_reduction_pct"] == pytest.approx(sum(ldn_red) / 8)
    first = [next(p["role"] for p in r["phases"] if p["role"] in ("active", "placebo")) == "active" for r in reports]
    ref = crossover("severity", [r["items"]["severity"]["roles"]["active"]["mean"] for r in reports],
                    [r["items"]["severity"]["roles"]["placebo"]["mean"] for r in reports], first)
    got = doc["crossover"]
    assert ref is not None and got["item"] == "severity" and got["groups"] == {"active_first": 4, "placebo_first": 4}
    assert got["treatment"]["estimate"] == pytest.approx(ref.treatment.estimate)
    assert got["treatment"]["estimate"] < 0  # the drug lowers severity
    assert set(got) >= {"item", "treatment", "period", "carryover", "method"}
    assert {"estimate", "ci95", "p"} <= set(got["treatment"]) and {"estimate", "p"} <= set(got["carryover"])
    # the meta-analysis pools each one's model difference, a mean of her drug periods' means minus placebo's
    assert doc["cohort"]["severity"]["meta"]["k"] == 8


def test_a_randomized_pairs_cohort_has_balance_but_no_crossover():
    from analysis.cohort import cohort_report
    from analysis.participant import ParticipantData

    protocol = parse_protocol(abab_text())
    people = []
    for i in range(4):
        sequence = design.allocate(protocol, b"pairs", i)
        mine = design.expand(protocol, sequence)
        days = simulate(mine, START, np.random.default_rng(i))
        people.append(ParticipantData(f"N{i}", mine, START, as_entries(mine, START, days, f"N{i}"), sequence=sequence))
    doc = json.loads("".join(cohort_report(people, AFTER).json_text()))
    assert doc["design"] == "randomized_pairs" and "crossover" not in doc
    assert sum(doc["balance"].values()) == 4 and len(doc["balance"]) == 8
    assert list(doc["cohort"]["pain"]["phases"]) == ["runin", "placebo", "drug"]  # no rest: no `between`
