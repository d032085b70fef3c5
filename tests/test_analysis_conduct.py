"""Harms per period and role and the participant flow of `hub report --json`, against counts made here by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import msgspec
import numpy as np

from analysis.cohort import CohortStream, cohort_report
from analysis.participant import AdverseEvent, ParticipantData
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import load_protocol

PROTOCOL = load_protocol()  # baseline 14 d, placebo 14 d, ldn 56 d, washout 14 d
START = date(2026, 1, 5)
LATE = date(2026, 4, 20)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
# The periods' dates written out by hand (day 1 = start): baseline days 1-14, placebo 15-28,
# ldn 29-84, washout 85-98.
PERIODS = {"baseline": (1, 14), "placebo": (15, 28), "ldn": (29, 84), "washout": (85, 98)}
ROLE = {"baseline": "baseline", "placebo": "placebo", "ldn": "active", "washout": "washout"}


def day(start: date, n: int) -> date:
    return start + timedelta(days=n - 1)


def person(pid: str, start: date, events=(), withdrawn: date | None = None, seed=0) -> ParticipantData:
    days = simulate(PROTOCOL, start, np.random.default_rng(seed), Profile(sd=5, phi=0.3), items=["severity"])
    last = min(NOW.date() - timedelta(days=1), withdrawn - timedelta(days=1) if withdrawn else date.max)
    days = {d: a for d, a in days.items() if d <= last}
    aes = tuple(AdverseEvent(f"{pid}-ae{k}", d, sev, serious) for k, (d, sev, serious) in enumerate(events))
    return ParticipantData(pid, PROTOCOL, start, as_entries(PROTOCOL, start, days, pid), adverse_events=aes,
                           withdrawn=withdrawn)


def cohort() -> list[ParticipantData]:
    return [
        person("P0", START, [(day(START, 3), "mild", False), (day(START, 40), "severe", True)], seed=1),
        person("P1", START, [(day(START, 29), "moderate", False), (day(START, 84), "mild", False)], seed=2),
        person("PW", START, [(day(START, 20), "severe", False)], withdrawn=day(START, 37), seed=3),
        person("PL", LATE, [(day(LATE, -2), "mild", False), (day(LATE, 30), "moderate", True)], seed=4),
    ]


def by_hand(people: list[ParticipantData]):
    """The harms table counted directly: each event's period from the day numbers above."""
    roles: dict[str, dict] = {}
    periods: dict[str, dict] = {}
    for p in people:
        for ae in p.adverse_events:
            n = (ae.started - p.start).days + 1
            phase = next((ph for ph, (a, b) in PERIODS.items() if a <= n <= b), None)
            keys = [(roles, ROLE[phase]), (periods, phase)] if phase else [(roles, "outside")]
            for table, key in keys:
                row = table.setdefault(key, {"ids": set(), "events": 0, "serious": 0,
                                             "by_severity": {"mild": 0, "moderate": 0, "severe": 0}})
                row["ids"].add(p.participant_id)
                row["events"] += 1
                row["serious"] += ae.serious
                row["by_severity"][ae.severity] += 1
    def plain(row):
        return {"participants": len(row["ids"]), "events": row["events"], "serious": row["serious"],
                "by_severity": row["by_severity"]}
    return {k: plain(v) for k, v in roles.items()}, {k: plain(v) for k, v in periods.items()}


def test_harms_per_role_and_period_equal_a_count_by_hand():
    people = cohort()
    doc = cohort_report(people, NOW).as_json()
    roles, periods = by_hand(people)
    empty = {"participants": 0, "events": 0, "serious": 0, "by_severity": {"mild": 0, "moderate": 0, "severe": 0}}
    assert doc["harms"] == {role: roles.get(role, empty) for role in ("baseline", "placebo", "active", "washout")} | {
        "outside": roles["outside"]}
    assert doc["harms"]["active"] == {"participants": 3, "events": 4, "serious": 2,  # day 84 is ldn's last
                                      "by_severity": {"mild": 1, "moderate": 2, "severe": 1}}
    assert [(r["period"], r["role"]) for r in doc["harms_by_period"]] == list(
        zip(PERIODS, ["baseline", "placebo", "active", "washout"]))
    for row in doc["harms_by_period"]:
        assert {k: v for k, v in row.items() if k not in ("period", "phase", "role")} == periods.get(row["period"], empty)


def test_the_flow_equals_a_count_by_hand():
    people = cohort()
    doc = cohort_report(people, NOW).as_json()
    flow = doc["flow"]
    # PL began on 20 Apr: on 1 Jun she is on day 43, in ldn (days 29-84): baseline and placebo
    # are over; PW withdrew on day 37, in ldn: she never reached the washout.
    today = {p.participant_id: (NOW.date() - p.start).days + 1 for p in people}
    gone = {"PW": 37}
    started, completed, reported = {}, {}, {}
    for ph, (a, b) in PERIODS.items():
        started[ph] = sum(today[p] >= a and gone.get(p, 10**6) > a for p in today)
        completed[ph] = sum(today[p] > b and gone.get(p, 10**6) > b for p in today)  # day b's grace ends 11:59 on b + 1
        reported[ph] = sum(today[p] > a and gone.get(p, 10**6) > a for p in today)
    assert flow["enrolled"] == 4 and flow["withdrawn"] == 1
    assert flow["allocated"] == {"baseline>placebo>ldn>washout": 4}
    assert flow["periods"] == [{"period": ph, "phase": ph, "role": ROLE[ph], "started": started[ph],
                                "completed": completed[ph], "reported": reported[ph]} for ph in PERIODS]
    assert [p["completed"] for p in flow["periods"]] == [4, 4, 2, 2]
    both = sum(any((e.diary_date - p.start).days + 1 in range(15, 29) for e in p.entries)
               and any((e.diary_date - p.start).days + 1 in range(29, 85) for e in p.entries) for p in people)
    assert flow["analysed"] == both == doc["cohort"]["severity"]["n_active_vs_placebo"]
    assert flow["recruitment"] == {"first_start": "2026-01-05", "last_start": "2026-04-20",
                                   "last_end": str(day(LATE, 98))}


def test_a_study_without_events_or_the_blinding_check_reports_as_before():
    """Everything the cohort report said before is unchanged; only the new keys come after it."""
    people = [msgspec.structs.replace(p, adverse_events=(), withdrawn=None) for p in cohort()]
    doc = cohort_report(people, NOW).as_json()
    new = ["blinding", "harms", "harms_by_period", "flow"]
    assert list(doc)[-4:] == new
    assert doc["blinding"]["asked"] is False and doc["blinding"]["james"]["index"] is None
    assert all(r["events"] == 0 for r in doc["harms"].values()) and "outside" not in doc["harms"]
    # the streamed document is the same text as the whole one, and its old part does not change
    stream = CohortStream(iter(people), NOW)
    text = "".join(stream.json_text())
    assert json.loads(text) == json.loads(json.dumps(doc, default=str))
    for p in doc["participants"]:
        assert "blind_guess" not in json.dumps(p)
